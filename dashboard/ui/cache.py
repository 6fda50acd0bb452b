"""The dataset and derived results, cached once per server for every session."""

from __future__ import annotations

import streamlit as st

from mnist_lab.data import MnistDataset, load_mnist


@st.cache_resource(show_spinner="Loading MNIST...")
def get_dataset() -> MnistDataset:
    """Return the embedded MNIST, loaded once and shared read-only by all sessions."""
    return load_mnist()
