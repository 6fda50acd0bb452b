"""The Class page's assignments: the editor, each assignment's state and controls, its results.

Results come from `mnist_lab.assignments.grading.gradebook` asked as the teacher: every
student's best run, late runs marked, the visible and hidden parts' scores side by side.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.ui.app.text import plain_markdown
from dashboard.ui.assignments.about_view import describe
from dashboard.ui.assignments.editor_view import (
    EDITING_KEY,
    assignment_editor,
    show_saved,
    start_editing,
)
from dashboard.ui.assignments.figures import scores_figure
from dashboard.ui.assignments.times import when_text
from dashboard.ui.assignments.words import MISSING, percent, why_not
from mnist_lab.assignments.grading import (
    Gradebook,
    close,
    gradebook,
    gradebook_csv,
    hidden_revealed,
)
from mnist_lab.assignments.results import RunResult
from mnist_lab.assignments.store import Assignment, AssignmentStore
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import RunStore

RESULT_COLUMNS = (
    "Student",
    "Run",
    "Passes",
    "Why not",
    "Visible part",
    "Hidden part",
    "Difference",
    "Parameters",
    "Epochs",
    "Training (s)",
    "Finished",
    "Submitted",
)


def result_rows(rows: list[RunResult]) -> pd.DataFrame:
    """The gradebook as the table a reader sees (`RESULT_COLUMNS`), every cell plain text."""
    return pd.DataFrame(
        [
            (
                row.student,
                row.run_name,
                "yes" if row.passed else "no",
                why_not(row),
                percent(row.visible and row.visible.accuracy),
                percent(row.hidden and row.hidden.accuracy),
                percent(row.difference, signed=True),
                MISSING if row.parameters is None else f"{row.parameters:,}",
                MISSING if row.epochs is None else str(row.epochs),
                MISSING if row.training_seconds is None else f"{row.training_seconds:.1f}",
                when_text(row.finished, none=MISSING),
                "after the deadline" if row.late else "on time",
            )
            for row in rows
        ],
        columns=list(RESULT_COLUMNS),
    )


def _close(assignments: AssignmentStore, assignment_id: str) -> None:
    close(assignments, assignment_id)


def _reopen(assignments: AssignmentStore, assignment_id: str) -> None:
    try:
        assignments.set_closed(assignment_id, False)
    except ValueError as error:
        st.session_state["classroom_asg_control_error"] = str(error)


def controls(assignments: AssignmentStore, assignment: Assignment) -> None:
    """Edit, and close now or open again."""
    edit, toggle = st.columns(2)
    edit.button(
        "Edit",
        key="classroom_asg_edit",
        icon=":material/edit:",
        on_click=start_editing,
        args=(assignment,),
    )
    if assignment.closed:
        label, key, icon, action, words = "Open again", "reopen", "lock_open", _reopen, None
    else:
        words = "Stops taking runs and freezes the grades on the hidden part."
        label, key, icon, action = "Close now", "close", "lock", _close
    toggle.button(
        label,
        key=f"classroom_asg_{key}",
        icon=f":material/{icon}:",
        on_click=action,
        args=(assignments, assignment.id),
        help=words,
    )
    if error := st.session_state.pop("classroom_asg_control_error", None):
        st.error(plain_markdown(error))


def results(book: Gradebook) -> None:
    """Every student's best run, the two parts' scores side by side, and the CSV."""
    assignment = book.assignment
    st.markdown("**Results**")
    if book.frozen_at:
        st.caption(
            f"Grades frozen {when_text(book.frozen_at)}: graded on the hidden part; runs "
            "finished since are listed as after the deadline."
        )
    else:
        st.caption(
            "Open: students see the visible part's score, so grades are provisional until the "
            "deadline grades the hidden part."
        )
    if not book.rows:
        st.caption("No student has a finished run on this assignment's dataset yet.")
        return
    st.dataframe(result_rows(book.rows), hide_index=True, key="classroom_asg_results")
    passing = sum(row.passed for row in book.rows)
    st.caption(f"{passing} of {len(book.rows)} rows pass.")
    threshold = assignment.goal.threshold if assignment.goal.metric == "accuracy" else None
    if any(row.hidden is not None for row in book.rows):
        st.plotly_chart(scores_figure(book.rows, threshold), key="classroom_asg_scores")
        st.caption(
            "Each dot is one row: a dot below the dotted diagonal scored better on the digits "
            "the students could see than on the hidden ones (the Lessons page explains why)."
        )
    st.download_button(
        "Download the gradebook (CSV)",
        gradebook_csv(book),
        file_name=f"gradebook-{assignment.id}.csv",
        mime="text/csv",
        icon=":material/download:",
        key="classroom_asg_csv",
    )


def assignments_section(store: RunStore) -> None:
    """The Class page's assignments: a new one, the chosen one's controls and results."""
    assignments = AssignmentStore(store)
    st.subheader("Assignments")
    listed = assignments.list()
    for entry in listed:
        if entry.damaged:
            st.warning(plain_markdown(f"Assignment {entry.id} cannot be read: {entry.damaged}"))
    found = {entry.id: entry.assignment for entry in listed if entry.assignment is not None}
    editing = st.session_state.get(EDITING_KEY)
    if editing in found:
        label = f"Edit “{plain_markdown(found[editing].title)}”"
    else:
        label = "New assignment"
    with st.expander(label, expanded=bool(editing) or not found, icon=":material/assignment:"):
        assignment_editor(assignments)
    show_saved()
    if not found:
        st.caption("No assignment yet: set one above for the class.")
        return
    chosen = st.selectbox(
        "Assignment",
        list(found),
        format_func=lambda key: f"{found[key].title} ({found[key].state()})",
        key="classroom_asg_pick",
    )
    assignment = found[chosen]
    with st.container(border=True):
        describe(assignment)
        controls(assignments, assignment)
        try:
            book = gradebook(assignments, chosen, None, teacher=True)
        except (KeyError, DamagedRunError) as error:
            st.warning(plain_markdown(f"This assignment cannot be read now: {error}"))
            return
        if assignment.has_ended() and not hidden_revealed(assignments, assignment):
            st.caption(
                "Students see the hidden part's scores once no open assignment hides the same "
                "digits: every assignment on a dataset hides the same half of its test split."
            )
        results(book)
