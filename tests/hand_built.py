"""Runs with known, hand-made weights: the explanation tests need exact answers, not training."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from mnist_lab.engines.keras_net.files import MODEL_FILE
from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.engines.logreg import fit
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.engines.numpy_net import network
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.preprocess import fit_normalizer, save_normalizer
from mnist_lab.runs import Run, RunStore


def linear_run(
    store: RunStore,
    coef: np.ndarray,
    intercept: np.ndarray | None = None,
    normalization: str = "scale",
    x_fit: np.ndarray | None = None,
) -> Run:
    """A finished baseline run whose logits are exactly ``coef @ normalized(x) + intercept``."""
    run = store.create(LogregSettings(normalization=normalization).to_dict(), name="linear")
    model = SimpleNamespace(
        coef_=np.asarray(coef, np.float32).reshape(10, 784),
        intercept_=np.zeros(10) if intercept is None else np.asarray(intercept),
    )
    fit.save_weights(run, model)
    _finish(run, normalization, x_fit)
    return run


def numpy_net_run(
    store: RunStore, hidden_units: int = 6, seed: int = 0, normalization: str = "scale"
) -> Run:
    """A finished NumPy-network run with its random initial weights."""
    run = store.create(NumpyNetSettings(hidden_units=hidden_units).to_dict(), name="numpy")
    network.save_weights(run, network.init_weights(hidden_units, seed))
    _finish(run, normalization, None)
    return run


def keras_run(store: RunStore, layers: list[dict], seed: int = 0) -> tuple[Run, object]:
    """A finished Keras run with the untrained model of ``layers``, saved; and the model."""
    import keras

    from mnist_lab.engines.keras_common import save_model_atomically
    from mnist_lab.engines.keras_net.models import build_model

    run = store.create(KerasSettings(preset="custom", layers=layers).to_dict(), name="keras")
    keras.utils.set_random_seed(seed)
    model = build_model(layers)
    save_model_atomically(model, run.file(MODEL_FILE))
    _finish(run, "standardize", None)
    return run, model


def _finish(run: Run, normalization: str, x_fit: np.ndarray | None) -> None:
    """Save the normalizer (fitted on ``x_fit`` or a fixed random set) and mark it finished."""
    if x_fit is None:
        x_fit = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    save_normalizer(run, fit_normalizer(normalization, x_fit))
    run.update_status(state="finished", message="Built by hand.")
