"""The Train page's launch form of any engine, built from the engine's declared settings.

Each widget takes its label, default, range and help from the setting's declaration
(`mnist_lab.settings.Setting`), so the form and the CLI can never disagree on a default.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from mnist_lab.engines import Engine
from mnist_lab.settings import Setting, Settings

COLUMNS = 3
# Optional booleans ("automatic" = None) as a choice of three.
TRI_STATE = {"automatic": None, "on": True, "off": False}
# Float settings within [0, 1] get a slider with this resolution.
FRACTION_STEP = 0.01


def _number_format(value: Any) -> str:
    return f"{value:g}"


def setting_widget(declaration: Setting, key: str, where, disabled: bool = False) -> Any:
    """Draw the widget of one setting in ``where`` and return its value as the setting takes it.

    Parameters
    ----------
    declaration : Setting
    key : str
        Widget key (``train_<engine>_<setting>``).
    where : streamlit container
    disabled : bool, default False

    Returns
    -------
    Any
        The chosen value; an optional number's 0 (labelled in the widget) becomes None.
    """
    common = {"key": key, "help": declaration.help or None, "disabled": disabled}
    label, default = declaration.label or declaration.name, declaration.default
    if declaration.choices is not None:
        options = list(declaration.choices)
        return where.selectbox(label, options, index=options.index(default), **common)
    if declaration.kind is bool:
        if declaration.optional:
            labels = list(TRI_STATE)
            index = list(TRI_STATE.values()).index(default)
            return TRI_STATE[where.selectbox(label, labels, index=index, **common)]
        return where.checkbox(label, value=default, **common)
    if declaration.options is not None:
        return where.select_slider(
            label, declaration.options, value=default, format_func=_number_format, **common
        )
    if declaration.kind is int:
        # An optional number shows 0 for "none", as its label says.
        low = 0 if declaration.optional else int(declaration.low)
        value = where.number_input(
            label, low, int(declaration.high), default or low, step=1, **common
        )
        return int(value) or (None if declaration.optional else int(value))
    low = declaration.low + (FRACTION_STEP if declaration.low_open else 0.0)
    high = declaration.high - (FRACTION_STEP if declaration.high_open else 0.0)
    return float(where.slider(label, low, high, float(default), FRACTION_STEP, **common))


def settings_form(
    engine: Engine, fixed: dict, disabled: bool
) -> tuple[Settings, str | None] | None:
    """The launch form of ``engine``: its settings, validated, and the run name, once launched.

    Parameters
    ----------
    engine : Engine
    fixed : dict
        Settings chosen outside the form (the architecture picker's), left out of it.
    disabled : bool
        Disable Launch (while this page's run is live).

    Returns
    -------
    (Settings, str or None) or None
        None until Launch is pressed with valid settings; invalid ones are shown as an error.
    """
    declared = [
        declaration
        for name, declaration in engine.settings_class.declared().items()
        if name not in fixed and declaration.kind is not list
    ]
    prefix = f"train_{engine.name}_"
    values = {}
    with st.form(f"{prefix}form"):
        columns = st.columns(COLUMNS)
        basic = [declaration for declaration in declared if not declaration.advanced]
        for position, declaration in enumerate(basic):
            where = columns[position % COLUMNS]
            values[declaration.name] = setting_widget(declaration, prefix + declaration.name, where)
        advanced = [declaration for declaration in declared if declaration.advanced]
        if advanced:
            with st.expander("More settings"):
                for declaration in advanced:
                    values[declaration.name] = setting_widget(
                        declaration, prefix + declaration.name, st
                    )
        name = st.text_input("Run name (optional)", max_chars=80, key=f"{prefix}name")
        launched = st.form_submit_button(
            "Launch training",
            type="primary",
            disabled=disabled,
            icon=":material/rocket_launch:",
            key=f"{prefix}launch",
        )
    if not launched:
        return None
    try:
        settings = engine.settings_class(**fixed, **values).validate()
    except ValueError as error:
        st.error(f"Cannot launch: {error}")
        return None
    return settings, name.strip() or None
