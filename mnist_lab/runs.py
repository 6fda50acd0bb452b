"""The run directory format: one directory per run, every file written atomically.

A run directory is the only channel between the worker that trains and the pages (or CLI)
that watch it, as in TensorBoard or MLflow. How a run gets trained (launching workers, the
queue) is `mnist_lab.execution`'s business; this module only reads and writes the files::

    runs/<id>/config.json       what to train (engine, architecture, hyperparameters)
    runs/<id>/status.json       state, pid, progress, messages (written by the worker only)
    runs/<id>/metrics.jsonl     one JSON object per logged batch or epoch
    runs/<id>/evaluation.json   test loss/accuracy, confusion matrix, per-class metrics
    runs/<id>/stop-requested    present once somebody asked the run to stop
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mnist_lab import records
from mnist_lab.execution.processes import process_alive

RUNS_DIR_ENV = "MNIST_LAB_RUNS_DIR"

STATES = (
    "queued",
    "running",
    "stopping",
    "finished",
    "stopped",
    "diverged",
    "failed",
    "interrupted",
)
LIVE_STATES = frozenset({"queued", "running", "stopping"})
# The largest JSON file read: a run's evaluation of 10,000 digits takes about half a megabyte.
MAX_JSON_BYTES = 16 * 2**20
# Fields of status.json that pages do arithmetic with.
NUMERIC_STATUS_FIELDS = ("progress", "eta_s", "samples_per_s", "epoch", "epochs", "step")
# "damaged" is never written: it is what reading a broken run directory reports.
DAMAGED = "damaged"

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_NAME_LENGTH = 80
MAX_OWNER_LENGTH = 40

# Small JSON files (settings, status) by version, as read: 1-2 kB each, 32 MB at the very most.
MAX_KEPT_FILE_BYTES = 16 * 2**10
MAX_KEPT_FILES = 2048
# Checked evaluation files by version: a page reads one several times per rerun, and each
# holds 20,000 per-digit values to parse and check.
MAX_KEPT_EVALUATIONS = 32

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
HISTORY_FILE = "history.csv"
EVALUATION_FILE = "evaluation.json"
PREDICTIONS_FILE = "predictions.npz"
MODEL_FILE = "model.keras"
# Models that are plain arrays (the NumPy network, the baseline): never pickled.
WEIGHTS_FILE = "weights.npz"
CHECKPOINT_FILE = "checkpoint.keras"
STOP_FILE = "stop-requested"
LOG_FILE = "worker.log"
TENSORBOARD_DIR = "tb"


class DamagedRunError(ValueError):
    """A run directory whose files are missing, truncated or not valid JSON."""


@dataclass(frozen=True)
class RunOutcome:
    """How an engine's training ended: a final state from `STATES` and a plain-language message."""

    state: str
    message: str = ""


def now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_runs_dir() -> Path:
    """Return ``$MNIST_LAB_RUNS_DIR`` if set, else ``runs/`` under the working directory."""
    return Path(os.environ.get(RUNS_DIR_ENV) or Path.cwd() / "runs").resolve()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it over ``path``.

    A crash or a full disk leaves either the old file or the new one, never half a file.

    Parameters
    ----------
    path : Path
        Destination file; its directory must exist.
    data : bytes
        The complete new content.
    """
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically (see `atomic_write_bytes`)."""
    text = json.dumps(obj, indent=2, default=records.json_default)
    atomic_write_bytes(Path(path), text.encode())


def _version(stat: os.stat_result) -> tuple[int, int, int]:
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def file_version(path: Path) -> tuple[int, int, int] | None:
    """A file's version: inode, modification time (ns) and size; None if there is no file.

    Writing the file again, in place or aside and renamed over it, gives a new version:
    what is derived from a file is kept under it.
    """
    try:
        return _version(Path(path).stat())
    except FileNotFoundError:
        return None


class _KeptByVersion:
    """The newest ``size`` values by (path, version), shared by every thread."""

    def __init__(self, size: int):
        self.size, self.values, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple) -> Any:
        with self.lock:
            if key in self.values:
                self.values.move_to_end(key)
                return self.values[key]
        return None

    def put(self, key: tuple, value: Any) -> None:
        with self.lock:
            self.values[key] = value
            while len(self.values) > self.size:
                self.values.popitem(last=False)


_FILE_BYTES = _KeptByVersion(MAX_KEPT_FILES)
_EVALUATIONS = _KeptByVersion(MAX_KEPT_EVALUATIONS)


