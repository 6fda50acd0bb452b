"""The server's warm-up: what first visits need, computed in the background once per server."""

from __future__ import annotations

import contextlib
import gc
import threading

import streamlit as st

from dashboard.ui.app.dataset_cache import (
    cached_class_counts,
    cached_pixel_statistics,
    cached_pixel_summary,
    cached_value_counts,
    get_dataset,
)
from dashboard.ui.app.run_cache import model_of
from mnist_lab.engines import all_engines, engine_of
from mnist_lab.explain.saliency import available_methods, saliency
from mnist_lab.runs import RunStore


# Without a spinner, so that the statistics it computes inside run nested, with none either.
@st.cache_resource(show_spinner=False)
def _warmed_statistics() -> bool:
    """What first visits need (statistics, engines, the newest model and its explanation), once."""
    dataset = get_dataset()
    cached_class_counts(dataset, dataset.sha256)
    for split in ("train", "test"):
        cached_pixel_summary(dataset, dataset.sha256, split)
    cached_value_counts(dataset, dataset.sha256, "train")
    cached_pixel_statistics(dataset, dataset.sha256, "train")
    # A framework (TensorFlow) takes seconds of CPU to import: Evaluate's first visitors should
    # not each wait for it while thirty sessions open the page at once.
    for engine in all_engines():
        engine.warm_up()
    import scipy.ndimage  # noqa: F401  (Evaluate's robustness checks transform digits with it)
    import sklearn.calibration  # noqa: F401  (Evaluate's calibration: a tenth of a second)

    # Evaluate opens on the newest finished run: its model is loaded before a class asks.
    newest = next(
        (run for run in RunStore().list() if run.status()["state"] in ("finished", "stopped")),
        None,
    )
    if newest is not None:
        # A damaged model is reported by the page that opens it.
        with contextlib.suppress(ValueError, OSError):
            # One prediction builds the model's predict function (TensorFlow traces it once).
            engine, model = engine_of(newest), model_of(newest)
            engine.predict_proba(newest, dataset.x_test[0], model=model)
            # Evaluate explains a digit as it opens: the first gradient sets TensorFlow's
            # kernels up, seconds of CPU a class opening the page should not share. Only a
            # head start: whatever fails here, the page itself reports.
            with contextlib.suppress(Exception):
                saliency(newest, dataset.x_test[0], 0, available_methods(engine)[0], model=model)
    # TensorFlow brings some 350,000 objects that live as long as the server: out of the
    # collector's sight, each collection no longer rescans them (0.2 s per full one).
    gc.freeze()
    return True


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Start computing the first visits' statistics in the background, once per server.

    Called by the frame on every run; only the first starts the thread, so the server's
    first visitor does not wait for it and the next ones find the results cached.
    """
    thread = threading.Thread(target=_warmed_statistics, name="mnist-lab-warm-up", daemon=True)
    thread.start()
    return thread
