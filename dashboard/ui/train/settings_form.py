"""The Train page's launch form of any engine, built from the engine's declared settings.

Each widget takes its label, default, range and help from the setting's declaration
(`mnist_lab.settings.Setting`), so the form and the CLI can never disagree on a default.
Widget values live in session state under ``train_<engine>_<setting>``: every engine keeps
what the student chose while another engine's form is shown, and a preset's recipe can fill
the form (`fill_form`). The widgets are live (no ``st.form``), so the expected training time
and the schedule drawn beside them follow every change.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from dashboard.ui.app.state import keep_widget_state, set_kept
from dashboard.ui.app.text import plain_markdown
from mnist_lab.engines import Engine
from mnist_lab.launch import draws_fresh_seed
from mnist_lab.settings import Setting, Settings, fresh_seed

COLUMNS = 3
# Optional booleans ("automatic" = None) as a choice of three.
TRI_STATE = {"automatic": None, "on": True, "off": False}
# Float settings within [0, 1] get a slider with this resolution unless they declare a step.
FRACTION_STEP = 0.01
# The checkbox beside the seed: a fresh seed for each launch, or the one shown.
FRESH_SEED = "fresh_seed"
# The engine picker's key, kept with the form.
ENGINE_KEY = "train_engine"
# The run name box's length (the name's own bound in `mnist_lab.runs` is checked at launch).
MAX_RUN_NAME = 80


def widget_key(engine: Engine, name: str) -> str:
    """The session-state key of one setting's widget, e.g. ``train_keras_epochs``."""
    return f"train_{engine.name}_{name}"


def _shown(engine: Engine) -> dict[str, Setting]:
    """The settings with a widget in the form (custom layers and the dataset have a picker)."""
    return {
        n: d
        for n, d in engine.settings_class.declared().items()
        if d.kind is not list and not d.picks_dataset
    }


def _offers_fresh_seed(engine: Engine) -> bool:
    return "seed" in engine.settings_class.declared() and draws_fresh_seed(engine)


def _step(declaration: Setting) -> float:
    return declaration.step or FRACTION_STEP


def widget_value(declaration: Setting, value: Any) -> Any:
    """A setting's value as its widget holds it (an optional number's None is 0)."""
    if declaration.kind is bool and declaration.optional:
        return next(label for label, choice in TRI_STATE.items() if choice == value)
    if declaration.kind is int and declaration.choices is None and declaration.options is None:
        return int(value or 0)
    if declaration.kind is float and declaration.options is None:
        return float(value)
    return value


def setting_value(declaration: Setting, value: Any) -> Any:
    """The setting's value from its widget's (the inverse of `widget_value`)."""
    if declaration.kind is bool and declaration.optional:
        return TRI_STATE[value]
    if declaration.kind is int and declaration.optional:
        return int(value) or None
    return value


def _fits_widget(declaration: Setting, value: Any) -> bool:
    """Whether ``value`` is one the setting's widget can hold (a kept value read back)."""
    if declaration.kind is bool and declaration.optional:
        return value in TRI_STATE
    if declaration.options is not None and declaration.choices is None:
        return value in declaration.options
    try:
        declaration.check(setting_value(declaration, value))
    except (ValueError, TypeError):
        return False
    return True


def keep_form_state(engines: list[Engine], defaults: dict, read_back: dict | None = None) -> list:
    """Keep every engine's widget values across reruns and pages (defaults on a first visit).

    Parameters
    ----------
    engines : list of Engine
    defaults : dict
        The page's other widgets kept with the form (key -> value on a first visit).
    read_back : dict, optional
        Values this browser kept before a refresh (`dashboard.ui.app.form_memory`): each one
        of a widget of the form, of its widget's type and allowed there, fills that widget.

    Returns
    -------
    list of str
        The keys of the form's widgets: what a browser keeps across a refresh.
    """
    defaults = dict(defaults)
    fits = {ENGINE_KEY: lambda value: value in {engine.name for engine in engines}}
    for engine in engines:
        for name, declaration in _shown(engine).items():
            key = widget_key(engine, name)
            defaults[key] = widget_value(declaration, declaration.default)
            fits[key] = lambda value, declaration=declaration: _fits_widget(declaration, value)
        defaults[widget_key(engine, "name")] = ""
        fits[widget_key(engine, "name")] = lambda value: len(value) <= MAX_RUN_NAME
        if _offers_fresh_seed(engine):
            defaults[widget_key(engine, FRESH_SEED)] = True
    for key, value in (read_back or {}).items():
        # Of the type the widget holds: a whole number is no float, a flag no number.
        if key in defaults and type(value) is type(defaults[key]):
            if fits.get(key, lambda _: True)(value):
                set_kept(key, value)
    keep_widget_state(defaults)
    return list(defaults)


