"""The record formats a training run writes while it trains, and their readers.

Every engine builds its records here and nowhere else, so the pages and the CLI read one
format whatever trained the run. ``metrics.jsonl`` holds one JSON object per line::

    {"kind": "batch", "epoch", "step", "window_steps", "loss", "accuracy", "lr",
     "samples_per_s", "time"}
    {"kind": "epoch", "epoch", "step", "fraction", "loss", "accuracy", "val_loss",
     "val_accuracy", "lr", "samples_per_s", "elapsed_s", "time"}
    {"kind": "chunk", "chunk", "iterations", "loss", "accuracy", "samples_per_s",
     "elapsed_s", "time"}
    {"kind": "gradients", "epoch", "step", "layers": [{"name", "grad_norm", "grad_rms",
     "activation_mean_abs"}]}
    {"kind": "histograms", "epoch", "layers": [{"name", "weights": {"counts", "edges"},
     "activations": {"counts", "edges"}}]}

``epoch`` is 1-based and ``step`` counts optimizer steps since training began. A batch
record's ``loss`` and ``accuracy`` are the means over its logging window: the
``window_steps`` optimizer steps since the previous batch record of the epoch (records
written before ``window_steps`` existed hold Keras's running mean since the epoch began).
An epoch record's ``fraction`` is the share of the epoch's steps that were trained: below 1
when a stop or a divergence cut the epoch short. Networks write ``epoch`` records; an
optimizer without epochs (the L-BFGS baseline) writes one ``chunk`` record per chunk of
iterations. Missing values are ``null``.

The progress fields of ``status.json`` (`progress_fields`) and ``history.csv``
(`history_csv`, Keras ``CSVLogger`` layout) are built here too. While a run trains,
`mnist_lab.reporter` writes the batch, epoch and chunk records and the progress of
every engine.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time as clock
from dataclasses import dataclass
from typing import Any

import numpy as np

from mnist_lab.files import json_default

VERSION = 1
METRICS_FILE = "metrics.jsonl"
# The most metrics.jsonl read: a long run's batch records take a few megabytes.
MAX_METRICS_BYTES = 64 * 2**20
HISTORY_FILE = "history.csv"
KINDS = ("batch", "epoch", "chunk", "gradients", "histograms")
HISTOGRAM_BINS = 30
# Bookkeeping keys of an epoch record that history.csv leaves out (it holds metrics only).
NOT_IN_HISTORY = frozenset(
    {"kind", "epoch", "step", "fraction", "time", "elapsed_s", "samples_per_s", "lr"}
)


def _number(value: Any) -> float | None:
    """A float for JSON, or None for a missing value."""
    return None if value is None else float(value)


def batch_record(
    *,
    epoch: int,
    step: int,
    window_steps: int,
    loss: float,
    accuracy: float,
    lr: float,
    samples_per_s: float,
    time: float | None = None,
) -> dict:
    """A ``batch`` record: the mean training loss and accuracy of the last logging window.

    Parameters
    ----------
    window_steps : int
        How many optimizer steps ``loss`` and ``accuracy`` average (those since the previous
        batch record of the same epoch).
    """
    return {
        "kind": "batch",
        "epoch": int(epoch),
        "step": int(step),
        "window_steps": int(window_steps),
        "loss": float(loss),
        "accuracy": float(accuracy),
        "lr": float(lr),
        "samples_per_s": float(samples_per_s),
        "time": clock.time() if time is None else time,
    }


def epoch_record(
    *,
    epoch: int,
    step: int,
    loss: float,
    accuracy: float,
    val_loss: float | None,
    val_accuracy: float | None,
    lr: float,
    samples_per_s: float,
    elapsed_s: float,
    fraction: float = 1.0,
    time: float | None = None,
) -> dict:
    """An ``epoch`` record: the epoch's training and validation metrics (None: no split).

    ``fraction`` is the share of the epoch's steps trained (below 1: cut short).

    Examples
    --------
    >>> record = epoch_record(epoch=1, step=10, loss=0.5, accuracy=0.9, val_loss=None,
    ...                       val_accuracy=None, lr=0.1, samples_per_s=100, elapsed_s=1, time=0)
    >>> record["kind"], record["val_loss"], record["fraction"]
    ('epoch', None, 1.0)
    """
    return {
        "kind": "epoch",
        "epoch": int(epoch),
        "step": int(step),
        "fraction": round(min(max(float(fraction), 0.0), 1.0), 4),
        "loss": float(loss),
        "accuracy": float(accuracy),
        "val_loss": _number(val_loss),
        "val_accuracy": _number(val_accuracy),
        "lr": float(lr),
        "samples_per_s": float(samples_per_s),
        "elapsed_s": float(elapsed_s),
        "time": clock.time() if time is None else time,
    }


def chunk_record(
    *,
    chunk: int,
    iterations: int,
    loss: float,
    accuracy: float,
    samples_per_s: float,
    elapsed_s: float,
    time: float | None = None,
) -> dict:
    """A ``chunk`` record: the training metrics after a chunk of optimizer iterations."""
    return {
        "kind": "chunk",
        "chunk": int(chunk),
        "iterations": int(iterations),
        "loss": float(loss),
        "accuracy": float(accuracy),
        "samples_per_s": float(samples_per_s),
        "elapsed_s": float(elapsed_s),
        "time": clock.time() if time is None else time,
    }


def epoch_position(record: dict) -> float:
    """Where an epoch record sits on an epoch axis: its number, less for a cut-short epoch.

    Examples
    --------
    >>> epoch_position({"epoch": 3, "fraction": 0.25}), epoch_position({"epoch": 2})
    (2.25, 2.0)
    """
    return float(record["epoch"]) - 1 + float(record.get("fraction", 1.0))


def is_partial(record: dict) -> bool:
    """Whether an epoch record covers only part of its epoch (stopped or diverged in it)."""
    return float(record.get("fraction", 1.0)) < 1


def layer_gradient(
    name: str, grad_norm: float, weight_count: int, activation_mean_abs: float
) -> dict:
    """One layer's entry in a ``gradients`` record.

    The per-weight size (RMS: the norm over the square root of the weight count) compares
    layers of different widths fairly: a layer's norm grows with the root of its size.

    Examples
    --------
    >>> layer_gradient("dense", 2.0, 4, 0.5)["grad_rms"]
    1.0
    """
    return {
        "name": str(name),
        "grad_norm": float(grad_norm),
        "grad_rms": float(grad_norm / math.sqrt(weight_count)),
        "activation_mean_abs": float(activation_mean_abs),
    }


def gradients_record(*, epoch: int, step: int, layers: list[dict]) -> dict:
    """A ``gradients`` record from `layer_gradient` entries, first layer first."""
    return {"kind": "gradients", "epoch": int(epoch), "step": int(step), "layers": layers}


def histogram(values: np.ndarray) -> dict:
    """``{"counts", "edges"}`` of ``values`` in `HISTOGRAM_BINS` bins (NaN and inf dropped).

    Only finite values count: a diverging run must still be able to log what it saw.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    counts, edges = np.histogram(values[np.isfinite(values)], bins=HISTOGRAM_BINS)
    return {"counts": counts.tolist(), "edges": np.round(edges, 6).tolist()}


