"""The run directory format: one directory per run, every file written atomically.

A run directory is the only channel between the worker that trains and the pages (or CLI)
that watch it, as in TensorBoard or MLflow. How a run gets trained (launching workers, the
queue) is `mnist_lab.execution`'s business; this module only reads and writes the files::

    runs/<id>/config.json       what to train (engine, architecture, hyperparameters)
    runs/<id>/status.json       state, pid, progress, messages (its owner: `mnist_lab.status`)
    runs/<id>/metrics.jsonl     one JSON object per logged batch or epoch (`mnist_lab.records`)
    runs/<id>/evaluation.json   test loss/accuracy, confusion matrix (`mnist_lab.evaluation`)
    runs/<id>/stop-requested    present once somebody asked the run to stop

Each other file is named by the module that owns its format; the file helpers themselves
(atomic writes, checked reads) are `mnist_lab.files`.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab import datasets, evaluation, records, status
from mnist_lab.files import (
    DamagedRunError,
    KeptByVersion,
    atomic_write_json,
    is_aware_time,
    now_iso,
    read_growing,
    read_json,
)
from mnist_lab.processes import process_alive
from mnist_lab.settings import check_recorded
from mnist_lab.status import DAMAGED, LIVE_STATES, STATUS_FILE

RUNS_DIR_ENV = "MNIST_LAB_RUNS_DIR"

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_NAME_LENGTH = 80
MAX_OWNER_LENGTH = 40

# Checked evaluation files by version: a page reads one several times per rerun, and each
# holds 20,000 per-digit values to parse and check.
MAX_KEPT_EVALUATIONS = 32
_EVALUATIONS = KeptByVersion(MAX_KEPT_EVALUATIONS)
# Parsed records by version of metrics.jsonl (and each file's parsed start): pages of a class
# read the same runs' records on every rerun, and parsing checks every field of every line.
MAX_KEPT_METRICS = 64
_METRICS = KeptByVersion(MAX_KEPT_METRICS)

CONFIG_FILE = "config.json"
# A config holds settings and a few layers: a few kilobytes.
MAX_CONFIG_BYTES = 256 * 2**10
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
STOP_FILE = "stop-requested"
LOG_FILE = "worker.log"
TENSORBOARD_DIR = "tb"
# A status.json field: the run waits in a queue of files no process holds (the local one, see
# `mnist_lab.execution.queue_entry`), so having no pid does not mean its worker died.
WAITS_IN_QUEUE = "waits_in_queue"


@dataclass(frozen=True)
class RunOutcome:
    """How an engine's training ended: a final state from `STATES` and a plain-language message."""

    state: str
    message: str = ""


def default_runs_dir() -> Path:
    """Return ``$MNIST_LAB_RUNS_DIR`` if set, else ``runs/`` under the working directory."""
    return Path(os.environ.get(RUNS_DIR_ENV) or Path.cwd() / "runs").resolve()


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
    if not isinstance(name, str):
        raise ValueError(f"a run name must be text, not {type(name).__name__}")
    name = name.strip()
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
    if not isinstance(name, str):
        raise ValueError(f"a name must be text, not {type(name).__name__}")
    name = name.strip()
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
        """The run's configuration (``config.json``), every field checked (`check_config`).

        Raises
        ------
        DamagedRunError
            If it is unreadable or a field has the wrong type or form, naming the field.
        """
        return read_json(self.file(CONFIG_FILE), MAX_CONFIG_BYTES, check=check_config)

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
        """``status.json`` exactly as last written (see `mnist_lab.status`)."""
        return status.read(self.path)

    def status(self) -> dict:
        """The run's status, with a dead worker reported as ``interrupted``.

        Returns
        -------
        dict
            At least ``state`` (one of `STATES`, or ``"damaged"`` with an ``error``) and
            ``message``; while training also ``progress`` (0-1), ``epoch``, ``epochs``.
            A run whose dataset is no longer stored reads as damaged.
        """
        try:
            if self.path.is_symlink():
                raise DamagedRunError(
                    "the run directory is a link to another place, which the lab does not follow"
                )
            self.config()
            current = status.check(self.raw_status())
            _check_special_files(self.path)
            reason = datasets.missing_dataset(self)
            if reason is not None:
                raise DamagedRunError(reason)
        except DamagedRunError as error:
            return {
                "state": DAMAGED,
                "message": f"This run is damaged: {error}.",
                "error": str(error),
            }
        current.setdefault("message", "")
        if current.get("state") in LIVE_STATES and not self._worker_alive(current):
            current["state"] = "interrupted"
            current["message"] = (
                "The worker process ended without finishing (killed or crashed). "
                "Metrics and the last checkpoint up to then are kept."
            )
        return current

    def _worker_alive(self, status: dict) -> bool:
        """Whether the process recorded in ``status`` still runs (a fresh queued run has none)."""
        if status.get("pid") is None:
            if status.get(WAITS_IN_QUEUE) is True:
                return True
            # Created but not yet picked up: give the worker a moment to start.
            created = self.file(STATUS_FILE).stat().st_mtime
            return time.time() - created < 30
        return process_alive(status["pid"], status.get("pid_start"))

    def update_status(self, when: frozenset[str] | None = None, **fields: Any) -> dict | None:
        """Merge ``fields`` into ``status.json`` through its owner, `mnist_lab.status.update`.

        Concurrent writers never lose each other's fields, a ``state`` must be allowed after
        the current one, and with ``when`` the write applies only while the run is in one of
        those states (None is returned otherwise).
        """
        return status.update(self.path, fields, when=when)

    def append_metrics(self, record: dict) -> None:
        """Append one record (see `mnist_lab.records`) to ``metrics.jsonl``."""
        with open(self.file(records.METRICS_FILE), "a") as handle:
            handle.write(records.encode(record))
            handle.flush()

    def metrics(self) -> list[dict]:
        """All readable records of ``metrics.jsonl`` in order (see `records.parse`).

        Empty when the file is missing, a link, a FIFO, a device or too large: `status`
        names such a file damaged. The records are parsed once per version of the file (a
        grown file: only its new lines, `files.read_growing`) and shared by every caller:
        the list is the caller's, the records must not be modified.
        """
        try:
            kept = read_growing(
                self.file(records.METRICS_FILE), records.MAX_METRICS_BYTES, records.parse, _METRICS
            )
        except (FileNotFoundError, DamagedRunError):
            return []
        return list(kept)

    def evaluation(self) -> dict | None:
        """``evaluation.json`` if the run has one, else None; `DamagedRunError` if it is broken.

        The checked content (`mnist_lab.evaluation.read_checked`) is kept per version of the
        file and shared by every caller: do not modify it.
        """
        return _EVALUATIONS.of_file(self.file(evaluation.EVALUATION_FILE), evaluation.read_checked)

    def write_json(self, file_name: str, obj: Any) -> None:
        """Write one of the run's JSON files atomically."""
        atomic_write_json(self.file(file_name), obj)

    def request_stop(self) -> None:
        """Ask the worker to stop at its next batch (it keeps the model and history so far)."""
        self.file(STOP_FILE).touch()

    def stop_requested(self) -> bool:
        """Whether somebody asked this run to stop."""
        return self.file(STOP_FILE).exists()


