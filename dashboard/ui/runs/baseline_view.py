"""One click to the baseline: the yardstick Evaluate and Compare measure networks against."""

from __future__ import annotations

import streamlit as st

from dashboard.ui.app.identity import NAME_FIRST, current_owner, name_missing
from dashboard.ui.app.text import plain_markdown
from mnist_lab.data import EMBEDDED_NAME as MNIST
from mnist_lab.engines import all_engines
from mnist_lab.launch import launch
from mnist_lab.runs import RunStore
from mnist_lab.status import LIVE_STATES

# The baseline trains in seconds: its state is looked at this often until it ends.
REFRESH_SECONDS = 2.0


def baseline_offer(store: RunStore, key: str, dataset: str = MNIST) -> None:
    """A button that fits the baseline on ``dataset``, then its state until it ends.

    The baseline's engine with its defaults on every training digit, as ``python -m
    mnist_lab baseline --normalization scale``; a finished fit with these settings is
    reused. Once it ends, the whole page reruns, so that it finds it.

    Parameters
    ----------
    store : RunStore
    key : str
        Session-state key (prefixed by page) that remembers the run this button launched.
    dataset : str, default MNIST
        The dataset the baseline must have learnt (the run it is compared with learnt it).
    """
    run_id = st.session_state.get(key)
    if run_id is not None and run_id in {run.id for run in store.list()}:
        _follow(store, run_id, key)
        return
    engine = next(engine for engine in all_engines() if engine.is_baseline)
    if name_missing():
        st.caption(NAME_FIRST)
    if st.button(
        f"Train the baseline ({engine.title})",
        icon=":material/straighten:",
        key=f"{key}_button",
        help="Fits in seconds on every training digit; networks are measured against it.",
        disabled=name_missing(),
    ):
        config = {"engine": engine.name, "dataset": dataset, "normalization": "scale"}
        try:
            run = launch(store, config, name="Baseline", owner=current_owner()).run
        except ValueError as error:
            st.error(f"Cannot launch the baseline: {plain_markdown(error)}")
            return
        st.session_state[key] = run.id
        st.rerun()


def _follow(store: RunStore, run_id: str, key: str) -> None:
    """The launched baseline's state, redrawn until it ends; then the page reruns."""

    @st.fragment(run_every=REFRESH_SECONDS)
    def state() -> None:
        status = store.get(run_id).status()
        if status["state"] in LIVE_STATES:
            st.caption(plain_markdown(f"Baseline: {status['state']}. {status.get('message', '')}"))
            return
        # Ended: the button comes back wherever the page still wants a baseline.
        st.session_state.pop(key, None)
        if status["state"] == "finished":
            st.rerun()
        st.warning(plain_markdown(f"The baseline {status['state']}: {status.get('message', '')}"))

    state()
