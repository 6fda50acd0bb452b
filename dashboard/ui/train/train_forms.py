"""The Train page's architecture picker for Keras networks: a preset or custom layers.

It lives outside the launch form (`dashboard.ui.train.settings_form`) so the layer table and the
parameter count follow every change at once.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.ui.data.datasets_view import dataset_picker, dataset_store
from dashboard.ui.train.layer_builder import layer_builder
from dashboard.ui.train.settings_form import fill_form, widget_key
from mnist_lab.engines import Engine, get_engine
from mnist_lab.engines.keras_net.models import (
    PRESETS,
    preset_layers,
    summarize_model,
)
from mnist_lab.engines.keras_net.settings import CUSTOM, KerasSettings


def architecture_picker(n_classes: int) -> dict:
    """Preset or custom architecture, with its description, layer table and parameter count.

    Parameters
    ----------
    n_classes : int
        The chosen dataset's number of classes: the size of the output layer.

    Returns
    -------
    dict
        ``preset`` and, for ``"custom"``, the ``layers``: the settings the launch form
        leaves to this picker.
    """
    engine = get_engine(KerasSettings.engine)
    key = widget_key(engine, "preset")
    preset = st.selectbox(
        "Architecture",
        [*PRESETS, CUSTOM],
        format_func=lambda name: PRESETS[name]["title"] if name in PRESETS else "Custom layers",
        key=key,
        # Picking a preset fills the form with its recipe; every value stays editable.
        on_change=lambda: fill_form(
            engine, KerasSettings.recommended({"preset": st.session_state[key]})
        ),
        help="Picking a preset fills the settings below with its recipe.",
    )
    layers = None
    if preset == CUSTOM:
        st.caption(
            "One row per hidden layer, first to last: change a layer's type and fields, move "
            "it up or down, remove it, or add one. A Flatten is added before the first Dense "
            "layer after image layers, and the softmax output (one unit per class) is always added."
        )
        layers = layer_builder()
    else:
        st.caption(PRESETS[preset]["description"])
    try:
        summary = summarize_model(
            layers if preset == CUSTOM else preset_layers(preset), n_classes=n_classes
        )
    except ValueError as error:
        st.error(f"This architecture is not valid yet: {error}")
        return {"preset": preset, "layers": layers}
    total = sum(row["params"] for row in summary)
    with st.expander(f"{total:,} parameters · {len(summary)} layers", expanded=preset == CUSTOM):
        table = pd.DataFrame(summary)
        table["output_shape"] = table["output_shape"].map(lambda shape: " × ".join(map(str, shape)))
        st.dataframe(table, hide_index=True)
    return {"preset": preset, "layers": layers}


def settings_chosen_outside_the_form(engine: Engine) -> dict:
    """The settings pickers above the launch form choose: the dataset, a Keras architecture."""
    chosen = {"dataset": dataset_picker("train_dataset")}
    if engine.settings_class is KerasSettings:
        chosen.update(architecture_picker(dataset_store().n_classes(chosen["dataset"])))
    return chosen
