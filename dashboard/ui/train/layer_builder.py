"""The custom-layer builder: one row per layer with every field visible, and buttons to add,
remove and reorder layers, in the manner of TensorFlow Playground's +/- buttons.

It edits any engine's `mnist_lab.architecture.Architecture`: the layer types, their fields
and the fields' ranges all come from the engine's declaration.
"""

from __future__ import annotations

import itertools

import streamlit as st

from dashboard.ui.train.settings_form import widget_key
from mnist_lab.architecture import Architecture, LayerField
from mnist_lab.engines import Engine

_ids = itertools.count()


def _new_row(layer: dict) -> dict:
    """A builder row: the layer and a stable id, so its widgets follow it when rows move."""
    return {"id": next(_ids), "layer": dict(layer)}


def layers_key(engine: Engine) -> str:
    """The session-state key of the builder's rows for ``engine``."""
    return widget_key(engine, "custom_layers")


def layers_held(engine: Engine) -> list[dict] | None:
    """The layers the builder holds for ``engine``, first to last; None before it is drawn."""
    rows = st.session_state.get(layers_key(engine))
    return None if rows is None else [dict(row["layer"]) for row in rows]


def set_layers(engine: Engine, layers: list[dict]) -> None:
    """Put ``layers`` (hidden layers, first to last) in the engine's builder, e.g. a run's."""
    st.session_state[layers_key(engine)] = [_new_row(layer) for layer in layers]


def _first_layer(architecture: Architecture) -> dict:
    """A new layer: the first layer type, each field at its first value."""
    kind, fields = next(iter(architecture.layer_types.items()))
    return {"type": kind, **{field.name: field.first_value for field in fields}}


def _rows(state_key: str, architecture: Architecture) -> list[dict]:
    starter = architecture.starter_layers
    return st.session_state.setdefault(state_key, [_new_row(layer) for layer in starter])


def _move(state_key: str, index: int, step: int) -> None:
    rows = st.session_state[state_key]
    other = index + step
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]


def _remove(state_key: str, index: int) -> None:
    st.session_state[state_key].pop(index)


def _add(state_key: str, architecture: Architecture) -> None:
    st.session_state[state_key].append(_new_row(_first_layer(architecture)))


def _field_widget(field: LayerField, key: str, where, value) -> object:
    st.session_state.setdefault(key, value)
    if field.choices is not None:
        return where.selectbox(field.name, options=field.choices, key=key)
    kind = int if field.whole else float
    return where.number_input(
        field.name,
        key=key,
        min_value=kind(field.low),
        max_value=kind(field.high),
        step=kind(field.step),
    )


def layer_builder(engine: Engine, architecture: Architecture) -> list[dict]:
    """Draw the builder and return the hidden layers it holds, first to last.

    Parameters
    ----------
    engine : Engine
        The engine whose settings declare ``architecture`` (its widgets' keys name it).
    architecture : Architecture

    Returns
    -------
    list of dict
        Layer specs, as ``architecture.summarize`` and the engine's settings take them.
    """
    state_key = layers_key(engine)
    rows = _rows(state_key, architecture)
    types = architecture.layer_types
    widest = max(len(fields) for fields in types.values())
    for index, row in enumerate(rows):
        cells = st.columns([2] + [1.4] * widest + [0.5, 0.5, 0.5], vertical_alignment="bottom")
        prefix = f"{state_key}_{row['id']}"
        st.session_state.setdefault(f"{prefix}_type", row["layer"]["type"])
        kind = cells[0].selectbox(f"layer {index + 1}", list(types), key=f"{prefix}_type")
        layer = {"type": kind}
        for position, field in enumerate(types[kind]):
            start = row["layer"].get(field.name, field.first_value)
            key = f"{prefix}_{field.name}"
            layer[field.name] = _field_widget(field, key, cells[1 + position], start)
        row["layer"] = layer
        # Move up, move down, remove: one small icon button each, at the row's end.
        actions = (
            ("up", ":material/arrow_upward:", "Move up", _move, (state_key, index, -1), index == 0),
            (
                "down",
                ":material/arrow_downward:",
                "Move down",
                _move,
                (state_key, index, 1),
                index == len(rows) - 1,
            ),
            ("remove", ":material/close:", "Remove this layer", _remove, (state_key, index), False),
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
    st.button(
        "Add a layer",
        key=f"{state_key}_add",
        icon=":material/add:",
        on_click=_add,
        args=(state_key, architecture),
    )
    return [dict(row["layer"]) for row in rows]
