"""The dataset and derived results, cached once per server for every session."""

from __future__ import annotations

import streamlit as st

from mnist_lab.data import MnistDataset, load_mnist
from mnist_lab.inspection import engine_of
from mnist_lab.runs import CHECKPOINT_FILE, MODEL_FILE, Run


@st.cache_resource(show_spinner="Loading MNIST...")
def get_dataset() -> MnistDataset:
    """Return the embedded MNIST, loaded once and shared read-only by all sessions."""
    return load_mnist()


@st.cache_resource(max_entries=4, show_spinner="Loading the Keras model...")
def _keras_model(run_path: str, saved_at: float):
    """One loaded model per run and save time, shared by every rerun and session."""
    from mnist_lab.training import load_trained_model  # TensorFlow only when a page needs it

    return load_trained_model(Run(run_path))


def keras_model_of(run: Run):
    """The run's Keras model (cached), or None for engines that need no TensorFlow.

    The cache key holds the saved file's modification time, so a run that saves a newer
    checkpoint or its final model is loaded afresh.
    """
    if engine_of(run) != "keras":
        return None
    saved = [run.file(name) for name in (MODEL_FILE, CHECKPOINT_FILE) if run.file(name).exists()]
    if not saved:
        return None
    return _keras_model(str(run.path), saved[0].stat().st_mtime)
