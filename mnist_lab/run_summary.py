"""A run in a few fields, for the tables and pickers that list every run.

A class makes hundreds of runs in an afternoon, and a page that lists them reruns on every
click. Listing a run reads only its ``config.json``, ``status.json``, the scores of its
``evaluation.json`` and the last few kB of its records (for `training_time`), never its
predictions, and a run that has ended is read once per version of those three files
(`mnist_lab.files.file_version`): a rerun then costs three ``stat`` calls per run. A live
run, or one whose dataset could be deleted, is read afresh.

While an assignment hides part of a dataset's test split, its runs' scores are those of the
visible part (`mnist_lab.assignments.secrecy`): the summary says which in ``scored_on``.

`training_time` is the one training time every page shows.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from mnist_lab import datasets, records
from mnist_lab import evaluation as ev
from mnist_lab.assignments.secrecy import Part, ScoreWithheld, secret_parts, shown_evaluation
from mnist_lab.engines import get_engine
from mnist_lab.files import DamagedRunError, KeptByVersion, file_version, open_regular
from mnist_lab.runs import CONFIG_FILE, Run, RunStore
from mnist_lab.status import DAMAGED, FINAL_STATES, LIVE_STATES, STATUS_FILE

# Settings a summary carries from config.json, as they were written.
CONFIG_FIELDS = ("engine", "label", "optimizer", "learning_rate", "normalization", "epochs")
# Summaries are about 1 kB each: every run of several classes, a few MB.
MAX_KEPT_SUMMARIES = 10_000
_SUMMARIES = KeptByVersion(MAX_KEPT_SUMMARIES)
# What every page says the training time is (`training_time`).
TRAINING_TIME_HELP = (
    "Training time: from the first step to the end of training; excludes starting the "
    "worker, loading data and the final evaluation."
)
# The last epoch's record is near the end of metrics.jsonl: only this much of it is read.
RECORDS_TAIL_BYTES = 64 * 1024


def summary(run: Run, parts: dict[str, Part] | None = None) -> dict:
    """``run`` as a flat dict for tables and pickers; a damaged run gets state "damaged".

    Parameters
    ----------
    run : Run
    parts : dict, optional
        `mnist_lab.assignments.secrecy.secret_parts` of ``run``'s store, when the caller
        lists many runs at once.

    Returns
    -------
    dict
        ``id``, ``name``, ``owner``, ``state``, ``message``, the settings of
        `CONFIG_FIELDS` (None when not set), ``test_accuracy`` and ``test_loss`` (None without
        an evaluation, or while an assignment withholds them), ``scored_on`` (None for the
        whole test split, else the visible part's `Part.describe`), ``training_s`` (see
        `training_time`) and ``baseline`` (whether its engine is the yardstick networks are
        measured against). Kept and shared by every
        caller: copy it before changing it.
    """
    directory = str(run.path)
    parts = secret_parts(run.path.parent) if parts is None else parts
    # Plain strings, not paths: this runs for every run of a class on every rerun.
    files = (CONFIG_FILE, STATUS_FILE, ev.EVALUATION_FILE)
    key = (directory, *(file_version(os.path.join(directory, name)) for name in files))
    key += tuple(sorted((sha256, part.key) for sha256, part in parts.items()))
    kept = _SUMMARIES.get(key)
    if kept is not None:
        return kept
    fresh, stays = _read_summary(run, parts)
    if stays:
        _SUMMARIES.put(key, fresh)
    return fresh


def summaries(store: RunStore) -> list[dict]:
    """The `summary` of every run of ``store``, newest first."""
    parts = secret_parts(store.root)
    return [summary(run, parts) for run in store.list()]


def _read_summary(run: Run, parts: dict[str, Part]) -> tuple[dict, bool]:
    """The summary of ``run`` and whether it stays true while its three files are unchanged."""
    row = {"id": run.id, "name": run.name, "owner": run.owner, "baseline": False}
    row |= dict.fromkeys((*CONFIG_FIELDS, "test_accuracy", "test_loss", "scored_on", "training_s"))
    status = run.status()
    row["state"], row["message"] = status["state"], status.get("message", "")
    if row["state"] == DAMAGED:
        return row, False
    try:
        config = run.config()
        evaluation = _scores(run, parts)
        # A run whose dataset is stored apart reads as damaged once that dataset is deleted.
        ended = run.raw_status().get("state") in FINAL_STATES
        stays = ended and datasets.stored_sha256(run) is None
    except DamagedRunError as error:
        return row | {"state": DAMAGED, "message": f"This run is damaged: {error}."}, False
    row |= {key: config.get(key) for key in CONFIG_FIELDS}
    row |= {key: evaluation.get(key) for key in ("test_accuracy", "test_loss", "scored_on")}
    try:
        row["baseline"] = get_engine(config.get("engine")).is_baseline
    except ValueError:
        row["baseline"] = False
    row["training_s"] = training_time(run, status, evaluation)
    return row, stays


def _scores(run: Run, parts: dict[str, Part]) -> dict:
    """Test accuracy and loss as pages show them, the part they are of, and the prediction
    time of a checked ``evaluation.json``; empty without one."""
    path = run.file(ev.EVALUATION_FILE)
    if file_version(path) is None:
        return {}
    evaluation = ev.read_checked(path)
    scores = {"predict_seconds": evaluation.get("predict_seconds")}
    try:
        shown = shown_evaluation(run, parts)
    except ScoreWithheld:
        return scores
    part = shown.get("part")
    return scores | {
        "test_accuracy": shown["test_accuracy"],
        "test_loss": shown["test_loss"],
        "scored_on": None if part is None else part.describe(),
    }


def training_time(
    run: Run, status: dict | None = None, evaluation: dict | None = None
) -> float | None:
    """Seconds ``run`` trained, to 0.1 s: the one training time every page shows.

    From the first step to the end of the last epoch (or chunk of iterations), as the
    training loop measured it in its last record's ``elapsed_s``: starting the worker,
    loading data and the final evaluation are not counted (`TRAINING_TIME_HELP`). A run
    without such a record (a live one so far, k-NN, a model trained elsewhere) counts from
    its status's ``started`` to ``ended`` less the evaluation's ``predict_seconds``, or to
    now while it is live.

    Parameters
    ----------
    run : Run
    status : dict, optional
        ``run.status()`` when the caller has read it already.
    evaluation : dict, optional
        The run's evaluation when the caller has read it (its prediction time is not
        training); without it nothing is taken off the status times.

    Returns
    -------
    float or None
        None if neither the records nor the status say.
    """
    status = run.status() if status is None else status
    if status.get("state") not in LIVE_STATES:
        measured = _last_elapsed(run)
        if measured is not None:
            return round(measured, 1)
    seconds = _status_seconds(status)
    predicting = (evaluation or {}).get("predict_seconds")
    if seconds is None or not isinstance(predicting, int | float) or not predicting > 0:
        return seconds
    return round(max(seconds - predicting, 0.0), 1)


def progress_records(run: Run) -> list[dict]:
    """The epoch and chunk records in the tail of ``run``'s ``metrics.jsonl``, oldest first.

    What the training loop measured last (its elapsed time, the epoch it reached), read from
    the last `RECORDS_TAIL_BYTES` only; empty when there are none or they cannot be read.
    """
    try:
        with open_regular(run.file(records.METRICS_FILE), records.MAX_METRICS_BYTES) as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(size - RECORDS_TAIL_BYTES, 0))
            # A line cut by the seek is not JSON: `records.parse` skips it.
            tail = records.parse(handle.read(RECORDS_TAIL_BYTES))
    except (FileNotFoundError, DamagedRunError):
        return []
    return [r for r in tail if r["kind"] in ("epoch", "chunk")]


def _last_elapsed(run: Run) -> float | None:
    """``elapsed_s`` of the last epoch or chunk record in the tail of ``metrics.jsonl``."""
    ends = [r for r in progress_records(run) if r.get("elapsed_s") is not None]
    elapsed = ends[-1]["elapsed_s"] if ends else None
    return float(elapsed) if elapsed is not None and elapsed == elapsed and elapsed >= 0 else None


def _status_seconds(status: dict) -> float | None:
    """Seconds from ``started`` to ``ended`` (or to now while live); None if unknown.

    Examples
    --------
    >>> _status_seconds({"state": "finished", "started": "2026-01-01T10:00:00+00:00",
    ...                  "ended": "2026-01-01T10:01:30+00:00"})
    90.0
    """
    live = status.get("state") in LIVE_STATES
    try:
        started = datetime.fromisoformat(status["started"])
        ended = datetime.now(UTC) if live else datetime.fromisoformat(status["ended"])
        return round((ended - started).total_seconds(), 1)
    except (KeyError, TypeError, ValueError):
        return None
