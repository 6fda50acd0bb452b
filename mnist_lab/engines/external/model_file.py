"""Bringing a trained model file into the lab: checked in full, then a finished run.

The file is bounded in size, loaded with ``safe_mode=True`` (a ``Lambda`` layer or a custom
object is refused: the lab never runs code from a file), and checked like a notebook's
model (`model.describe`) before any run directory exists. A refusal is one `ValueError`
with a one-line message.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mnist_lab.data import ZIP_MAGIC
from mnist_lab.engines.external.intake import new_run, normalizer_for, save_and_evaluate
from mnist_lab.engines.keras_common import load_model_file
from mnist_lab.evaluation import evaluated_words
from mnist_lab.files import DamagedRunError, now_iso
from mnist_lab.runs import Run, RunStore

MAX_MODEL_BYTES = 64 * 2**20
# Keras reads both; an .h5 from older Keras goes through the same safe_mode checks.
SUFFIXES = (".keras", ".h5", ".hdf5")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Longest part of Keras's own error quoted in a refusal.
MAX_REASON_CHARS = 200


def first_line(text: str) -> str:
    """The first line of an error, cut to `MAX_REASON_CHARS`.

    Examples
    --------
    >>> first_line("bad file\\nTraceback...")
    'bad file'
    """
    line = (str(text).strip().splitlines() or [""])[0]
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 3] + "..."


def load_checked(path: str | Path) -> Any:
    """The model in ``path``, loaded safely once its name and size are acceptable.

    Raises
    ------
    ValueError
        If it is missing, has another suffix than `SUFFIXES`, is over `MAX_MODEL_BYTES`, or
        Keras cannot load it with ``safe_mode=True``.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{path.name} is not a Keras model file: give a {' or '.join(SUFFIXES)}")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ValueError(f"{path.name} cannot be read: {error.strerror}") from None
    if size > MAX_MODEL_BYTES:
        raise ValueError(
            f"{path.name} is {size / 2**20:.1f} MB, more than the lab's limit of "
            f"{MAX_MODEL_BYTES / 2**20:.0f} MB"
        )
    if not _has_signature(path):
        raise ValueError(f"{path.name} is not a model file: it is no {path.suffix} archive")
    try:
        return load_model_file(path)
    except DamagedRunError as error:
        raise ValueError(
            f"{first_line(error)} (the lab loads models with safe_mode=True: no Lambda layers "
            "or custom objects)"
        ) from None


def _has_signature(path: Path) -> bool:
    """Whether the file starts as its suffix says: a zip (``.keras``) or HDF5 (``.h5``)."""
    with open(path, "rb") as handle:
        start = handle.read(len(HDF5_SIGNATURE))
    return start.startswith(HDF5_SIGNATURE if path.suffix.lower() != ".keras" else ZIP_MAGIC)


def import_model(
    store: RunStore,
    path: str | Path,
    *,
    name: str,
    normalization: str = "scale",
    dataset: str = "MNIST",
    owner: str | None = None,
) -> Run:
    """Turn a saved model file into a finished run with its evaluation.

    Parameters
    ----------
    store : RunStore
    path : str or Path
        A ``.keras`` (or ``.h5``) file.
    name : str
        The run's name.
    normalization : str, default "scale"
        How 0-255 digits were scaled for this model (a lab normalization; ``standardize``
        and ``per-pixel`` are fitted on the dataset's training split).
    dataset : str, default "MNIST"
        The dataset whose test split judges it.
    owner : str, optional

    Returns
    -------
    Run

    Raises
    ------
    ValueError
        With a one-line reason; no run directory is left behind.
    """
    model = load_checked(path)
    try:
        run = new_run(
            store,
            model,
            name=name,
            owner=owner,
            dataset=dataset,
            normalizer=normalizer_for(store, normalization, dataset),
            source="file",
        )
    except ValueError as error:
        raise ValueError(f"{Path(path).name}: {error}") from None
    try:
        evaluation = save_and_evaluate(run, model)
        run.update_status(
            state="finished",
            started=now_iso(),
            ended=now_iso(),
            progress=1.0,
            message=f"Imported from {Path(path).name}, {evaluated_words(evaluation)}.",
        )
    except Exception as error:
        # A model that fails on the test digits must not leave a half-made run.
        shutil.rmtree(run.path, ignore_errors=True)
        raise ValueError(
            f"{Path(path).name} could not be evaluated on the test digits: {first_line(error)}"
        ) from None
    except BaseException:
        shutil.rmtree(run.path, ignore_errors=True)
        raise
    return run