def _file_bytes(path: Path, stat: os.stat_result) -> bytes:
    """The bytes of ``path`` (``stat`` is its stat): small files are kept per version.

    Pages read each run's settings and status several times per rerun; under a class each
    file read hands the interpreter to another session, so a stat is all a known version
    costs. A version is stored under the stat of the opened file itself, so it always
    matches what was read, even when the file was replaced in between.
    """
    kept = _FILE_BYTES.get((str(path), *_version(stat)))
    if kept is not None:
        return kept
    with open(path, "rb") as handle:
        read_stat = os.fstat(handle.fileno())
        data = handle.read()
    if read_stat.st_size <= MAX_KEPT_FILE_BYTES and len(data) == read_stat.st_size:
        _FILE_BYTES.put((str(path), *_version(read_stat)), data)
    return data


def read_json(path: Path) -> dict:
    """Read a JSON object from ``path``.

    Raises
    ------
    DamagedRunError
        If the file is missing, empty, truncated, not JSON, nested too deeply, larger than
        `MAX_JSON_BYTES`, or not a JSON object.
    """
    path = Path(path)
    try:
        stat = path.stat()
        if stat.st_size > MAX_JSON_BYTES:
            raise DamagedRunError(f"{path.name} is larger than {MAX_JSON_BYTES // 2**20} MB")
        value = json.loads(_file_bytes(path, stat).decode())
    except FileNotFoundError:
        raise DamagedRunError(f"{path.name} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DamagedRunError(f"{path.name} is not valid JSON ({error})") from None
    except RecursionError:
        raise DamagedRunError(f"{path.name} is nested too deeply to be settings") from None
    if not isinstance(value, dict):
        raise DamagedRunError(f"{path.name} does not hold a JSON object")
    return value


def read_arrays(path: Path, names: tuple[str, ...] | list[str]) -> dict:
    """The named arrays of an ``.npz`` file, read without ever unpickling.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    DamagedRunError
        If it is not a readable ``.npz``, holds pickled objects, or lacks one of ``names``.
    """
    import zipfile

    import numpy as np

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in names}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DamagedRunError(f"{path.name} is unreadable ({error})") from None