def check_config(config: dict) -> bool:
    """Check every field of ``config`` (as read from ``config.json``) for its type and form.

    The fields the lab records beside the settings (engine, label, name, owner, created,
    dataset, versions, sweep) are checked here; the settings by `check_recorded`.

    Returns
    -------
    bool
        Whether the settings were checked against their engine's declarations (see
        `check_recorded`): the verdict is then final for this content.

    Raises
    ------
    DamagedRunError
        Naming the field that is wrong.
    """
    try:
        _check_recorded_fields(config)
        return check_recorded(config)
    except DamagedRunError:
        raise
    except ValueError as error:
        raise DamagedRunError(f"{CONFIG_FILE}: {error}") from None


def _check_recorded_fields(config: dict) -> None:
    if not isinstance(config.get("engine"), str) or not config["engine"]:
        raise ValueError("engine is not the name of an engine")
    if "label" in config and not isinstance(config["label"], str):
        raise ValueError("label is not text")
    for key, validate in (("name", validate_run_name), ("owner", validate_owner_name)):
        try:
            if key in config:
                validate(config[key])
        except ValueError as error:
            raise ValueError(f"{key}: {error}") from None
    if "created" in config and not is_aware_time(config["created"]):
        raise ValueError("created is not a time with a time zone")
    if "dataset" in config and not _is_dataset_record(config["dataset"]):
        raise ValueError("dataset is not a dataset's name and SHA-256")
    versions = config.get("versions", {})
    if not isinstance(versions, dict) or not all(
        isinstance(version, str | None) for version in versions.values()
    ):
        raise ValueError("versions is not a table of package versions")
    if "sweep" in config and not _is_sweep_tag(config["sweep"]):
        raise ValueError("sweep is not a sweep's id, point and repeat")


def _is_dataset_record(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and isinstance(record.get("name"), str)
        and isinstance(record.get("sha256"), str)
        and SHA256_PATTERN.fullmatch(record["sha256"]) is not None
    )


def _is_sweep_tag(tag: Any) -> bool:
    return (
        isinstance(tag, dict)
        and isinstance(tag.get("id"), str)
        and all(_is_count(tag.get(key)) for key in ("point", "repeat"))
    )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


def _check_special_files(run_dir: Path) -> None:
    """Raise `DamagedRunError` for a link, FIFO, device or socket among the run's files.

    Reading one would follow it elsewhere, block or never end; every reader refuses it, and
    this names it at once.
    """
    with os.scandir(run_dir) as entries:
        for entry in entries:
            if not (entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False)):
                raise DamagedRunError(f"{entry.name} is a link or a special file, not a file")


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
            raise ValueError("a run config must name its engine")
        config = self.with_dataset_hash(config)
        # Checked before the directory exists, so a refused name leaves nothing behind.
        name = None if name is None else validate_run_name(name)
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
            config["name"] = name
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
        record = config.get("dataset")
        if not isinstance(record, dict) or "sha256" in record:
            return config
        return dict(config, dataset=datasets.DatasetStore(self.root).record(record.get("name")))

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
