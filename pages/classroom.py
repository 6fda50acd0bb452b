"""Class: every student's runs, the leaderboard, who is training now, the class as one sweep."""

import streamlit as st

from dashboard.ui.app.identity import is_teacher
from dashboard.ui.app.pages import PAGE
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.classroom.class_view import (
    leaderboard,
    queue_table,
    results_csv,
    training_now,
    with_students,
)
from dashboard.ui.classroom.figures import class_sweep_figure
from dashboard.ui.classroom.queue_view import render_queue_controls
from dashboard.ui.runs.runs_view import TABLE_COLUMNS, runs_page, runs_table, table_text
from mnist_lab.execution.dispatcher import current_queue
from mnist_lab.execution.fair_queue import runs_per_student
from mnist_lab.runs import RunStore
from mnist_lab.status import DAMAGED

st.title(PAGE["classroom"].title)
if not is_teacher():
    st.info("This page is the teacher's: unlock it with the teacher key in the sidebar.")
    st.stop()
store = RunStore()
table = with_students(runs_table(store))
if table.empty:
    st.info("No runs yet: they appear here as the students launch them on the Train page.")
    st.stop()

live = training_now(store, table)
students, runs, training = st.columns(3)
students.metric("Students", table["student"].nunique())
runs.metric("Runs", len(table))
training.metric("Training now", len(live))

st.subheader("Training now")
if live.empty:
    st.caption("Nobody is training right now.")
else:
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

places = current_queue(store)
if places:
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

st.subheader("Leaderboard")
st.caption("Each student's best run by test accuracy.")
board = leaderboard(table)
if board.empty:
    st.caption("No run has been evaluated on the test set yet.")
else:
    st.dataframe(
        table_text(board).rename(
            columns={"rank": "#", "student": "Student", "name": "Best run", "runs": "Runs"}
            | {key: TABLE_COLUMNS[key] for key in ("test_accuracy", "label")}
        ),
        hide_index=True,
        key="classroom_leaderboard",
    )

st.subheader("The class as one sweep")
st.caption(
    "Every evaluated run: its learning rate against its test accuracy. Too small and the "
    "network learns slowly; too large and it overshoots."
)
st.plotly_chart(class_sweep_figure(table), key="classroom_sweep")

st.subheader("Every run")
page = runs_page(table, key="classroom_runs")
shown = {"student": "Student"} | TABLE_COLUMNS
st.dataframe(
    table_text(page[list(shown)]).rename(columns=shown),
    hide_index=True,
    key="classroom_runs",
)
for row in page[page["state"] == DAMAGED].to_dict("records"):
    st.warning(f"`{row['id']}`: {plain_markdown(row['message'])}")
st.download_button(
    "Download results (CSV)",
    results_csv(table),
    file_name="class-results.csv",
    mime="text/csv",
    icon=":material/download:",
    key="classroom_csv",
)
