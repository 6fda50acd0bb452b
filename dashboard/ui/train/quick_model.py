"""One click to a good model: the fast CNN with its recipe, for pages that need one."""

from __future__ import annotations

import streamlit as st

from dashboard.ui.app.identity import NAME_FIRST, current_owner, name_missing
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.train.training_view import live_run_panel
from mnist_lab.engines import one_click_settings
from mnist_lab.launch import launch
from mnist_lab.runs import RunStore
from mnist_lab.timing import expected_training

# On top of the training itself: TensorFlow's start, loading the data, the test evaluation.
START_UP_S = 8.0
# Before any measurement exists, the fast CNN's training time on the project's machine.
UNMEASURED_TRAINING_S = 10.0


def quick_model_offer(store: RunStore, key: str) -> None:
    """A button that trains the fast CNN in one click, then the run's live panel.

    Parameters
    ----------
    store : RunStore
    key : str
        Session-state key (prefixed by page) that remembers the run this button launched.
    """
    run_id = st.session_state.get(key)
    if run_id is not None and run_id in {run.id for run in store.list()}:
        live_run_panel(store.get(run_id))
        return
    settings = one_click_settings()
    if settings is None:
        return
    estimate = expected_training(store, settings)
    seconds = (estimate.seconds if estimate else UNMEASURED_TRAINING_S) + START_UP_S
    if name_missing():
        st.caption(NAME_FIRST)
    if st.button(
        f"Train a 99% model (about {seconds:.0f} s)",
        type="primary",
        icon=":material/bolt:",
        key=f"{key}_button",
        help="The fast CNN with its recipe, on all 60,000 training digits.",
        disabled=name_missing(),
    ):
        try:
            # This machine, or the Ray cluster that $MNIST_LAB_CLUSTER names.
            run = launch(
                store, settings.to_dict(), name="Fast CNN (one click)", owner=current_owner()
            ).run
        except ValueError as error:
            st.error(plain_markdown(f"Cannot launch: {error}"))
            return
        st.session_state[key] = run.id
        st.rerun()
