"""The teacher's queue controls on the Class page: start a waiting run next, move up, cancel."""

from __future__ import annotations

import streamlit as st

from dashboard.ui.app.text import plain_markdown
from dashboard.ui.classroom.class_view import NO_NAME
from mnist_lab.execution.fair_queue import QueuePlace, move_in_queue
from mnist_lab.runs import RunStore

MESSAGE_KEY = "classroom_queue_message"


def _move(store: RunStore, places: list[QueuePlace], run_id: str, to: int) -> None:
    try:
        move_in_queue(store, [place.run for place in places], run_id, to)
    except KeyError:
        st.session_state[MESSAGE_KEY] = "That run is no longer waiting: it started or was stopped."


def _cancel(places: list[QueuePlace], run_id: str) -> None:
    (run,) = [place.run for place in places if place.run.id == run_id]
    # The dispatcher marks it stopped on its next pass: it never trains.
    run.request_stop()
    st.session_state[MESSAGE_KEY] = (
        f"Cancelled “{plain_markdown(run.name)}”: it leaves the queue without training."
    )


def render_queue_controls(store: RunStore, places: list[QueuePlace]) -> None:
    """A picker of the waiting runs and the teacher's three actions on the chosen one.

    Parameters
    ----------
    store : RunStore
    places : list of QueuePlace
        `dispatcher.current_queue`, next first.
    """
    by_id = {place.run.id: place for place in places}
    # No place in the label: the picker keeps showing a label as it was when picked.
    labels = {
        run_id: f"{place.run.owner or NO_NAME}: {place.run.name}" for run_id, place in by_id.items()
    }
    chosen = st.selectbox(
        "Waiting run",
        list(by_id),
        format_func=labels.get,
        key="classroom_queue_run",
    )
    if chosen is None or chosen not in by_id:
        return
    position = by_id[chosen].position
    actions = (
        # label, key, icon, callback, its arguments, whether the first run may take it
        ("Start next", "first", "vertical_align_top", _move, (store, places, chosen, 0), False),
        ("Move up", "up", "arrow_upward", _move, (store, places, chosen, position - 2), False),
        ("Cancel run", "cancel", "cancel", _cancel, (places, chosen), True),
    )
    for column, (label, key, icon, callback, args, for_first) in zip(
        st.columns(len(actions)), actions, strict=True
    ):
        column.button(
            label,
            key=f"classroom_queue_{key}",
            icon=f":material/{icon}:",
            disabled=position == 1 and not for_first,
            on_click=callback,
            args=args,
            width="stretch",
        )
    if message := st.session_state.pop(MESSAGE_KEY, None):
        st.info(message)