def layer_histograms(name: str, weights: np.ndarray, activations: np.ndarray) -> dict:
    """One layer's entry in a ``histograms`` record."""
    return {"name": str(name), "weights": histogram(weights), "activations": histogram(activations)}


def histograms_record(*, epoch: int, layers: list[dict]) -> dict:
    """A ``histograms`` record from `layer_histograms` entries (epoch 0: before training)."""
    return {"kind": "histograms", "epoch": int(epoch), "layers": layers}


def encode(record: dict) -> str:
    """One line of ``metrics.jsonl`` (NumPy scalars and arrays become JSON numbers and lists)."""
    return json.dumps(record, default=json_default) + "\n"


def parse(data: bytes) -> list[dict]:
    """The complete records of ``metrics.jsonl`` content, in order.

    A half-written last line, a line that is not JSON or not UTF-8, and records of an
    unknown kind or with a field of the wrong type or form (`fits`) are skipped, so one
    damaged line never hides the rest of a run.

    Examples
    --------
    >>> parse(b'{"kind": "epoch", "epoch": 1}\\n\\xff\\n{"kind": "epoch", "epoch": "x"}')
    [{'kind': 'epoch', 'epoch': 1}]
    """
    records = []
    for line in data.splitlines():
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            # ValueError also covers a number too long for Python to read.
            continue
        if fits(record):
            records.append(record)
    return records


