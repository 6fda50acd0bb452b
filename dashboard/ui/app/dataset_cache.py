"""The datasets and derived results, cached once per server for every session."""

from __future__ import annotations

import contextlib
import gc
import threading

import numpy as np
import pandas as pd
import streamlit as st

from mnist_lab import evaluation as ev
from mnist_lab import stats
from mnist_lab.data import EMBEDDED_NAME, MnistDataset, load_mnist
from mnist_lab.datasets import DatasetStore, stored_sha256
from mnist_lab.engines import engine_of
from mnist_lab.execution.dispatcher import current_queue
from mnist_lab.execution.fair_queue import QueuePlace
from mnist_lab.runs import EVALUATION_FILE, METRICS_FILE, Run, RunStore, file_version


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


@st.cache_data(max_entries=8, show_spinner=False)
def cached_predictions(run_dir: str, mtime: float) -> tuple[np.ndarray, np.ndarray]:
    """A run's test predictions, ``(y_true, probabilities)``, cached.

    Parameters
    ----------
    run_dir : str
        The run's directory.
    mtime : float
        The predictions file's modification time: only the cache key, so a rewrite reloads.

    Returns
    -------
    tuple of numpy.ndarray
        As :func:`mnist_lab.evaluation.load_predictions` returns them.
    """
    return ev.load_predictions(Run(run_dir))


# Without a spinner, so that the statistics it computes inside run nested, with none either.
@st.cache_resource(show_spinner=False)
def _warmed_statistics() -> bool:
    """Compute what first visits need (statistics, Keras, the newest model), once per server."""
    dataset = get_dataset()
    cached_class_counts(dataset, dataset.sha256)
    for split in ("train", "test"):
        cached_pixel_summary(dataset, dataset.sha256, split)
    cached_value_counts(dataset, dataset.sha256, "train")
    cached_pixel_statistics(dataset, dataset.sha256, "train")
    # Keras (TensorFlow) takes seconds of CPU to import: Evaluate's first visitors should not
    # each wait for it while thirty sessions open the page at once.
    import keras  # noqa: F401
    import scipy.ndimage  # noqa: F401  (Evaluate's robustness checks transform digits with it)

    # Evaluate opens on the newest finished run: its model is loaded before a class asks.
    newest = next(
        (run for run in RunStore().list() if run.status()["state"] in ("finished", "stopped")),
        None,
    )
    if newest is not None:
        # A damaged model is reported by the page that opens it.
        with contextlib.suppress(ValueError, OSError):
            # One prediction builds the model's predict function (TensorFlow traces it once).
            engine_of(newest).predict_proba(newest, dataset.x_test[0], model=model_of(newest))
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


# Every queued student's live panel asks each second: read the queue once for all of them.
@st.cache_resource(ttl=2, show_spinner=False)
def cached_queue(runs_root: str) -> list[QueuePlace]:
    """`dispatcher.current_queue` of the runs in ``runs_root``, at most two seconds old."""
    return current_queue(RunStore(runs_root))


# Enough for every run of a class: each entry is two numbers.
@st.cache_data(max_entries=2000, show_spinner=False)
def cached_scores(run_dir: str, mtime: float) -> dict:
    """A run's test accuracy and loss from its ``evaluation.json``, read once for all sessions.

    Parameters
    ----------
    run_dir : str
        The run's directory.
    mtime : float
        The evaluation file's modification time: only the cache key, so a rewrite rereads.

    Returns
    -------
    dict
        ``test_accuracy`` and ``test_loss``; empty when the run has no evaluation.

    Raises
    ------
    DamagedRunError
        If the file is malformed (not cached: it is read again on the next call).
    """
    evaluation = Run(run_dir).evaluation() or {}
    return {key: evaluation[key] for key in ("test_accuracy", "test_loss") if key in evaluation}


def scores_of(run: Run) -> dict:
    """`cached_scores` of ``run``, keyed by its evaluation file's modification time."""
    try:
        mtime = run.file(EVALUATION_FILE).stat().st_mtime
    except FileNotFoundError:
        return {}
    return cached_scores(str(run.path), mtime)


# A live run's records change every second: a few versions of a few runs are plenty.
@st.cache_resource(max_entries=16, show_spinner=False)
def _cached_metrics(run_dir: str, version: tuple[int, ...] | None) -> list[dict]:
    return Run(run_dir).metrics()


def metrics_version(run: Run) -> tuple[int, ...] | None:
    """The `file_version` of the run's ``metrics.jsonl``: None before it has one."""
    return file_version(run.file(METRICS_FILE))


def metrics_of(run: Run, version: tuple[int, ...] | None = None) -> list[dict]:
    """The run's records (`Run.metrics`), parsed once per version for every session.

    Parameters
    ----------
    run : Run
    version : tuple of int, optional
        Its `metrics_version`, if the caller already has it (read here when omitted).

    Returns
    -------
    list of dict
        Shared by every caller: do not modify.
    """
    return _cached_metrics(str(run.path), version or metrics_version(run))


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def _loaded_model(run_path: str, saved_at: float):
    """One loaded model per run and save time, shared by every rerun and session."""
    run = Run(run_path)
    return engine_of(run).load_model(run)


def model_of(run: Run):
    """The run's loaded model (cached), or None if it has none or needs no loading.

    Engines whose models are costly to load (Keras: TensorFlow) return one from
    ``load_model``; the others read their small weights on every call. The cache key holds
    the model file's modification time, so a run that saves a newer checkpoint or its
    final model is loaded afresh.
    """
    model_file = engine_of(run).model_file(run)
    if model_file is None:
        return None
    return _loaded_model(str(run.path), model_file.stat().st_mtime)
