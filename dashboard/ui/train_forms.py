"""The Train page's settings: one form per engine, each returning a validated config dict.

Each ``*_form`` draws its widgets and returns the run's config when Launch was pressed (and
the settings are valid), else None. Bad settings are shown as an error, never a traceback.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_lab.baseline import BaselineConfig
from mnist_lab.config import CUSTOM, LR_SCHEDULES, OPTIMIZERS, TrainConfig
from mnist_lab.models import ACTIVATIONS, LAYER_FIELDS, PRESETS, preset_layers, summarize_model
from mnist_lab.preprocess import NORMALIZATIONS
from mnist_lab.scratch import ScratchConfig

LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
BASELINE_C = (1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0)
# Includes the benchmarked default (3e-4): a slider value must be one of its options.
BASELINE_TOLERANCES = (1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 1e-2)
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


def _launch_config(make_config) -> dict | None:
    """Build and validate a config; show the ValueError in the page instead of a traceback."""
    try:
        return make_config()
    except (ValueError, TypeError) as error:
        st.error(f"Cannot launch: {error}")
        return None


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


def architecture_picker() -> tuple[str, list[dict] | None]:
    """Preset or custom architecture, with its description, layer table and parameter count.

    Lives outside the form so the summary follows the choice at once.

    Returns
    -------
    preset : str
    layers : list of dict or None
        The custom layers when ``preset == "custom"``.
    """
    names = [*PRESETS, CUSTOM]
    preset = st.selectbox(
        "Architecture",
        names,
        index=names.index("mlp-relu"),
        format_func=lambda name: PRESETS[name]["title"] if name in PRESETS else "Custom layers",
        key="train_preset",
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
        return preset, layers
    total = sum(row["params"] for row in summary)
    with st.expander(f"{total:,} parameters · {len(summary)} layers", expanded=preset == CUSTOM):
        table = pd.DataFrame(summary)
        table["output_shape"] = table["output_shape"].map(lambda shape: " × ".join(map(str, shape)))
        st.dataframe(table, hide_index=True)
    return preset, layers


def keras_form(preset: str, layers: list[dict] | None, disabled: bool) -> dict | None:
    """Hyperparameters of a Keras run; the config dict once Launch is pressed."""
    with st.form("train_keras_form"):
        left, middle, right = st.columns(3)
        optimizer = left.selectbox("Optimizer", OPTIMIZERS, index=1, key="train_optimizer")
        learning_rate = left.select_slider(
            "Learning rate (log scale)",
            LEARNING_RATES,
            value=1e-3,
            key="train_lr",
            format_func=lambda value: f"{value:g}",
        )
        momentum = left.slider(
            "SGD momentum",
            0.0,
            0.99,
            0.0,
            0.01,
            key="train_momentum",
            help="Only used by SGD.",
        )
        nesterov = left.checkbox("Nesterov momentum (SGD)", key="train_nesterov")
        normalization = middle.selectbox(
            "Input normalization",
            list(NORMALIZATIONS),
            index=1,
            key="train_normalization",
            format_func=lambda name: f"{name}: {NORMALIZATIONS[name]}",
        )
        batch_size = middle.select_slider("Batch size", BATCH_SIZES, value=32, key="train_batch")
        epochs = middle.number_input("Epochs", 1, 500, 5, key="train_epochs")
        schedule = middle.selectbox("Learning-rate schedule", LR_SCHEDULES, key="train_schedule")
        val_split = right.slider("Validation share", 0.0, 0.5, 0.1, 0.05, key="train_val_split")
        subset = right.number_input(
            "Training subset (0 = all 60,000)", 0, 60_000, 0, 1000, key="train_subset"
        )
        seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed")
        patience = right.number_input(
            "Early stopping patience (0 = off)", 0, 100, 0, key="train_patience"
        )
        name = st.text_input("Run name (optional)", max_chars=80, key="train_name")
        launched = st.form_submit_button(
            "Launch training", type="primary", disabled=disabled, icon=":material/rocket_launch:"
        )
    if not launched:
        return None
    return _launch_config(
        lambda: dict(
            TrainConfig(
                preset=preset,
                layers=layers,
                optimizer=optimizer,
                learning_rate=float(learning_rate),
                momentum=float(momentum) if optimizer == "sgd" else 0.0,
                nesterov=bool(nesterov and optimizer == "sgd" and momentum > 0),
                lr_schedule=schedule,
                batch_size=int(batch_size),
                epochs=int(epochs),
                val_split=float(val_split),
                normalization=normalization,
                seed=int(seed),
                subset=int(subset) or None,
                early_stopping_patience=int(patience) or None,
            ).to_dict(),
            **_name(name),
        )
    )


def scratch_form(disabled: bool) -> dict | None:
    """Settings of the from-scratch NumPy network (784 -> hidden sigmoid -> 10 softmax)."""
    st.caption(
        "The network of the classic exercise, written with NumPy only: forward pass, "
        "hand-derived gradients and mini-batch SGD (see mnist_lab/scratch.py)."
    )
    with st.form("train_numpy_form"):
        left, right = st.columns(2)
        epochs = left.number_input("Epochs", 1, 100, 5, key="train_numpy_epochs")
        learning_rate = left.select_slider(
            "Learning rate",
            LEARNING_RATES,
            value=0.3,
            key="train_numpy_lr",
            format_func=lambda value: f"{value:g}",
        )
        batch_size = left.select_slider(
            "Batch size", BATCH_SIZES, value=32, key="train_numpy_batch"
        )
        hidden = right.number_input("Hidden sigmoid units", 1, 512, 20, key="train_numpy_hidden")
        normalization = right.selectbox(
            "Input normalization", list(NORMALIZATIONS), index=1, key="train_numpy_normalization"
        )
        subset = right.number_input(
            "Training subset (0 = all)", 0, 60_000, 0, 1000, key="train_numpy_subset"
        )
        seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="train_numpy_seed")
        name = st.text_input("Run name (optional)", max_chars=80, key="train_numpy_name")
        launched = st.form_submit_button(
            "Launch NumPy training",
            type="primary",
            disabled=disabled,
            icon=":material/rocket_launch:",
        )
    if not launched:
        return None
    return _launch_config(
        lambda: dict(
            ScratchConfig(
                epochs=int(epochs),
                learning_rate=float(learning_rate),
                batch_size=int(batch_size),
                hidden_units=int(hidden),
                normalization=normalization,
                seed=int(seed),
                subset=int(subset) or None,
            ).to_dict(),
            **_name(name),
        )
    )


def baseline_form(disabled: bool) -> dict | None:
    """Settings of the scikit-learn logistic-regression baseline."""
    st.caption(
        "Multinomial logistic regression fitted with L-BFGS: the yardstick every network "
        "must beat. The same settings twice are answered from the stored run at once."
    )
    defaults = BaselineConfig()
    with st.form("train_baseline_form"):
        left, right = st.columns(2)
        regularization = left.select_slider(
            "C (inverse regularization)",
            BASELINE_C,
            value=defaults.C,
            key="train_baseline_c",
            format_func=lambda value: f"{value:g}",
        )
        max_iter = left.number_input(
            "Max iterations", 1, 10_000, defaults.max_iter, key="train_baseline_max_iter"
        )
        tol = left.select_slider(
            "Tolerance",
            BASELINE_TOLERANCES,
            value=defaults.tol,
            key="train_baseline_tol",
            format_func=lambda value: f"{value:g}",
        )
        normalization = right.selectbox(
            "Input normalization",
            list(NORMALIZATIONS),
            index=list(NORMALIZATIONS).index(defaults.normalization),
            key="train_baseline_normalization",
        )
        subset = right.number_input(
            "Training subset (0 = all)", 0, 60_000, 0, 1000, key="train_baseline_subset"
        )
        launched = st.form_submit_button(
            "Fit baseline", type="primary", disabled=disabled, icon=":material/rocket_launch:"
        )
    if not launched:
        return None
    return _launch_config(
        lambda: (
            BaselineConfig(
                C=float(regularization),
                max_iter=int(max_iter),
                tol=float(tol),
                normalization=normalization,
                subset=int(subset) or None,
            )
            .validate()
            .to_dict()
        )
    )


def _name(text: str) -> dict:
    """``{"name": text}`` for a non-empty run name, else nothing (the id is shown then)."""
    return {"name": text.strip()} if text and text.strip() else {}