# Each kind's fields: "count" a whole number >= 0, "share" a number in [0, 1], "number" any
# JSON number (a diverged loss is NaN) or null, "layers" the per-layer entries. Only the
# `_REQUIRED` ones must be present.
_METRICS = ("loss", "accuracy", "samples_per_s", "elapsed_s", "time")
_FIELDS = {
    "batch": {"epoch": "count", "step": "count", "window_steps": "count"}
    | dict.fromkeys((*_METRICS, "lr"), "number"),
    "epoch": {"epoch": "count", "step": "count", "fraction": "share"}
    | dict.fromkeys((*_METRICS, "val_loss", "val_accuracy", "lr"), "number"),
    "chunk": {"chunk": "count", "iterations": "count"} | dict.fromkeys(_METRICS, "number"),
    "gradients": {"epoch": "count", "step": "count", "layers": "layers"},
    "histograms": {"epoch": "count", "layers": "layers"},
}
_REQUIRED = {
    "batch": ("epoch",),
    "epoch": ("epoch",),
    "chunk": ("chunk", "iterations"),
    "gradients": ("epoch", "step", "layers"),
    "histograms": ("epoch", "layers"),
}
# Larger whole numbers would overflow the floats the pages compute with.
_LARGEST = 2**53


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, float) or abs(value) <= _LARGEST


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _LARGEST


def _is_histogram(value: Any) -> bool:
    """Whether ``value`` is ``{"counts", "edges"}`` with one edge more than counts."""
    if not isinstance(value, dict):
        return False
    counts, edges = value.get("counts"), value.get("edges")
    return (
        isinstance(counts, list)
        and isinstance(edges, list)
        and len(edges) == len(counts) + 1
        and all(_is_count(count) for count in counts)
        and all(_is_number(edge) and math.isfinite(edge) for edge in edges)
    )


def _layer_fits(kind: str, layer: Any) -> bool:
    if not isinstance(layer, dict) or not isinstance(layer.get("name"), str):
        return False
    if kind == "histograms":
        return _is_histogram(layer.get("weights")) and _is_histogram(layer.get("activations"))
    return all(
        key in layer and (layer[key] is None or _is_number(layer[key]))
        for key in ("grad_norm", "grad_rms", "activation_mean_abs")
    )


def fits(record: Any) -> bool:
    """Whether ``record`` is a record of a known kind whose fields have the right types.

    Examples
    --------
    >>> fits({"kind": "chunk", "chunk": 1, "iterations": 25}), fits({"kind": "chunk"})
    (True, False)
    """
    if not isinstance(record, dict) or record.get("kind") not in _FIELDS:
        return False
    kind = record["kind"]
    if any(key not in record for key in _REQUIRED[kind]):
        return False
    return all(
        _field_fits(kind, form, record[key]) for key, form in _FIELDS[kind].items() if key in record
    )


def _field_fits(kind: str, form: str, value: Any) -> bool:
    if form == "layers":
        return isinstance(value, list) and all(_layer_fits(kind, x) for x in value)
    if form == "count":
        return _is_count(value)
    if form == "share":
        return _is_number(value) and 0 <= value <= 1
    return value is None or _is_number(value)


def of_kind(records: list[dict], kind: str) -> list[dict]:
    """The records of one kind, in order."""
    return [record for record in records if record.get("kind") == kind]


@dataclass(frozen=True)
class Summary:
    """A run's summary records (one per epoch, or per chunk) and how to plot them.

    Attributes
    ----------
    records : list of dict
        The ``epoch`` records, else the ``chunk`` records.
    x : str
        The key to plot against: ``epoch`` or ``iterations``.
    x_title : str
        The axis title in words.
    """

    records: list[dict]
    x: str
    x_title: str