def check_status(status: dict) -> dict:
    """Return ``status`` (as read from ``status.json``) if its fields have the right types.

    Raises
    ------
    DamagedRunError
        For an unknown state, a message that is not text, or progress fields that are not
        numbers (``progress`` must lie in [0, 1]).
    """
    if status.get("state") not in STATES:
        raise DamagedRunError(f"{STATUS_FILE} names an unknown state {status.get('state')!r}")
    if not isinstance(status.get("message", ""), str):
        raise DamagedRunError(f"{STATUS_FILE}'s message is not text")
    for key in NUMERIC_STATUS_FIELDS:
        value = status.get(key)
        if value is not None and not _is_finite_number(value):
            raise DamagedRunError(f"{STATUS_FILE}'s {key} is not a number ({value!r})")
    if not 0 <= status.get("progress", 0) <= 1:
        raise DamagedRunError(f"{STATUS_FILE}'s progress {status['progress']!r} is not in [0, 1]")
    return status


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is a safe directory name, so no path leaves the runs directory.

    Raises
    ------
    ValueError
        If it has characters other than letters, digits, ``_``, ``-`` and ``.``, starts with
        a dot or dash, or is longer than 100 characters.
    """
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        raise ValueError(
            f"invalid run id {run_id!r}: use 1-100 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return run_id


def validate_run_name(name: str) -> str:
    """Return a display name stripped of surrounding space, or raise ``ValueError``.

    Names are shown as plain text, never as HTML; they only need to be printable and short.
    """
    name = str(name).strip()
    if not name:
        raise ValueError("a run name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"a run name has at most {MAX_NAME_LENGTH} characters; this one has {len(name)}"
        )
    if not name.isprintable():
        raise ValueError("a run name must be printable characters only (no tabs or line breaks)")
    return name


def validate_owner_name(name: str) -> str:
    """Return a person's name (a run's owner) without surrounding space, or raise ``ValueError``.

    Examples
    --------
    >>> validate_owner_name("  Ada ")
    'Ada'
    """
    name = str(name).strip()
    if not name:
        raise ValueError("a name cannot be empty")
    if len(name) > MAX_OWNER_LENGTH:
        raise ValueError(
            f"a name has at most {MAX_OWNER_LENGTH} characters; this one has {len(name)}"
        )
    if not name.isprintable():
        raise ValueError("a name must be printable characters only (no tabs or line breaks)")
    return name


class Run:
    """One run directory: its config, status, metrics and artifacts.

    Parameters
    ----------
    path : str or Path
        The run's directory (``runs/<id>``).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and self.path.resolve() == other.path.resolve()

    def __hash__(self) -> int:
        return hash(self.path.resolve())

    @property
    def id(self) -> str:
        """The run's id: its directory name."""
        return self.path.name

    def file(self, name: str) -> Path:
        """Path of one of the run's files (e.g. ``MODEL_FILE``)."""
        return self.path / name

    def config(self) -> dict:
        """The run's configuration (``config.json``); raises `DamagedRunError` if unreadable."""
        return read_json(self.file(CONFIG_FILE))

    @property
    def name(self) -> str:
        """Display name: the one given by the user, else the id."""
        try:
            return str(self.config().get("name") or self.id)
        except DamagedRunError:
            return self.id

    @property
    def owner(self) -> str | None:
        """Who launched the run (``owner`` in ``config.json``); None if unknown or unreadable."""
        try:
            owner = self.config().get("owner")
        except DamagedRunError:
            return None
        return owner if isinstance(owner, str) and owner else None

    def raw_status(self) -> dict:
        """``status.json`` exactly as the worker last wrote it."""
        return read_json(self.file(STATUS_FILE))

    def status(self) -> dict:
        """The run's status, with a dead worker reported as ``interrupted``.

        Returns
        -------
        dict
            At least ``state`` (one of `STATES`, or ``"damaged"`` with an ``error``) and
            ``message``; while training also ``progress`` (0-1), ``epoch``, ``epochs``.
            A run whose dataset is no longer stored reads as damaged.
        """
        from mnist_lab.datasets import missing_dataset  # the datasets' format imports runs

        try:
            if self.path.is_symlink():
                raise DamagedRunError(
                    "the run directory is a link to another place, which the lab does not follow"
                )
            self.config()
            status = check_status(self.raw_status())
            reason = missing_dataset(self)
            if reason is not None:
                raise DamagedRunError(reason)
        except DamagedRunError as error:
            return {
                "state": DAMAGED,
                "message": f"This run is damaged: {error}.",
                "error": str(error),
            }
        status.setdefault("message", "")
        if status.get("state") in LIVE_STATES and not self._worker_alive(status):
            status["state"] = "interrupted"
            status["message"] = (
                "The worker process ended without finishing (killed or crashed). "
                "Metrics and the last checkpoint up to then are kept."
            )
        return status

    def _worker_alive(self, status: dict) -> bool:
        """Whether the process recorded in ``status`` still runs (a fresh queued run has none)."""
        if status.get("pid") is None:
            # Created but not yet picked up: give the worker a moment to start.
            created = self.file(STATUS_FILE).stat().st_mtime
            return time.time() - created < 30
        return process_alive(status["pid"], status.get("pid_start"))

    def update_status(self, **fields: Any) -> dict:
        """Merge ``fields`` into ``status.json`` atomically and return the new status.

        Only the run's worker writes its status, so read-modify-write needs no lock.
        """
        try:
            status = self.raw_status()
        except DamagedRunError:
            status = {}
        if "state" in fields and fields["state"] not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {fields['state']!r}")
        status.update(fields)
        status["updated"] = now_iso()
        atomic_write_json(self.file(STATUS_FILE), status)
        return status

    def append_metrics(self, record: dict) -> None:
        """Append one record (see `mnist_lab.records`) to ``metrics.jsonl``."""
        with open(self.file(METRICS_FILE), "a") as handle:
            handle.write(records.encode(record))
            handle.flush()

    def metrics(self) -> list[dict]:
        """All readable records of ``metrics.jsonl`` in order (see `records.parse`)."""
        try:
            return records.parse(self.file(METRICS_FILE).read_bytes())
        except FileNotFoundError:
            return []

    def evaluation(self) -> dict | None:
        """``evaluation.json`` if the run has one, else None; `DamagedRunError` if it is broken.

        The checked content is kept per version of the file and shared by every caller:
        do not modify it.
        """
        from mnist_lab.evaluation import check_evaluation  # the format's owner imports runs

        path = self.file(EVALUATION_FILE)
        version = file_version(path)
        if version is None:
            return None
        evaluation = _EVALUATIONS.get((str(path), *version))
        if evaluation is None:
            evaluation = check_evaluation(read_json(path))
            _EVALUATIONS.put((str(path), *version), evaluation)
        return evaluation

    def write_json(self, file_name: str, obj: Any) -> None:
        """Write one of the run's JSON files atomically."""
        atomic_write_json(self.file(file_name), obj)

    def request_stop(self) -> None:
        """Ask the worker to stop at its next batch (it keeps the model and history so far)."""
        self.file(STOP_FILE).touch()

    def stop_requested(self) -> bool:
        """Whether somebody asked this run to stop."""
        return self.file(STOP_FILE).exists()


