"""The queue of waiting runs, read once for every session."""

from __future__ import annotations

import streamlit as st

from mnist_lab.execution.dispatcher import current_queue
from mnist_lab.execution.fair_queue import QueuePlace
from mnist_lab.runs import RunStore


# Every queued student's live panel asks each second: read the queue once for all of them.
@st.cache_resource(ttl=2, show_spinner=False)
def cached_queue(runs_root: str) -> list[QueuePlace]:
    """`dispatcher.current_queue` of the runs in ``runs_root``, at most two seconds old."""
    return current_queue(RunStore(runs_root))
