"""The Train page following an assignment: its fixed settings in the form, its constraints beside
the widgets, and what a draft would break marked before launch.

What breaks is the library's answer (`mnist_lab.assignments.constraints.draft_breaks`) on the
form's settings as they stand, so the page never keeps its own list of rules.
"""

from __future__ import annotations

import streamlit as st

from dashboard.ui.app.text import plain_markdown
from dashboard.ui.assignments.about_view import describe
from dashboard.ui.assignments.student_view import PENDING_KEY
from dashboard.ui.data.datasets_view import dataset_store
from dashboard.ui.train.settings_form import draft_values, fill_form
from mnist_lab.assignments.constraints import draft_breaks, fixed_settings
from mnist_lab.assignments.store import Assignment, AssignmentStore
from mnist_lab.data import EMBEDDED_NAME
from mnist_lab.engines import ENGINES, Engine, get_engine
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import RunStore

FOLLOWED_KEY = "train_assignment"
ENGINE_KEY, DATASET_KEY = "train_engine", "train_dataset"


def follow_pending(store: RunStore) -> None:
    """Fill the form from the assignment whose "Start" was pressed (call after the form state).

    Its ``equals`` constraints are the form's values (the engine too), its dataset the
    dataset picker's; from then on the page follows it.
    """
    pending = st.session_state.pop(PENDING_KEY, None)
    if pending is None:
        return
    try:
        assignment = AssignmentStore(store).get(pending)
    except (KeyError, DamagedRunError) as error:
        st.warning(plain_markdown(f"Cannot start from this assignment: {error}"))
        return
    fixed = fixed_settings(assignment.constraints)
    engine_name = fixed.pop("engine", st.session_state.get(ENGINE_KEY))
    if engine_name in ENGINES:
        st.session_state[ENGINE_KEY] = engine_name
        fill_form(get_engine(engine_name), fixed)
    name = assignment.dataset["name"]
    if name == EMBEDDED_NAME or name in dataset_store().names():
        st.session_state[DATASET_KEY] = name
    st.session_state[FOLLOWED_KEY] = assignment.id


def followed(store: RunStore) -> Assignment | None:
    """The assignment the form follows, while it can be read and is open."""
    followed_id = st.session_state.get(FOLLOWED_KEY)
    if followed_id is None:
        return None
    try:
        assignment = AssignmentStore(store).get(followed_id)
    except (KeyError, DamagedRunError):
        assignment = None
    if assignment is None or not assignment.is_open():
        st.session_state.pop(FOLLOWED_KEY, None)
        return None
    return assignment


def _unfollow() -> None:
    st.session_state.pop(FOLLOWED_KEY, None)


def assignment_panel(assignment: Assignment, draft: dict) -> dict[str, list[str]]:
    """The followed assignment beside the form, each constraint met or broken by ``draft``.

    Parameters
    ----------
    assignment : Assignment
    draft : dict
        The form's settings as they stand, with ``engine``.

    Returns
    -------
    dict
        Setting name -> notes (`note_text`) for the form to draw under its widget.
    """
    breaks = draft_breaks(assignment.constraints, draft)
    broken = {item.constraint: item for item in breaks}
    notes: dict[str, list[str]] = {}
    for constraint in assignment.constraints:
        item = broken.get(constraint)
        if item is None:
            notes.setdefault(constraint.setting, []).append(note_text(constraint.describe(), False))
        else:
            notes.setdefault(item.setting, []).append(note_text(item.reason, True))
    with st.container(border=True):
        st.markdown(f"**Following the assignment “{plain_markdown(assignment.title)}”**")
        describe(assignment)
        if breaks:
            reasons = "; ".join(item.reason for item in breaks)
            st.warning(
                plain_markdown(
                    f"These settings break the assignment: {reasons}. You may still launch, "
                    "but the run will not pass."
                ),
                icon=":material/rule:",
            )
        else:
            st.success("These settings keep every constraint of the assignment.")
        st.button("Stop following it", key="train_assignment_unfollow", on_click=_unfollow)
    return notes


def assignment_notes(store: RunStore, engine: Engine, fixed: dict) -> dict[str, list[str]]:
    """The followed assignment's panel, if any, and the notes for the form's widgets.

    Parameters
    ----------
    store : RunStore
    engine : Engine
        The engine picked.
    fixed : dict
        The settings chosen outside the form (dataset, architecture).
    """
    assignment = followed(store)
    if assignment is None:
        return {}
    return assignment_panel(assignment, {**draft_values(engine, fixed), "engine": engine.name})


def note_text(words: str, broken: bool) -> str:
    """One note under a widget, markdown-safe: red with a cross when broken, a tick when kept.

    Examples
    --------
    >>> note_text("at most 3 epochs", False)
    'Assignment: ✓ at most 3 epochs'
    """
    if broken:
        return f":red[Assignment: ✗ {plain_markdown(words)}]"
    return f"Assignment: ✓ {plain_markdown(words)}"