class RunStore:
    """All runs under one directory, newest first.

    Parameters
    ----------
    root : str or Path, optional
        Where run directories live; `default_runs_dir()` when omitted.
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).resolve() if root is not None else default_runs_dir()

    def create(self, config: dict, name: str | None = None, owner: str | None = None) -> Run:
        """Make a new run directory holding ``config`` and a ``queued`` status.

        Parameters
        ----------
        config : dict
            JSON-serializable settings; must name its ``engine``.
        name : str, optional
            Display name (validated); defaults to the id.
        owner : str, optional
            Who launches it (validated, see `validate_owner_name`); recorded as ``owner``.

        Returns
        -------
        Run
        """
        if "engine" not in config:
            raise ValueError("a run config must name its engine (keras, sklearn or numpy)")
        config = self.with_dataset_hash(config)
        # Checked before the directory exists, so a refused name leaves nothing behind.
        owner = None if owner is None else validate_owner_name(owner)
        self.root.mkdir(parents=True, exist_ok=True)
        label = re.sub(r"[^A-Za-z0-9]+", "-", str(config.get("label", config["engine"])))
        # Milliseconds in the stamp keep runs created within one second in creation order.
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
        run_id = validate_run_id(f"{stamp}-{label.strip('-')[:40]}-{secrets.token_hex(2)}")
        run = Run(self.root / run_id)
        run.path.mkdir()
        config = dict(config, created=now_iso())
        if name is not None:
            config["name"] = validate_run_name(name)
        if owner is not None:
            config["owner"] = owner
        try:
            run.write_json(CONFIG_FILE, config)
            run.update_status(state="queued", message="Waiting for a free training slot.")
        except BaseException:
            # A full disk must not leave an empty, damaged run behind.
            shutil.rmtree(run.path, ignore_errors=True)
            raise
        return run

    def with_dataset_hash(self, config: dict) -> dict:
        """``config`` with its dataset's SHA-256 filled in from the datasets stored here.

        Raises
        ------
        ValueError
            If the config names a dataset that is not stored.
        """
        from mnist_lab.datasets import DatasetStore  # the datasets' format imports runs

        record = config.get("dataset")
        if not isinstance(record, dict) or "sha256" in record:
            return config
        return dict(config, dataset=DatasetStore(self.root).record(record.get("name")))

    def get(self, run_id: str) -> Run:
        """The run with id ``run_id``.

        Raises
        ------
        ValueError
            If the id is not a safe name.
        KeyError
            If no such run exists.
        """
        run = Run(self.root / validate_run_id(run_id))
        if not run.path.is_dir():
            raise KeyError(f"no run {run_id!r} in {self.root}")
        return run

    def list(self) -> list[Run]:
        """Every run directory, newest first (ids start with their creation time in ms)."""
        if not self.root.is_dir():
            return []
        return [
            Run(path)
            for path in sorted(self.root.iterdir(), key=lambda p: p.name, reverse=True)
            if path.is_dir() and RUN_ID_PATTERN.fullmatch(path.name)
        ]

    def delete(self, run_id: str) -> None:
        """Delete a run directory; a live run is stopped first by the caller's choice, not here.

        Raises
        ------
        ValueError
            If the run is still live (stop it first).
        """
        run = self.get(run_id)
        if run.status()["state"] in LIVE_STATES:
            raise ValueError(f"run {run_id} is still {run.status()['state']}: stop it first")
        if run.path.is_symlink():
            # Only the link is the lab's: what it points to is left alone.
            run.path.unlink()
            return
        shutil.rmtree(run.path)

    def rename(self, run_id: str, name: str) -> None:
        """Give a run a new display name (the id, and so its directory, stays)."""
        run = self.get(run_id)
        run.write_json(CONFIG_FILE, dict(run.config(), name=validate_run_name(name)))

    def find_finished(self, settings: dict) -> Run | None:
        """The newest finished run whose config contains every item of ``settings``.

        Lets a repeated request (same engine, same hyperparameters) be answered from the
        stored run instead of training again.
        """
        settings = self.with_dataset_hash(settings)
        for run in self.list():
            try:
                config = run.config()
            except DamagedRunError:
                continue
            if all(config.get(key) == value for key, value in settings.items()):
                if run.status()["state"] == "finished":
                    return run
        return None
