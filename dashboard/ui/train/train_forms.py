"""The Train page's architecture picker: a preset or custom layers, for any engine that has one.

It lives outside the launch form (`dashboard.ui.train.settings_form`) so the layer table and the
parameter count follow every change at once.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.ui.app import form_memory
from dashboard.ui.app.pages import session_pages
from dashboard.ui.app.state import set_kept
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.data.datasets_view import dataset_picker, dataset_store
from dashboard.ui.train.layer_builder import layer_builder, layers_held, layers_key, set_layers
from dashboard.ui.train.settings_form import fill_form, keep_form_state, widget_key
from mnist_lab.architecture import Architecture
from mnist_lab.engines import ENGINES, Engine, get_engine
from mnist_lab.runs import Run
from mnist_lab.status import DAMAGED

# The name under which a browser keeps the Train form across a refresh.
TRAIN_FORM = "train"
# Set by a copy that could not read its run: the page that offered it stays open to say why.
COPY_REFUSED = "train_copy_refused"


def architecture_picker(engine: Engine, architecture: Architecture, n_classes: int) -> dict:
    """Preset or custom architecture, with its description, layer table and parameter count.

    Parameters
    ----------
    engine : Engine
        The engine whose settings declare ``architecture``.
    architecture : Architecture
    n_classes : int
        The chosen dataset's number of classes: the size of the output layer.

    Returns
    -------
    dict
        The preset and, for the custom one, the layers: the settings the launch form leaves
        to this picker.
    """
    presets, custom = architecture.presets, architecture.custom
    key = widget_key(engine, architecture.preset_setting)
    preset = st.selectbox(
        "Architecture",
        [*presets, custom],
        format_func=lambda name: presets[name].title if name in presets else "Custom layers",
        key=key,
        # Picking a preset fills the form with its recipe; every value stays editable.
        on_change=lambda: fill_form(
            engine,
            engine.settings_class.recommended({architecture.preset_setting: st.session_state[key]}),
        ),
        help="Picking a preset fills the settings below with its recipe.",
    )
    layers = None
    if preset == custom:
        st.caption(
            "One row per hidden layer, first to last: change a layer's type and fields, move "
            "it up or down, remove it, or add one. A Flatten is added before the first Dense "
            "layer after image layers, and the softmax output (one unit per class) is always added."
        )
        layers = layer_builder(engine, architecture)
    else:
        st.caption(presets[preset].description)
    chosen = {architecture.preset_setting: preset, architecture.layers_setting: layers}
    try:
        summary = architecture.summarize(architecture.layers_of(chosen), n_classes)
    except ValueError as error:
        st.error(f"This architecture is not valid yet: {error}")
        return chosen
    total = sum(row["params"] for row in summary)
    with st.expander(f"{total:,} parameters · {len(summary)} layers", expanded=preset == custom):
        table = pd.DataFrame(summary)
        table["output_shape"] = table["output_shape"].map(lambda shape: " × ".join(map(str, shape)))
        st.dataframe(table, hide_index=True)
    return chosen


def settings_chosen_outside_the_form(engine: Engine) -> dict:
    """The settings pickers above the launch form choose: the dataset, an architecture."""
    chosen = {"dataset": dataset_picker("train_dataset")}
    architecture = engine.settings_class.architecture
    if architecture is not None:
        n_classes = dataset_store().n_classes(chosen["dataset"])
        chosen.update(architecture_picker(engine, architecture, n_classes))
    return chosen


def copy_run_settings(run: Run) -> None:
    """Fill the Train form with ``run``'s settings, read from its ``config.json``.

    The config is read back through its engine's settings declarations, so a setting added
    since the run was made gets its default. Call it from a button's ``on_click``: widget
    values can only be set before the widgets are drawn.

    Raises
    ------
    ValueError
        If the run's config does not read back as its engine's settings.
    """
    config = run.config()
    engine = get_engine(config.get("engine"))
    settings = engine.settings_class.from_dict(config)
    values = {name: getattr(settings, name) for name in engine.settings_class.declared()}
    set_kept("train_engine", engine.name)
    if "dataset" in values:
        set_kept("train_dataset", values["dataset"])
    fill_form(engine, values)
    architecture = engine.settings_class.architecture
    if architecture is not None and values.get(architecture.layers_setting):
        set_layers(engine, values[architecture.layers_setting])


def _copy(run: Run) -> None:
    """Fill the form from ``run``, or say why its settings cannot be read."""
    try:
        copy_run_settings(run)
    except ValueError as error:
        st.session_state[COPY_REFUSED] = True
        st.toast(plain_markdown(f"Cannot copy this run's settings: {error}"))
    else:
        st.toast("The Train form now holds this run's settings.")


def copy_settings_button(run: Run, key: str, open_train: bool = False) -> None:
    """The "Copy this run's settings" button of a run any engine of the lab can train.

    Parameters
    ----------
    run : Run
    key : str
        The button's key (prefixed by its page).
    open_train : bool, default False
        Whether the click opens the Train page (from Evaluate or Compare) with the form filled.
    """
    if run.status()["state"] == DAMAGED or run.config().get("engine") not in ENGINES:
        return
    clicked = st.button(
        "Copy this run's settings",
        key=key,
        icon=":material/content_copy:",
        help="Fill the Train page's form with this run's settings, to change one and launch "
        "again." + (" Opens the Train page." if open_train else ""),
        on_click=_copy,
        args=(run,),
    )
    if clicked and open_train and not st.session_state.pop(COPY_REFUSED, False):
        st.switch_page(session_pages()["train"])


def keep_train_form(engines: list[Engine], defaults: dict, root: Path) -> list[str]:
    """Keep the Train form for the session, and for this browser across a refresh.

    A refresh's new session reads back what the browser kept (`form_memory`): the widgets'
    values that still fit their widgets, and custom layers its engine still accepts.

    Parameters
    ----------
    engines : list of Engine
    defaults : dict
        The page's other widgets kept with the form (key -> value on a first visit).
    root : Path
        The runs directory, where the values are kept.

    Returns
    -------
    list of str
        The keys of the form's widgets, for `remember_train_form`.
    """
    read_back = form_memory.read_back(root, TRAIN_FORM)
    for engine in engines:
        architecture = engine.settings_class.architecture
        layers = read_back.get(layers_key(engine))
        if architecture is None or layers is None:
            continue
        custom = {architecture.preset_setting: architecture.custom}
        try:
            # Layers the engine no longer accepts are not read back: the builder's own start.
            engine.settings_class.from_dict({**custom, architecture.layers_setting: layers})
        except (ValueError, TypeError, KeyError):
            continue
        set_layers(engine, layers)
    return keep_form_state(engines, defaults, read_back)


def remember_train_form(engines: list[Engine], keys: list[str], root: Path) -> None:
    """Keep the Train form's values now shown (``keys``'s and custom layers) for this browser."""
    values = {key: st.session_state[key] for key in keys if key in st.session_state}
    for engine in engines:
        if (layers := layers_held(engine)) is not None:
            values[layers_key(engine)] = layers
    form_memory.keep(root, TRAIN_FORM, values)
