"""The custom-layer builder: one row per layer with every field visible, and buttons to add,
remove and reorder layers, in the manner of TensorFlow Playground's +/- buttons."""

from __future__ import annotations

import itertools

import streamlit as st

from mnist_lab.engines.keras_net.models import (
    ACTIVATIONS,
    LAYER_FIELDS,
    MAX_FILTERS,
    MAX_KERNEL,
    MAX_POOL,
    MAX_ROTATION_DEGREES,
    MAX_SHIFT_FRACTION,
    MAX_UNITS,
    PADDINGS,
)

STATE_KEY = "train_keras_custom_layers"
# A starting point that shows the common layer types in use: a small CNN.
STARTER_LAYERS = (
    {"type": "Conv2D", "filters": 16, "kernel": 3, "activation": "relu", "padding": "valid"},
    {"type": "MaxPool", "size": 2},
    {"type": "Dense", "units": 64, "activation": "relu"},
    {"type": "Dropout", "rate": 0.2},
)
# What a field takes when a layer gets a type that needs it (LAYER_FIELDS' None = required).
FIELD_DEFAULTS = {"units": 64, "filters": 16, "rate": 0.2}
# field -> (widget, its arguments); numbers are bounded as models.validate_layers bounds them.
FIELD_WIDGETS = {
    "units": ("number", {"min_value": 1, "max_value": MAX_UNITS, "step": 1}),
    "filters": ("number", {"min_value": 1, "max_value": MAX_FILTERS, "step": 1}),
    "kernel": ("number", {"min_value": 1, "max_value": MAX_KERNEL, "step": 1}),
    "size": ("number", {"min_value": 2, "max_value": MAX_POOL, "step": 1}),
    "rate": ("number", {"min_value": 0.0, "max_value": 0.95, "step": 0.05}),
    "fraction": ("number", {"min_value": 0.01, "max_value": MAX_SHIFT_FRACTION, "step": 0.01}),
    "degrees": ("number", {"min_value": 1, "max_value": MAX_ROTATION_DEGREES, "step": 1}),
    "activation": ("choice", {"options": ACTIVATIONS}),
    "padding": ("choice", {"options": PADDINGS}),
}
_ids = itertools.count()


def _new_row(layer: dict) -> dict:
    """A builder row: the layer and a stable id, so its widgets follow it when rows move."""
    return {"id": next(_ids), "layer": dict(layer)}


def _rows() -> list[dict]:
    return st.session_state.setdefault(STATE_KEY, [_new_row(layer) for layer in STARTER_LAYERS])


def _move(index: int, step: int) -> None:
    rows = _rows()
    other = index + step
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]


def _remove(index: int) -> None:
    _rows().pop(index)


def _add() -> None:
    _rows().append(_new_row({"type": "Dense", "units": 64, "activation": "relu"}))


def _field_widget(field: str, key: str, where, default) -> object:
    kind, arguments = FIELD_WIDGETS[field]
    st.session_state.setdefault(key, default)
    if kind == "choice":
        return where.selectbox(field, key=key, **arguments)
    return where.number_input(field, key=key, **arguments)


def layer_builder() -> list[dict]:
    """Draw the builder and return the hidden layers it holds, first to last.

    Returns
    -------
    list of dict
        Layer specs for `mnist_lab.engines.keras_net.models.validate_layers`.
    """
    rows = _rows()
    widest = max(len(fields) for fields in LAYER_FIELDS.values())
    for index, row in enumerate(rows):
        cells = st.columns([2] + [1.4] * widest + [0.5, 0.5, 0.5], vertical_alignment="bottom")
        prefix = f"{STATE_KEY}_{row['id']}"
        st.session_state.setdefault(f"{prefix}_type", row["layer"]["type"])
        kind = cells[0].selectbox(f"layer {index + 1}", list(LAYER_FIELDS), key=f"{prefix}_type")
        layer = {"type": kind}
        for position, (field, default) in enumerate(LAYER_FIELDS[kind].items()):
            start = row["layer"].get(field, FIELD_DEFAULTS.get(field, default))
            value = _field_widget(field, f"{prefix}_{field}", cells[1 + position], start)
            layer[field] = value
        row["layer"] = layer
        # Move up, move down, remove: one small icon button each, at the row's end.
        actions = (
            ("up", ":material/arrow_upward:", "Move up", _move, (index, -1), index == 0),
            (
                "down",
                ":material/arrow_downward:",
                "Move down",
                _move,
                (index, 1),
                index == len(rows) - 1,
            ),
            ("remove", ":material/close:", "Remove this layer", _remove, (index,), False),
        )
        for cell, (name, icon, tip, action, arguments, disabled) in zip(
            cells[-3:], actions, strict=True
        ):
            cell.button(
                "",
                key=f"{prefix}_{name}",
                icon=icon,
                help=tip,
                on_click=action,
                args=arguments,
                disabled=disabled,
            )
    st.button("Add a layer", key=f"{STATE_KEY}_add", icon=":material/add:", on_click=_add)
    return [dict(row["layer"]) for row in rows]
