"""Train: pick an engine and its settings, launch a run, and watch it learn live."""

import streamlit as st

from dashboard.ui.train_forms import architecture_picker, baseline_form, keras_form, scratch_form
from dashboard.ui.training_view import live_run_panel
from mnist_lab.runs import LIVE_STATES, RunStore

ENGINES = {
    "keras": "Keras network",
    "numpy": "NumPy from scratch",
    "sklearn": "Logistic regression baseline",
}

st.title("Train")
st.caption(
    "Training runs in its own process: switch pages, refresh or close the tab, the run goes on "
    "and this page finds it again."
)
store = RunStore()
runs = store.list()
st.session_state.setdefault("train_run_id", None)
watched_id = st.session_state["train_run_id"]
if watched_id not in {run.id for run in runs}:
    # Reopening the page: show a live run if there is one, else the newest run.
    live = [run for run in runs if run.status()["state"] in LIVE_STATES]
    watched_id = (live or runs)[0].id if runs else None
watched = store.get(watched_id) if watched_id else None
busy = watched is not None and watched.status()["state"] in LIVE_STATES

engine = st.segmented_control(
    "Engine", list(ENGINES), format_func=ENGINES.get, default="keras", key="train_engine"
)
if busy:
    st.caption("Launching is disabled while this page's run is live: stop it or wait for it.")
if engine == "numpy":
    config = scratch_form(disabled=busy)
elif engine == "sklearn":
    config = baseline_form(disabled=busy)
else:
    config = keras_form(*architecture_picker(), disabled=busy)

if config is not None:
    stored = store.find_finished(config) if engine == "sklearn" else None
    if stored is not None:
        st.session_state["train_run_id"] = stored.id
        st.toast("Same settings as a finished run: showing its stored result.")
    else:
        name = config.pop("name", None)
        run = store.create(config, name=name)
        store.launch(run)
        st.session_state["train_run_id"] = run.id
    st.rerun()

st.divider()
if watched is None:
    st.info("No runs yet: choose settings above and launch one.")
    st.stop()
if len(runs) > 1:
    # Names only: a state in the label would go stale while the live panel below refreshes.
    labels = {run.id: run.name for run in runs}
    # The picker follows the run this page watches, including one just launched.
    st.session_state["train_watch"] = watched.id
    st.selectbox(
        "Watching run",
        list(labels),
        format_func=labels.get,
        key="train_watch",
        on_change=lambda: st.session_state.update(train_run_id=st.session_state["train_watch"]),
    )
live_run_panel(watched)
