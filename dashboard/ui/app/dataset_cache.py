"""The datasets and their derived statistics, cached once per server for every session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mnist_lab import stats
from mnist_lab.data import EMBEDDED_NAME, MnistDataset, load_mnist
from mnist_lab.datasets import DatasetStore, stored_sha256
from mnist_lab.runs import Run, RunStore


@st.cache_resource(show_spinner="Loading MNIST...")
def get_dataset() -> MnistDataset:
    """Return the embedded MNIST, loaded once and shared read-only by all sessions."""
    return load_mnist()


# A few users' datasets at once: each is at most a few times MNIST's size.
@st.cache_resource(max_entries=4, show_spinner="Loading the dataset...")
def _stored_dataset(runs_root: str, sha256: str) -> MnistDataset:
    """A stored dataset, loaded once and shared read-only by all sessions."""
    return DatasetStore(runs_root).get(sha256)


def dataset_named(name: str) -> MnistDataset:
    """The dataset called ``name``: MNIST or one stored beside the runs (cached).

    Raises
    ------
    ValueError
        If there is none of that name, or it is damaged.
    """
    if name == EMBEDDED_NAME:
        return get_dataset()
    root = RunStore().root
    return _stored_dataset(str(root), DatasetStore(root).by_name(name).sha256)


def run_dataset(run: Run) -> MnistDataset:
    """The dataset ``run`` trained on (cached): `mnist_lab.datasets.dataset_of` for pages.

    Raises
    ------
    DamagedRunError
        If the run's config is unreadable or its dataset is no longer stored or damaged.
    """
    sha256 = stored_sha256(run)
    return get_dataset() if sha256 is None else _stored_dataset(str(run.path.parent), sha256)


def split_arrays(dataset: MnistDataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of one split.

    Parameters
    ----------
    dataset : MnistDataset
    split : {"train", "test"}

    Returns
    -------
    tuple of numpy.ndarray
        ``(images, labels)``, the dataset's own read-only arrays.
    """
    return (
        (dataset.x_train, dataset.y_train) if split == "train" else (dataset.x_test, dataset.y_test)
    )


# In the caches below, the leading underscore keeps st.cache_data from hashing 47 MB of pixels;
# the dataset's sha256 keys the cache instead.
@st.cache_data(show_spinner=False)
def cached_class_counts(_dataset: MnistDataset, sha256: str) -> pd.DataFrame:
    """Images per digit in both splits: :func:`mnist_lab.stats.class_counts`, cached.

    Parameters
    ----------
    _dataset : MnistDataset
    sha256 : str
        The dataset's checksum, the cache key.

    Returns
    -------
    pandas.DataFrame
    """
    return stats.class_counts(
        {"train": _dataset.y_train, "test": _dataset.y_test}, n_classes=_dataset.n_classes
    )


@st.cache_data(show_spinner="Counting pixel values...")
def cached_value_counts(_dataset: MnistDataset, sha256: str, split: str) -> np.ndarray:
    """How often each pixel value occurs per digit in ``split``, cached.

    Parameters
    ----------
    _dataset : MnistDataset
    sha256 : str
        The dataset's checksum, the cache key.
    split : {"train", "test"}

    Returns
    -------
    numpy.ndarray
        The counts of :func:`mnist_lab.stats.pixel_value_counts`.
    """
    return stats.pixel_value_counts(*split_arrays(_dataset, split), n_classes=_dataset.n_classes)


@st.cache_data(show_spinner="Computing pixel statistics...")
def cached_pixel_summary(
    _dataset: MnistDataset, sha256: str, split: str
) -> tuple[pd.DataFrame, float, pd.DataFrame]:
    """Standardization constants, always-zero share and ink per digit of ``split``, cached.

    Parameters
    ----------
    _dataset : MnistDataset
    sha256 : str
        The dataset's checksum, the cache key.
    split : {"train", "test"}

    Returns
    -------
    tuple
        ``(constants, zero_share, ink)`` from :func:`mnist_lab.stats.standardization_constants`,
        :func:`~mnist_lab.stats.always_zero_share` and :func:`~mnist_lab.stats.average_ink`.
    """
    images, labels = split_arrays(_dataset, split)
    constants = stats.standardization_constants(images)
    ink = stats.average_ink(images, labels, n_classes=_dataset.n_classes)
    return constants, stats.always_zero_share(images), ink


@st.cache_data(show_spinner="Averaging the digits...")
def cached_pixel_statistics(
    _dataset: MnistDataset, sha256: str, split: str
) -> tuple[stats.PixelStatistics, list[stats.PixelStatistics]]:
    """Per-pixel mean, variance and std of ``split``, overall and per digit, cached.

    Parameters
    ----------
    _dataset : MnistDataset
    sha256 : str
        The dataset's checksum, the cache key.
    split : {"train", "test"}

    Returns
    -------
    tuple
        ``(overall, by_class)``: one `PixelStatistics`, and one per digit.
    """
    images, labels = split_arrays(_dataset, split)
    by_class = stats.pixel_statistics_by_class(images, labels, n_classes=_dataset.n_classes)
    return stats.pixel_statistics(images), by_class


@st.cache_data(show_spinner="Projecting the digits to 2-D...")
def cached_projection(
    _dataset: MnistDataset, sha256: str, split: str, method: str, n_samples: int
) -> pd.DataFrame:
    """A random sample of ``split`` projected to 2-D, cached.

    Parameters
    ----------
    _dataset : MnistDataset
    sha256 : str
        The dataset's checksum, the cache key.
    split : {"train", "test"}
    method : str
        One of :data:`mnist_lab.stats.PROJECTION_METHODS`.
    n_samples : int
        How many images to project.

    Returns
    -------
    pandas.DataFrame
        The table of :func:`mnist_lab.stats.project_2d`.
    """
    return stats.project_2d(*split_arrays(_dataset, split), method=method, n_samples=n_samples)
