"""Train: pick an engine and its settings, launch a run, and watch it learn live."""

import streamlit as st

from dashboard.ui.settings_form import settings_form
from dashboard.ui.train_forms import settings_chosen_outside_the_form
from dashboard.ui.training_view import live_run_panel
from mnist_lab.engines import DEFAULT_ENGINE, ENGINES, get_engine
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.runs import LIVE_STATES, RunStore

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

engine_name = st.segmented_control(
    "Engine",
    list(ENGINES),
    format_func=lambda name: get_engine(name).title,
    default=DEFAULT_ENGINE,
    key="train_engine",
)
engine = get_engine(engine_name or DEFAULT_ENGINE)
st.caption(engine.description)
if busy:
    st.caption("Launching is disabled while this page's run is live: stop it or wait for it.")
launch = settings_form(engine, settings_chosen_outside_the_form(engine), disabled=busy)

if launch is not None:
    settings, name = launch
    config = settings.to_dict()
    stored = store.find_finished(config) if engine.reuses_finished_runs else None
    if stored is not None:
        st.session_state["train_run_id"] = stored.id
        st.toast("Same settings as a finished run: showing its stored result.")
    else:
        run = store.create(config, name=name)
        LocalExecutor(store).launch(run)
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
