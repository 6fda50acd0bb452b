"""What an assignment asks, as every page shows it: goal, constraints, dataset, times, text."""

from __future__ import annotations

import streamlit as st

from dashboard.ui.app.text import plain_markdown
from dashboard.ui.assignments.times import when_text
from dashboard.ui.assignments.words import constraints_text
from mnist_lab.assignments.store import Assignment


def describe(assignment: Assignment) -> None:
    """What the assignment asks, its times and state, all user text shown as typed."""
    st.markdown(f"**Goal:** {plain_markdown(assignment.goal.describe())}")
    st.markdown(f"**Constraints:** {plain_markdown(constraints_text(assignment.constraints))}")
    st.caption(
        plain_markdown(
            f"Dataset {assignment.dataset['name']} · opens {when_text(assignment.opens_at)} · "
            f"deadline {when_text(assignment.deadline)} · {assignment.state()}"
        )
    )
    if assignment.text:
        # Line by line: the teacher's line breaks stay, and nothing in it is markdown.
        st.markdown("  \n".join(plain_markdown(line) for line in assignment.text.splitlines()))
