"""The Train page's architecture picker for Keras networks: a preset or custom layers.

It lives outside the launch form (`dashboard.ui.settings_form`) so the layer table and the
parameter count follow every change at once.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.ui.settings_form import fill_form, widget_key
from mnist_lab.engines import Engine, get_engine
from mnist_lab.engines.keras_net.models import (
    ACTIVATIONS,
    LAYER_FIELDS,
    PRESETS,
    preset_layers,
    summarize_model,
)
from mnist_lab.engines.keras_net.settings import CUSTOM, KerasSettings

# A starting point for the custom editor: a small CNN that shows every column in use.
CUSTOM_STARTER = [
    {
        "type": "Conv2D",
        "units": None,
        "filters": 16,
        "kernel": 3,
        "activation": "relu",
        "rate": None,
    },
    {
        "type": "MaxPool",
        "units": None,
        "filters": None,
        "kernel": None,
        "activation": None,
        "rate": None,
    },
    {
        "type": "Dense",
        "units": 64,
        "filters": None,
        "kernel": None,
        "activation": "relu",
        "rate": None,
    },
    {
        "type": "Dropout",
        "units": None,
        "filters": None,
        "kernel": None,
        "activation": None,
        "rate": 0.2,
    },
]


def rows_to_layers(rows: pd.DataFrame) -> list[dict]:
    """Turn the custom editor's table into a layer spec, keeping only each type's fields."""
    layers = []
    for row in rows.to_dict("records"):
        layer_type = row.get("type")
        if not layer_type or pd.isna(layer_type):
            continue
        layer = {"type": layer_type}
        for field in LAYER_FIELDS.get(layer_type, {}):
            source = "kernel" if field == "size" else field
            value = row.get(source)
            if value is not None and not pd.isna(value):
                layer[field] = (
                    int(value) if field in ("units", "filters", "kernel", "size") else value
                )
        layers.append(layer)
    return layers


def architecture_picker() -> dict:
    """Preset or custom architecture, with its description, layer table and parameter count.

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
            "One row per hidden layer, first to last. Flatten is added before the first Dense "
            "after image layers, and the 10-way softmax output is always added. MaxPool uses "
            "the kernel column as its pool size."
        )
        edited = st.data_editor(
            pd.DataFrame(CUSTOM_STARTER),
            num_rows="dynamic",
            key="train_custom_layers",
            column_config={
                "type": st.column_config.SelectboxColumn("type", options=list(LAYER_FIELDS)),
                "activation": st.column_config.SelectboxColumn("activation", options=ACTIVATIONS),
                "units": st.column_config.NumberColumn("units", min_value=1, step=1),
                "filters": st.column_config.NumberColumn("filters", min_value=1, step=1),
                "kernel": st.column_config.NumberColumn("kernel", min_value=1, step=1),
                "rate": st.column_config.NumberColumn("rate", min_value=0.0, max_value=0.95),
            },
        )
        layers = rows_to_layers(edited)
    else:
        st.caption(PRESETS[preset]["description"])
    try:
        summary = summarize_model(layers if preset == CUSTOM else preset_layers(preset))
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
    """The settings a picker above the launch form chooses: a Keras network's architecture."""
    if engine.settings_class is KerasSettings:
        return architecture_picker()
    return {}
