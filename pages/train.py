"""Train: pick an engine and its settings, launch a run, and watch it learn live."""

import streamlit as st

from dashboard.ui.app.identity import NAME_FIRST, current_owner, may_manage, name_missing
from dashboard.ui.app.launch_again import ask_to_launch_again, launch_again_answer
from dashboard.ui.app.pages import PAGE
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.assignments.launch_view import assignment_notes, follow_pending
from dashboard.ui.assignments.student_view import assignment_cards, shown_assignments
from dashboard.ui.data.datasets_view import dataset_store
from dashboard.ui.train.settings_form import (
    settings_form,
    widget_key,
    with_launch_seed,
)
from dashboard.ui.train.shared_figures import shared_schedule_figure
from dashboard.ui.train.train_forms import (
    copy_settings_button,
    keep_train_form,
    remember_train_form,
    settings_chosen_outside_the_form,
)
from dashboard.ui.train.training_view import format_seconds, live_run_panel
from mnist_lab.data import EMBEDDED_NAME
from mnist_lab.engines import DEFAULT_ENGINE, ENGINES, all_engines, get_engine
from mnist_lab.launch import RepeatedLaunchError, launch
from mnist_lab.run_summary import summaries
from mnist_lab.runs import RunStore
from mnist_lab.status import LIVE_STATES
from mnist_lab.timing import cost_refusal, expected_training

# Set by the "Launch it again" button: the next rerun launches despite a repeated launch.
LAUNCH_AGAIN = "train_launch_again"


st.title(PAGE["train"].title)
st.caption(
    "Training runs in its own process: switch pages, refresh or close the tab, the run goes on "
    "and this page finds it again."
)
store = RunStore()
# Summaries, not whole runs: a class makes hundreds of runs.
runs = summaries(store)
st.session_state.setdefault("train_run_id", None)
watched_id = st.session_state["train_run_id"]
if watched_id not in {run["id"] for run in runs}:
    # Reopening the page: this person's live run if there is one, else their newest run.
    mine = [run for run in runs if current_owner() is None or run["owner"] == current_owner()]
    live = [run for run in mine if run["state"] in LIVE_STATES]
    watched_id = (live or mine or runs)[0]["id"] if runs else None
watched = store.get(watched_id) if watched_id else None
# A launch while one's own run is live queues the next run behind it (the fair queue orders them).
busy = watched is not None and watched.status()["state"] in LIVE_STATES and may_manage(watched)

# The watched run comes first, so the live chart is what the page shows after Launch.
if watched is not None:
    if len(runs) > 1:
        # Names only: a state in the label would go stale while the live panel refreshes.
        labels = {run["id"]: run["name"] for run in runs}
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
    copy_settings_button(watched, "train_copy_settings")

# After a launch, set before the widgets are drawn: the name typed was that run's, not the
# next one's, and the form shows the seed the run was given.
st.session_state.update(st.session_state.pop("train_after_launch", {}))
form_keys = keep_train_form(
    all_engines(), {"train_engine": DEFAULT_ENGINE, "train_dataset": EMBEDDED_NAME}, store.root
)
follow_pending(store)
if assigned := shown_assignments(store):
    with st.expander(f"Assignments ({len(assigned)})", icon=":material/assignment:"):
        assignment_cards(assigned, "train_assignment_start")
with st.expander("Settings for a new run", expanded=True, icon=":material/tune:"):
    engine_name = st.segmented_control(
        "Engine",
        list(ENGINES),
        format_func=lambda name: get_engine(name).title,
        key="train_engine",
    )
    engine = get_engine(engine_name or DEFAULT_ENGINE)
    st.caption(engine.description)
    fixed = settings_chosen_outside_the_form(engine)
    settings, name = settings_form(engine, fixed, assignment_notes(store, engine, fixed))
    # Kept for this browser, so a refresh finds the form as it was left.
    remember_train_form(all_engines(), form_keys, store.root)
    if name and name in {run["name"] for run in runs if run["owner"] == current_owner()}:
        # Allowed (a name is no key), but two runs of one name are hard to tell apart.
        st.warning(plain_markdown(f"You already have a run named {name}: this one would share it."))
    estimate = expected_training(store, settings) if settings is not None else None
    if estimate is not None:
        source = plain_markdown(estimate.source)
        st.caption(
            f"Expected training time on this machine: about {format_seconds(estimate.seconds)} "
            f"({estimate.samples_per_s:,.0f} samples/s, measured by {source})."
        )
    # Refused before launch, as the launch itself would refuse it.
    too_long = cost_refusal(store, settings) if settings is not None else None
    if too_long is not None:
        st.error(plain_markdown(f"Cannot launch: {too_long}."))
    if settings is not None:
        n_train = dataset_store().n_train(settings.dataset)
        schedule = shared_schedule_figure(engine, settings, n_train)
        if schedule is not None:
            st.plotly_chart(schedule, key="train_schedule_chart")
    nameless = name_missing()
    if busy:
        st.caption(
            "The run above goes on: a new launch waits in the queue behind it, this page then "
            "watches the new one and the picker above switches between them."
        )
    if nameless:
        st.caption(NAME_FIRST)
    launched = st.button(
        "Launch training",
        type="primary",
        disabled=nameless or settings is None or too_long is not None,
        icon=":material/rocket_launch:",
        key=f"train_{engine.name}_launch",
    )

# "Launch it again" after the question a repeated launch raised.
again = bool(launch_again_answer(LAUNCH_AGAIN))
if (launched or again) and settings is not None and not nameless:
    seconds = None if estimate is None else round(estimate.seconds, 1)
    settings = with_launch_seed(engine, settings)
    try:
        # This machine, or the Ray cluster that $MNIST_LAB_CLUSTER names.
        result = launch(
            store,
            settings.to_dict(),
            name=name or None,
            owner=current_owner(),
            force=again,
            prepare=None
            if seconds is None
            else lambda run: run.update_status(expected_training_s=seconds),
        )
    except RepeatedLaunchError as question:
        ask_to_launch_again(question, LAUNCH_AGAIN)
        st.stop()
    except ValueError as error:
        st.error(plain_markdown(f"Cannot launch: {error}"))
        st.stop()
    if result.reused:
        st.toast("Same settings as a finished run: showing its stored result.")
    elif busy:
        st.toast("Queued behind your live run: both are under Watching run.")
    st.session_state["train_run_id"] = result.run.id
    after = {widget_key(engine, "name"): ""}
    if "seed" in engine.settings_class.declared():
        after[widget_key(engine, "seed")] = settings.seed
    st.session_state["train_after_launch"] = after
    st.rerun()

if watched is None:
    st.info("No runs yet: choose settings above and launch one.")