def fill_form(engine: Engine, values: dict) -> None:
    """Put ``values`` (setting name -> value) into the engine's widgets, e.g. a recipe.

    A seed among them is kept for the next launch rather than a fresh one drawn.
    """
    shown = _shown(engine)
    for name, value in values.items():
        if name in shown:
            set_kept(widget_key(engine, name), widget_value(shown[name], value))
    if "seed" in values and _offers_fresh_seed(engine):
        set_kept(widget_key(engine, FRESH_SEED), False)


def with_launch_seed(engine: Engine, settings: Settings) -> Settings:
    """``settings`` with a `fresh_seed` drawn if the form asks for one, else as they are."""
    if _offers_fresh_seed(engine) and st.session_state[widget_key(engine, FRESH_SEED)]:
        return dataclasses.replace(settings, seed=fresh_seed())
    return settings


def setting_widget(declaration: Setting, key: str, where, disabled: bool = False) -> None:
    """Draw the widget of one setting in ``where``; its value is in ``st.session_state[key]``."""
    common = {"key": key, "help": declaration.help or None, "disabled": disabled}
    label = declaration.label or declaration.name
    if declaration.choices is not None:
        where.selectbox(label, list(declaration.choices), **common)
    elif declaration.kind is bool and declaration.optional:
        where.selectbox(label, list(TRI_STATE), **common)
    elif declaration.kind is bool:
        where.checkbox(label, **common)
    elif declaration.options is not None:
        where.select_slider(label, declaration.options, format_func=lambda v: f"{v:g}", **common)
    elif declaration.kind is int:
        # An optional number shows 0 for "none", as its label says.
        low = 0 if declaration.optional else int(declaration.low)
        where.number_input(label, low, int(declaration.high), step=1, **common)
    else:
        low = declaration.low + (_step(declaration) if declaration.low_open else 0.0)
        high = declaration.high - (_step(declaration) if declaration.high_open else 0.0)
        decimals = max(2, len(f"{_step(declaration):g}".split(".")[-1]))
        where.slider(label, low, high, step=_step(declaration), format=f"%.{decimals}f", **common)


def _draw_setting(engine: Engine, declaration: Setting, where, notes: list) -> None:
    """One setting's widget, the seed's with its "fresh each run" checkbox, notes under it."""
    fresh = False
    if declaration.name == "seed" and _offers_fresh_seed(engine):
        fresh = where.checkbox(
            "Fresh seed each run",
            key=widget_key(engine, FRESH_SEED),
            help="Each launch draws a new seed, recorded in the run and shown here after it. "
            "Untick to train with the seed shown (e.g. to repeat a run).",
        )
    setting_widget(declaration, widget_key(engine, declaration.name), where, disabled=fresh)
    for note in notes:
        where.caption(note)


def form_values(engine: Engine) -> dict:
    """The settings the engine's widgets hold now (setting name -> value)."""
    return {
        name: setting_value(declaration, st.session_state[widget_key(engine, name)])
        for name, declaration in _shown(engine).items()
    }


def draft_values(engine: Engine, fixed: dict) -> dict:
    """The settings the form and ``fixed`` hold now, before any check (what a launch would take).

    The widgets' values are in session state before they are drawn, so this is known before
    the form: notes under its widgets may depend on it.
    """
    return engine.settings_class.without_unused({**form_values(engine), **fixed})


def settings_form(
    engine: Engine, fixed: dict, notes: dict[str, list[str]] | None = None
) -> tuple[Settings | None, str]:
    """Draw the engine's settings and return them validated, with the run name.

    Parameters
    ----------
    engine : Engine
    fixed : dict
        Settings chosen outside the form (the architecture picker's), left out of it.
    notes : dict, optional
        Setting name -> lines of markdown to show under its widget (an assignment's rules).

    Returns
    -------
    settings : Settings or None
        None while the chosen values are not valid; the reason is shown under the form.
    name : str
        The run name typed (empty for none).
    """
    notes = notes or {}
    shown = {n: d for n, d in _shown(engine).items() if n not in fixed}
    columns = st.columns(COLUMNS)
    basic = [declaration for declaration in shown.values() if not declaration.advanced]
    for position, declaration in enumerate(basic):
        _draw_setting(
            engine, declaration, columns[position % COLUMNS], notes.get(declaration.name, [])
        )
    advanced = [declaration for declaration in shown.values() if declaration.advanced]
    if advanced:
        with st.expander("More settings"):
            columns = st.columns(COLUMNS)
            for position, declaration in enumerate(advanced):
                where = columns[position % COLUMNS]
                _draw_setting(engine, declaration, where, notes.get(declaration.name, []))
    name = st.text_input(
        "Run name (optional)", max_chars=MAX_RUN_NAME, key=widget_key(engine, "name")
    )
    try:
        settings = engine.settings_class(**draft_values(engine, fixed)).validate()
    except ValueError as error:
        st.error(plain_markdown(f"Cannot launch with these settings: {error}"))
        return None, name.strip()
    return settings, name.strip()
