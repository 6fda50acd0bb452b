"""The teacher's assignment editor on the Class page: a new one (from scratch or a template), or
changes to one already set.

Every field lives in session state under ``classroom_asg_*``; the buttons act in callbacks, so a
created assignment empties the form before it is drawn again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from dashboard.ui.app.identity import current_owner
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.assignments.constraint_inputs import (
    DRAFT_KEY,
    constraint_builder,
    draft_constraints,
)
from dashboard.ui.assignments.times import aware, local_parts, reader_zone
from dashboard.ui.data.datasets_view import dataset_picker
from mnist_lab.assignments.constraints import fixed_engine
from mnist_lab.assignments.store import (
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    Assignment,
    AssignmentStore,
    Goal,
)
from mnist_lab.assignments.templates import templates
from mnist_lab.data import EMBEDDED_NAME

EDITING_KEY = "classroom_asg_editing"
MESSAGE_KEY = "classroom_asg_message"
SCRATCH = ""
GOAL_WORDS = {"accuracy": "Test accuracy at least", "loss": "Test loss at most"}
# A new assignment's deadline until the teacher picks one: a week from now.
DEFAULT_DAYS = 7
FIELDS = (
    "title",
    "text",
    "metric",
    "accuracy",
    "loss",
    "open_day",
    "open_time",
    "has_deadline",
    "deadline_day",
    "deadline_time",
)


def _key(field: str) -> str:
    return f"classroom_asg_{field}"


def _fill(
    title: str,
    text: str,
    goal: Goal,
    constraints: tuple,
    opens_at: str | None,
    deadline: str | None,
    template: str,
) -> None:
    """Put an assignment's (or a template's) values into the editor's widgets."""
    now = datetime.now(reader_zone())
    open_day, open_time = local_parts(opens_at, now)
    deadline_day, deadline_time = local_parts(deadline, now + timedelta(days=DEFAULT_DAYS))
    accuracy = goal.threshold if goal.metric == "accuracy" else None
    values = {
        "title": title,
        "text": text,
        "metric": goal.metric,
        "accuracy": round(100 * (accuracy if accuracy is not None else 0.97), 2),
        "loss": float(goal.threshold if goal.metric == "loss" else 0.1),
        "open_day": open_day,
        "open_time": open_time,
        "has_deadline": deadline is not None,
        "deadline_day": deadline_day,
        "deadline_time": deadline_time,
        "template": template,
    }
    st.session_state.update({_key(field): value for field, value in values.items()})
    st.session_state[DRAFT_KEY] = list(constraints)


def _empty() -> None:
    _fill("", "", Goal("accuracy", 0.97), (), None, None, SCRATCH)
    st.session_state.pop(EDITING_KEY, None)


def _from_template() -> None:
    key = st.session_state[_key("template")]
    if key == SCRATCH:
        return _empty()
    made = templates()[key]
    _fill(made.title, made.text, made.goal, made.constraints, None, None, key)


def start_editing(assignment: Assignment) -> None:
    """Load ``assignment`` into the editor (a button's callback)."""
    _fill(
        assignment.title,
        assignment.text,
        assignment.goal,
        assignment.constraints,
        assignment.opens_at,
        assignment.deadline,
        assignment.template or SCRATCH,
    )
    st.session_state[EDITING_KEY] = assignment.id


def _form_fields() -> dict:
    """The editor's values as `AssignmentStore.create` and `edit` take them."""
    state = {field: st.session_state[_key(field)] for field in FIELDS}
    metric = state["metric"]
    threshold = state["accuracy"] / 100 if metric == "accuracy" else state["loss"]
    deadline = None
    if state["has_deadline"]:
        deadline = aware(state["deadline_day"], state["deadline_time"])
    return {
        "title": state["title"],
        "text": state["text"],
        "goal": Goal(metric, float(threshold)),
        "constraints": tuple(st.session_state.get(DRAFT_KEY, [])),
        "opens_at": aware(state["open_day"], state["open_time"]),
        "deadline": deadline,
    }


