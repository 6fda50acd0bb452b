"""Class: assignments and their results, every student's runs, the leaderboard, who trains now."""

import streamlit as st

from dashboard.ui.app.identity import is_teacher
from dashboard.ui.app.pages import PAGE
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.assignments.results_view import assignments_section
from dashboard.ui.classroom.class_view import results_csv, with_students
from dashboard.ui.classroom.figures import class_sweep_figure
from dashboard.ui.classroom.live_view import live_parts
from dashboard.ui.runs.runs_view import (
    TABLE_COLUMNS,
    runs_page,
    runs_table,
    show_scored_on,
    table_text,
)
from mnist_lab.runs import RunStore
from mnist_lab.status import DAMAGED

st.title(PAGE["classroom"].title)
if not is_teacher():
    st.info("This page is the teacher's: unlock it with the teacher key in the sidebar.")
    st.stop()
store = RunStore()
# Before the runs: a teacher sets assignments before the class has launched anything.
assignments_section(store)
table = with_students(runs_table(store))
if table.empty:
    st.info("No runs yet: they appear here as the students launch them on the Train page.")
    st.stop()

live_parts(store, table)

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
show_scored_on(table)
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
