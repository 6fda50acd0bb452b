"""The Class page's live parts: the counts, who is training now, the queue and the leaderboard.

They redraw themselves every `REFRESH_SECONDS` while a run is live or waiting, so a run's
end, a start or a cancelled run shows without a click; a button among them redraws them at once.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.ui.classroom.class_view import leaderboard, queue_table, training_now, with_students
from dashboard.ui.classroom.queue_view import render_queue_controls
from dashboard.ui.runs.runs_view import TABLE_COLUMNS, runs_table, table_text
from mnist_lab.execution.dispatcher import current_queue
from mnist_lab.execution.fair_queue import QueuePlace, runs_per_student
from mnist_lab.runs import RunStore
from mnist_lab.status import LIVE_STATES

# A glance at the class: slower than a student's own run on the Train page.
REFRESH_SECONDS = 5.0


def waiting(store: RunStore) -> list[QueuePlace]:
    """The queue without the runs the teacher cancelled (the dispatcher drops them next pass)."""
    return [place for place in current_queue(store) if not place.run.stop_requested()]


def live_parts(store: RunStore, table: pd.DataFrame) -> None:
    """Draw the live parts, redrawn every `REFRESH_SECONDS` while a run is live or waiting.

    Parameters
    ----------
    store : RunStore
    table : pandas.DataFrame
        `class_view.with_students` of the runs table as the page read it.
    """
    busy = bool(table["state"].isin(LIVE_STATES).any())

    @st.fragment(run_every=REFRESH_SECONDS if busy else None)
    def parts() -> None:
        now = with_students(runs_table(store))
        live, places = training_now(store, now), waiting(store)
        students, runs, training = st.columns(3)
        students.metric("Students", now["student"].nunique())
        runs.metric("Runs", len(now))
        training.metric("Training now", len(live))
        training_section(live)
        queue_section(store, places)
        leaderboard_section(now)
        if busy and not now["state"].isin(LIVE_STATES).any():
            # The last run ended: redraw the whole page once, so the timer goes away.
            st.rerun()

    parts()


def training_section(live: pd.DataFrame) -> None:
    """Who is training now, with each run's progress."""
    st.subheader("Training now")
    if live.empty:
        st.caption("Nobody is training right now.")
        return
    st.dataframe(
        live,
        hide_index=True,
        key="classroom_live",
        column_config={
            "student": "Student",
            "name": "Run",
            "state": "Status",
            "progress": st.column_config.ProgressColumn("Progress", format="percent"),
            "position": "Where",
        },
    )


def queue_section(store: RunStore, places: list[QueuePlace]) -> None:
    """The waiting runs in the order they start, and the teacher's controls on them."""
    if not places:
        return
    st.subheader("Queue")
    limit = runs_per_student()
    st.caption(
        "Waiting runs start in this order as training slots free up. "
        + (
            f"Each student trains at most {'one run' if limit == 1 else f'{limit} runs'} at a "
            "time; "
            "their other runs wait while other students' runs go first."
            if limit
            else "Students may train any number of runs at once."
        )
    )
    st.dataframe(
        queue_table(places),
        hide_index=True,
        key="classroom_queue",
        column_config={"place": "#", "student": "Student", "name": "Run", "starts": "Starts"},
    )
    render_queue_controls(store, places)


def leaderboard_section(table: pd.DataFrame) -> None:
    """Each student's best evaluated run."""
    st.subheader("Leaderboard")
    st.caption("Each student's best run by test accuracy.")
    board = leaderboard(table)
    if board.empty:
        st.caption("No run has been evaluated on the test set yet.")
        return
    st.dataframe(
        table_text(board).rename(
            columns={"rank": "#", "student": "Student", "name": "Best run", "runs": "Runs"}
            | {key: TABLE_COLUMNS[key] for key in ("test_accuracy", "label")}
        ),
        hide_index=True,
        key="classroom_leaderboard",
    )
