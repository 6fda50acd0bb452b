"""The students' assignments on Home and Train: what each asks, their best run, a way to start.

What a student sees comes from `mnist_lab.assignments.grading.student_summary`: their own best
run only, and the hidden part's score only once the assignment has ended.
"""

from __future__ import annotations

import streamlit as st

from dashboard.ui.app.identity import current_owner
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.assignments.about_view import describe
from dashboard.ui.assignments.words import percent, why_not
from mnist_lab.assignments.grading import student_summary
from mnist_lab.assignments.results import RunResult
from mnist_lab.assignments.store import Assignment, AssignmentStore
from mnist_lab.runs import RunStore

# Set by "Start from this assignment"; the Train page fills its form from it (`launch_view`).
PENDING_KEY = "train_assignment_pending"


def shown_assignments(store: RunStore) -> list[tuple[Assignment, RunResult | None]]:
    """The assignments this session sees (opened ones), each with its best run if it has a name.

    Damaged assignment files are named in a warning; the others still show.
    """
    assignments = AssignmentStore(store)
    listed = assignments.list()
    for entry in listed:
        if entry.damaged:
            st.warning(plain_markdown(f"Assignment {entry.id} cannot be read: {entry.damaged}"))
    person = current_owner()
    if person is not None:
        return student_summary(assignments, person)
    # Nobody to grade: what each asks, with no run.
    opened = (entry.assignment for entry in listed if entry.assignment is not None)
    return [(assignment, None) for assignment in opened if assignment.has_opened()]


def best_run_text(assignment: Assignment, best: RunResult | None) -> str:
    """The student's best run on ``assignment`` in words (markdown-safe).

    The hidden part's score is named only when the gradebook gave it (after the deadline).
    """
    if current_owner() is None:
        return "Give your name in the sidebar to see your runs graded."
    if best is None:
        return "No finished run of yours on it yet."
    verdict = "passes" if best.passed else f"does not pass: {why_not(best)}"
    visible = (
        "" if best.visible is None else f"{percent(best.visible.accuracy)} on the visible part"
    )
    if best.hidden is not None:
        hidden = f"{percent(best.hidden.accuracy)} on the hidden part it is graded on"
    elif assignment.has_ended():
        hidden = "the hidden part's score shows once no open assignment hides those digits"
    else:
        hidden = "the hidden part's score shows after the deadline"
    provisional = "" if best.graded_on == "hidden" else " (so far, on the visible part)"
    scores = ", ".join(part for part in (visible, hidden) if part)
    return plain_markdown(f"Your best run, {best.run_name}, {verdict}{provisional}. {scores}.")


def _start(assignment_id: str) -> None:
    st.session_state[PENDING_KEY] = assignment_id


def assignment_card(assignment: Assignment, best: RunResult | None, key: str) -> bool:
    """One assignment in a box, with the student's best run; whether "Start" was pressed.

    "Start from this assignment" leaves its id for the Train page (`PENDING_KEY`).
    """
    with st.container(border=True):
        st.markdown(f"**{plain_markdown(assignment.title)}**")
        describe(assignment)
        passed = best is not None and best.passed
        (st.success if passed else st.info)(best_run_text(assignment, best))
        if not assignment.is_open():
            return False
        return st.button(
            "Start from this assignment",
            key=f"{key}_{assignment.id}",
            icon=":material/assignment:",
            help="Fills the Train form with the settings it fixes and marks what it forbids.",
            on_click=_start,
            args=(assignment.id,),
        )


def assignment_cards(shown: list[tuple[Assignment, RunResult | None]], key: str) -> bool:
    """`shown_assignments` as cards; whether a "Start" was pressed."""
    pressed = [assignment_card(assignment, best, key) for assignment, best in shown]
    return any(pressed)