def summary(records: list[dict]) -> Summary:
    """The per-epoch records of a network, or the per-chunk records of an optimizer without
    epochs, with the axis they are plotted against.

    Examples
    --------
    >>> summary([{"kind": "chunk", "chunk": 1, "iterations": 25}]).x_title
    'L-BFGS iterations'
    """
    chunks = of_kind(records, "chunk")
    if chunks and not of_kind(records, "epoch"):
        return Summary(chunks, "iterations", "L-BFGS iterations")
    return Summary(of_kind(records, "epoch"), "epoch", "epoch")


def loss_trend(records: list[dict]) -> list[float]:
    """The training loss from epoch to epoch (or chunk to chunk), as hints and lessons read it.

    Per-window losses are too noisy to read one by one (a loss that falls 0.01 an epoch jumps
    by more than that from one window to the next), so whole epochs are compared; within a
    lone first epoch, the mean of its first and of its last third of windows.

    Examples
    --------
    >>> loss_trend([{"kind": "epoch", "epoch": e, "loss": v} for e, v in ((1, 2.4), (2, 2.3))])
    [2.4, 2.3]
    """
    complete = [
        r["loss"] for r in summary(records).records if not is_partial(r) and _finite(r.get("loss"))
    ]
    if len(complete) >= 2:
        return complete
    windows = [r["loss"] for r in records if r.get("kind") == "batch" and _finite(r.get("loss"))]
    third = len(windows) // 3
    if third == 0:
        return []
    return [sum(windows[:third]) / third, sum(windows[-third:]) / third]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def describe(record: dict) -> str:
    """One line for an epoch or chunk record: where training is, then its metrics.

    Missing values (no validation split) are left out.

    Examples
    --------
    >>> describe({"kind": "epoch", "epoch": 2, "loss": 0.25, "val_loss": None})
    'epoch 2: loss 0.2500'
    """
    if record.get("kind") == "chunk":
        head = f"chunk {record.get('chunk')} ({record.get('iterations')} iterations)"
    else:
        head = f"epoch {record.get('epoch')}"
    names = ("loss", "accuracy", "val_loss", "val_accuracy")
    values = [
        f"{name} {record[name]:.4f}"
        for name in names
        if isinstance(record.get(name), int | float) and not isinstance(record.get(name), bool)
    ]
    return ": ".join([head, ", ".join(values)]) if values else head


def progress_fields(
    *, done: float, total: float, elapsed_s: float, samples_per_s: float | None, position: str
) -> dict:
    """The progress fields of ``status.json``: share done, time left, throughput, position.

    Parameters
    ----------
    done, total : float
        Work done and to do, in any unit (steps, iterations).
    elapsed_s : float
        Seconds of training so far.
    samples_per_s : float or None
        Current throughput.
    position : str
        Where training is, in words (``"epoch 2/5"``, ``"75 L-BFGS iterations"``).

    Returns
    -------
    dict
        ``progress`` (0-1), ``eta_s`` (None until something is done), ``samples_per_s``,
        ``position``.

    Examples
    --------
    >>> progress_fields(done=1, total=4, elapsed_s=3.0, samples_per_s=10, position="x")
    {'progress': 0.25, 'eta_s': 9.0, 'samples_per_s': 10.0, 'position': 'x'}
    """
    progress = min(max(done / total, 0.0), 1.0) if total else 0.0
    eta = elapsed_s / progress * (1 - progress) if progress > 0 else None
    return {
        "progress": round(progress, 4),
        "eta_s": eta,
        "samples_per_s": None if samples_per_s is None else float(samples_per_s),
        "position": position,
    }


def history_csv(rows: list[dict]) -> str:
    """``history.csv`` as Keras' ``CSVLogger`` writes it: ``epoch`` (from 0), sorted metrics.

    Parameters
    ----------
    rows : list of dict
        One dict per epoch: a 1-based ``epoch`` and metrics (``epoch`` records qualify;
        their bookkeeping keys are left out).

    Examples
    --------
    >>> print(history_csv([{"epoch": 1, "loss": 0.5, "accuracy": 0.9}]), end="")
    epoch,accuracy,loss
    0,0.9,0.5
    """
    columns = ["epoch", *sorted({key for row in rows for key in row} - NOT_IN_HISTORY)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        values = {key: value for key, value in row.items() if value is not None}
        writer.writerow({**values, "epoch": int(row["epoch"]) - 1})
    return buffer.getvalue()