def _save(assignments: AssignmentStore) -> None:
    editing = st.session_state.get(EDITING_KEY)
    fields = _form_fields()
    try:
        if editing:
            saved = assignments.edit(editing, **fields)
        else:
            dataset = st.session_state.get(_key("dataset"), EMBEDDED_NAME)
            # Not drawn while editing, so Streamlit may have dropped it.
            template = st.session_state.get(_key("template")) or None
            if template and templates()[template].own_dataset and dataset == EMBEDDED_NAME:
                raise ValueError("this template is for a dataset of your own: pick it above")
            saved = assignments.create(
                **fields,
                dataset=None if dataset == EMBEDDED_NAME else dataset,
                created_by=current_owner(),
                template=template,
            )
    except (ValueError, KeyError) as error:
        st.session_state[MESSAGE_KEY] = ("error", f"Cannot save the assignment: {error}")
        return
    _empty()
    st.session_state[MESSAGE_KEY] = ("success", f"Saved “{saved.title}”: {saved.state()}.")


def assignment_editor(assignments: AssignmentStore) -> None:
    """The editor: a template or scratch, the texts, dataset, goal, times and constraints."""
    if _key("title") not in st.session_state:
        _empty()
    editing = st.session_state.get(EDITING_KEY)
    if editing:
        st.caption("Editing a set assignment: its dataset and its cut of the test split stay.")
    else:
        options = {SCRATCH: "From scratch"} | {k: t.title for k, t in templates().items()}
        st.selectbox(
            "Start from",
            list(options),
            format_func=options.get,
            key=_key("template"),
            on_change=_from_template,
            help="A ready-made assignment from the lessons fills the form; change anything.",
        )
    st.text_input("Title", max_chars=MAX_TITLE_LENGTH, key=_key("title"))
    st.text_area(
        "Text for the students",
        max_chars=MAX_TEXT_LENGTH,
        key=_key("text"),
        help="Shown as typed (plain text).",
    )
    if not editing:
        dataset_picker(_key("dataset"), label="Dataset the runs must train on")
    metric_column, threshold_column = st.columns(2)
    metric = metric_column.radio(
        "Goal", list(GOAL_WORDS), format_func=GOAL_WORDS.get, key=_key("metric"), horizontal=True
    )
    if metric == "accuracy":
        threshold_column.number_input(
            "Test accuracy at least (%)", 0.0, 100.0, step=0.1, key=_key("accuracy")
        )
    else:
        threshold_column.number_input(
            "Test loss at most", 0.0, None, step=0.01, format="%g", key=_key("loss")
        )
    zone = reader_zone().key
    opens, opens_at, deadline_on, deadline, deadline_at = st.columns(5)
    opens.date_input(f"Opens ({zone})", key=_key("open_day"))
    opens_at.time_input("at", key=_key("open_time"), step=timedelta(minutes=15))
    has_deadline = deadline_on.checkbox("A deadline", key=_key("has_deadline"))
    deadline.date_input("Deadline", key=_key("deadline_day"), disabled=not has_deadline)
    deadline_at.time_input(
        "at", key=_key("deadline_time"), step=timedelta(minutes=15), disabled=not has_deadline
    )
    st.markdown("**Constraints on the runs**")
    draft = draft_constraints()
    with st.container(border=True):
        constraint_builder(fixed_engine(draft))
    save, cancel = st.columns(2)
    save.button(
        "Save changes" if editing else "Create assignment",
        type="primary",
        icon=":material/assignment_add:",
        key="classroom_asg_save",
        on_click=_save,
        args=(assignments,),
    )
    if editing:
        cancel.button("Cancel editing", key="classroom_asg_cancel", on_click=_empty)


def show_saved() -> None:
    """What the last save did: drawn outside the editor, which a save may fold away."""
    if message := st.session_state.pop(MESSAGE_KEY, None):
        kind, text = message
        (st.success if kind == "success" else st.error)(plain_markdown(text))
