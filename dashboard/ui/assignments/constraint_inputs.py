"""The teacher's constraint builder: a setting, a rule and a value, from the settings' declarations.

Which settings may be constrained and which rules each takes are the library's answer
(`constrainable`, `rules_for`), and what a value widget offers comes from the engines' own
declarations (`declarations`): a setting added to an engine shows up here with its label,
range and choices, and `make_constraint` checks the value against the same declarations.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.ui.app.text import plain_markdown
from mnist_lab.assignments.constraints import (
    ENGINE,
    PARAMETERS,
    Constraint,
    constrainable,
    declarations,
    make_constraint,
    rules_for,
)
from mnist_lab.engines import ENGINES, all_engines, get_engine
from mnist_lab.settings import Setting

# The draft's constraints, kept across reruns until the assignment is saved.
DRAFT_KEY = "classroom_asg_constraints"
ERROR_KEY = "classroom_asg_constraint_error"
RULE_WORDS = {
    "at_most": "at most",
    "at_least": "at least",
    "equals": "equal to",
    "one_of": "one of",
    "layer_types": "only layers of the types",
}


def _declaration(name: str) -> Setting | None:
    return next(iter(declarations(name).values()), None)


def _choices(name: str) -> list:
    """The values a choice setting takes, over every engine that declares it (in order)."""
    if name == ENGINE:
        return list(ENGINES)
    seen: dict = {}
    for declaration in declarations(name).values():
        seen |= dict.fromkeys(declaration.choices or ())
    return list(seen)


def _layer_types() -> list[str]:
    """Every layer type an engine's architecture declares."""
    seen: dict = {}
    for engine in all_engines():
        architecture = engine.settings_class.architecture
        if architecture is not None:
            seen |= dict.fromkeys(architecture.layer_types)
    return list(seen)


def _label_of(name: str, value: Any) -> str:
    return get_engine(value).title if name == ENGINE else str(value)


def value_input(name: str, rule: str, key: str) -> None:
    """The widget of a constraint's value, as the setting's declaration allows.

    Its label reads as the rule ("epochs at most"), so it names the setting it is for.
    """
    choices = _choices(name)
    declaration = _declaration(name)
    label = f"{name} {RULE_WORDS[rule]}"
    fmt = lambda value: _label_of(name, value)  # noqa: E731
    if rule == "layer_types":
        st.multiselect(label, _layer_types(), key=key)
    elif choices and rule == "one_of":
        st.multiselect(label, choices, format_func=fmt, key=key)
    elif choices:
        st.selectbox(label, choices, format_func=fmt, key=key)
    elif declaration is not None and declaration.kind is bool:
        st.checkbox(label, key=key)
    else:
        found = list(declarations(name).values())
        low = min((d.low for d in found if d.low is not None), default=0)
        high = max((d.high for d in found if d.high is not None), default=None)
        if name == PARAMETERS or (declaration is not None and declaration.kind is int):
            top = None if high is None else int(high)
            st.number_input(label, int(low), top, step=1, key=key)
        else:
            top = None if high is None else float(high)
            st.number_input(label, float(low), top, format="%g", key=key)


def _add(name: str, rule: str, value_key: str, engine: str | None) -> None:
    """Add the builder's constraint to the draft (a callback: the list above shows it at once)."""
    value = st.session_state.get(value_key)
    try:
        made = make_constraint(name, rule, value, engine=None if name == ENGINE else engine)
    except ValueError as error:
        st.session_state[ERROR_KEY] = f"Cannot add this constraint: {error}"
        return
    draft = st.session_state.setdefault(DRAFT_KEY, [])
    # One constraint per setting and rule: the newer replaces the older.
    draft[:] = [c for c in draft if (c.setting, c.rule) != (made.setting, made.rule)] + [made]


def constraint_builder(engine: str | None) -> None:
    """Pick a setting, a rule and a value, and add the constraint to the draft.

    Parameters
    ----------
    engine : str or None
        The engine the draft's ``engine equals`` constraint fixes: values are checked against
        its declarations only.
    """
    labels = constrainable(engine)
    name_column, rule_column, value_column = st.columns(3)
    with name_column:
        name = st.selectbox(
            "Setting", list(labels), format_func=labels.get, key="classroom_asg_setting"
        )
    with rule_column:
        rule = st.selectbox(
            "Rule",
            rules_for(name, None if name == ENGINE else engine),
            format_func=RULE_WORDS.get,
            key=f"classroom_asg_rule_{name}",
        )
    value_key = f"classroom_asg_value_{name}_{rule}"
    # A form: the value typed goes with the click that adds it, never a rerun behind.
    with value_column, st.form("classroom_asg_value_form", border=False):
        value_input(name, rule, key=value_key)
        st.form_submit_button(
            "Add this constraint",
            icon=":material/add:",
            key="classroom_asg_add",
            on_click=_add,
            args=(name, rule, value_key, engine),
        )
    if error := st.session_state.pop(ERROR_KEY, None):
        st.error(plain_markdown(error))


def draft_constraints() -> list[Constraint]:
    """The draft's constraints, each with a button that removes it."""
    draft = st.session_state.setdefault(DRAFT_KEY, [])
    if not draft:
        st.caption("No constraints yet: any run on the dataset counts.")
    for position, constraint in enumerate(list(draft)):
        words, remove = st.columns([5, 1])
        words.markdown(f"- {plain_markdown(constraint.describe())}")
        remove.button(
            "Remove",
            key=f"classroom_asg_remove_{position}",
            icon=":material/close:",
            on_click=draft.remove,
            args=(constraint,),
        )
    return list(draft)
