"""The engine registry: one name per engine, one place that maps a name to its engine.

Adding an engine is one module under ``mnist_lab/engines/`` (a subclass of
`mnist_lab.engines.base.Engine` and its `mnist_lab.settings.Settings`) and one entry in
`ENGINES`. Engines are imported on first use, so listing them never loads TensorFlow.
"""

from __future__ import annotations

import importlib

from mnist_lab.data import EMBEDDED_SHA256, N_CLASSES
from mnist_lab.datasets import recorded_dataset
from mnist_lab.engines.base import Engine, LayerOutput
from mnist_lab.runs import Run, RunStore
from mnist_lab.settings import Settings

# name -> module holding the engine's one instance as ``ENGINE``; the Train page's order.
ENGINES = {
    "keras": "mnist_lab.engines.keras_net",
    "numpy": "mnist_lab.engines.numpy_net",
    "sklearn": "mnist_lab.engines.logreg",
    "svm": "mnist_lab.engines.svm",
    "knn": "mnist_lab.engines.knn",
    "trees": "mnist_lab.engines.trees",
}
DEFAULT_ENGINE = "keras"
# Engines of runs trained outside the lab: every page opens their runs, nothing launches them.
OUTSIDE_ENGINES = {"external": "mnist_lab.engines.external"}

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "OUTSIDE_ENGINES",
    "Engine",
    "LayerOutput",
    "all_engines",
    "engine_of",
    "find_baseline",
    "get_engine",
    "network_parameters",
    "one_click_settings",
]


def get_engine(name: str) -> Engine:
    """The engine registered as ``name`` (in `ENGINES` or `OUTSIDE_ENGINES`).

    Raises
    ------
    ValueError
        If no engine has that name.

    Examples
    --------
    >>> get_engine("numpy").title
    'NumPy from scratch'
    """
    modules = {**ENGINES, **OUTSIDE_ENGINES}
    if not isinstance(name, str) or name not in modules:
        raise ValueError(f"unknown engine {name!r}; choose one of {list(ENGINES)}")
    return importlib.import_module(modules[name]).ENGINE


def all_engines() -> list[Engine]:
    """Every engine the lab trains with, in the registry's order."""
    return [get_engine(name) for name in ENGINES]


def one_click_settings() -> Settings | None:
    """The settings of the good, quick model that one click trains (see `Engine.one_click`).

    Their engine's recipe for them filled in; None when no engine offers one.

    Examples
    --------
    >>> one_click_settings().preset
    'fast-cnn'
    """
    for engine in all_engines():
        if engine.one_click is not None:
            chosen = dict(engine.one_click)
            return engine.settings_class(**engine.settings_class.recommended(chosen), **chosen)
    return None


def engine_of(run: Run) -> Engine:
    """The engine that trained ``run``, from its ``config.json``.

    Raises
    ------
    DamagedRunError
        If the config is unreadable.
    ValueError
        If it names no registered engine.
    """
    return get_engine(run.config().get("engine"))


def find_baseline(store: RunStore, sha256: str = EMBEDDED_SHA256) -> Run | None:
    """The newest finished baseline run with a readable evaluation, preferring full-data fits.

    It is the reference every network is measured against on the Evaluate and Compare pages.

    Parameters
    ----------
    store : RunStore
    sha256 : str, default the embedded MNIST's
        The dataset the baseline must have been trained on (see `recorded_dataset`).
    """
    subset_fit = None
    for run in store.list():
        try:
            config = run.config()
            candidate = (
                recorded_dataset(config)["sha256"] == sha256
                and get_engine(config.get("engine")).is_baseline
                and run.status()["state"] == "finished"
            )
            full_data = config.get("subset") is None
            # Evaluations are large: read only those of runs that could be the answer.
            if not candidate or (not full_data and subset_fit is not None):
                continue
            if run.evaluation() is None:
                continue
        except ValueError:
            # Damaged (DamagedRunError is a ValueError) or trained by an unknown engine.
            continue
        if full_data:
            return run
        subset_fit = run
    # Newest first (`store.list()`): the newest full-data fit, else the newest on a subset.
    return subset_fit


def network_parameters(config: dict) -> int | None:
    """Trainable numbers of the network ``config`` trains; None for an engine without layers.

    Examples
    --------
    >>> network_parameters({"engine": "keras", "preset": "softmax"})
    7850
    >>> network_parameters({"engine": "knn"}) is None
    True
    """
    try:
        architecture = get_engine(config.get("engine")).settings_class.architecture
        if architecture is None:
            return None
        rows = architecture.summarize(architecture.layers_of(config), N_CLASSES)
    except ValueError:
        return None
    return int(sum(row["params"] for row in rows))
