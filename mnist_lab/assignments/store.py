"""The assignment file format: ``<runs>/.assignments/<id>/``, beside the runs it grades.

One module owns it, the writer side and the reader side::

    runs/.assignments/<id>/assignment.json   title, text, dataset, goal, constraints, times,
                                             the held-out cut of the test split, closed
    runs/.assignments/<id>/grades.json       the grading record frozen at the deadline: its
                                             own copy of every graded run's result

The directory starts with a dot, so `RunStore.list` never takes it for a run. Every field is
checked where it is read, with a bounded size: a damaged file makes its assignment read as
damaged, with the reason, and never breaks the others. Edits rewrite the file atomically under
an ``flock`` on the assignment's directory, so two teachers' edits never lose each other's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.assignments.constraints import (
    Constraint,
    check_constraints,
    constraint_from_dict,
    is_number,
)
from mnist_lab.assignments.heldout import dataset_cut, packed, test_labels, unpacked
from mnist_lab.assignments.results import RunResult
from mnist_lab.data import EMBEDDED_NAME as MNIST
from mnist_lab.datasets import DatasetStore
from mnist_lab.files import (
    DamagedRunError,
    atomic_write_json,
    is_aware_time,
    locked_directory,
    read_json,
)
from mnist_lab.runs import (
    MAX_OWNER_LENGTH,
    RUN_ID_PATTERN,
    RunStore,
    validate_owner_name,
    validate_run_id,
)

FORMAT_VERSION = 1
ASSIGNMENTS_DIR = ".assignments"
ASSIGNMENT_FILE = "assignment.json"
GRADES_FILE = "grades.json"
# An assignment file holds a few texts and the hidden part's mask (a few kB for 10,000 digits).
MAX_ASSIGNMENT_BYTES = 256 * 2**10
# The grading record holds one result per graded run.
MAX_GRADES_BYTES = 16 * 2**20
MAX_TITLE_LENGTH = 120
MAX_TEXT_LENGTH = 5000
GOAL_METRICS = ("accuracy", "loss")
# A loss goal above this is no goal (chance on ten classes is 2.3).
MAX_LOSS = 100.0
# A class's students times their runs: what a grading record holds at most.
MAX_RESULTS = 10_000
EDITABLE = ("title", "text", "goal", "constraints", "opens_at", "deadline")
# What a frozen grading record was graded under.
GRADED_FIELDS = ("goal", "constraints", "deadline")
TIMES = ("opens_at", "deadline")
FIELDS = (
    "id",
    "title",
    "text",
    "dataset",
    "goal",
    "constraints",
    "opens_at",
    "deadline",
    "closed",
    "closed_at",
    "created",
    "created_by",
    "template",
    "n_test",
    "hidden",
)


@dataclass(frozen=True)
class Goal:
    """What a run must reach: test accuracy at least, or test loss at most, ``threshold``.

    Attributes
    ----------
    metric : str
        ``accuracy`` (a share in [0, 1]) or ``loss`` (cross-entropy, at least 0).
    threshold : float
    """

    metric: str
    threshold: float

    def describe(self) -> str:
        """The goal in words, e.g. ``test accuracy at least 97.0%``."""
        if self.metric == "accuracy":
            return f"test accuracy at least {self.threshold:.1%}"
        return f"test loss at most {self.threshold:g}"

    def check(self) -> Goal:
        """Return the goal if its metric and threshold make sense, else raise ``ValueError``."""
        if self.metric not in GOAL_METRICS:
            raise ValueError(f"a goal's metric is one of {list(GOAL_METRICS)}, got {self.metric!r}")
        high = 1.0 if self.metric == "accuracy" else MAX_LOSS
        if not is_number(self.threshold) or not 0 < self.threshold <= high:
            raise ValueError(
                f"a goal's {self.metric} must be a number in (0, {high:g}], got {self.threshold!r}"
            )
        return self

    def met(self, accuracy: float, loss: float) -> bool:
        """Whether a score of ``accuracy`` and ``loss`` reaches the goal."""
        if self.metric == "accuracy":
            return accuracy >= self.threshold
        return loss <= self.threshold


@dataclass(frozen=True)
class Assignment:
    """One assignment as its file says, every field checked.

    Attributes
    ----------
    id : str
    title, text : str
        What students read (plain text, never markdown).
    dataset : dict
        ``{"name", "sha256"}``: MNIST or a stored dataset; a run on another is refused.
    goal : Goal
    constraints : tuple of Constraint
    opens_at : str
        ISO 8601 time with a zone: students see it and it grades runs from then.
    deadline : str or None
        ISO 8601 time with a zone; None for none (grades freeze when it is closed).
    closed : bool
        Closed by the teacher (``closed_at`` says when): it grades nothing new.
    closed_at : str or None
    created, created_by : str, str or None
        When and by whom (the teacher's name, if given).
    template : str or None
        The `templates.templates` key it was made from.
    n_test : int
        Test digits of its dataset when it was cut.
    hidden : str
        The hidden part of the test split (`heldout.cut`, seeded from its dataset): a bit per
        test digit, packed and written in hex (`hidden_part` reads it).
    """

    id: str
    title: str
    text: str
    dataset: dict
    goal: Goal
    constraints: tuple[Constraint, ...]
    opens_at: str
    deadline: str | None
    closed: bool
    closed_at: str | None
    created: str
    created_by: str | None
    template: str | None
    n_test: int
    hidden: str = dataclasses.field(repr=False)

    def hidden_part(self) -> np.ndarray:
        """Whether each test digit is in the hidden part: ``n_test`` booleans."""
        return unpacked(self.hidden, self.n_test)

    def ends_at(self) -> datetime | None:
        """When it stops taking runs: its deadline, or when it was closed if earlier."""
        ends = [datetime.fromisoformat(t) for t in (self.deadline, self.closed_at) if t]
        return min(ends, default=None)

    def has_ended(self, now: datetime | None = None) -> bool:
        """Whether ``now`` is at or past `ends_at`: hidden scores shown, grades frozen."""
        ends = self.ends_at()
        return ends is not None and _now(now) >= ends

    def has_opened(self, now: datetime | None = None) -> bool:
        """Whether ``now`` is at or past ``opens_at``."""
        return _now(now) >= datetime.fromisoformat(self.opens_at)

    def is_open(self, now: datetime | None = None) -> bool:
        """Whether it has opened, has not ended and is not closed: runs are graded for it."""
        return self.has_opened(now) and not self.has_ended(now)

    def state(self, now: datetime | None = None) -> str:
        """``not open yet``, ``open``, ``past deadline`` or ``closed``."""
        if self.closed:
            return "closed"
        if self.has_ended(now):
            return "past deadline"
        return "open" if self.has_opened(now) else "not open yet"

    def to_dict(self) -> dict:
        """The ``assignment.json`` of this assignment."""
        data = dataclasses.asdict(self)
        data["goal"] = {"metric": self.goal.metric, "threshold": self.goal.threshold}
        data["constraints"] = [c.to_dict() for c in self.constraints]
        return {"format": FORMAT_VERSION, **data}


@dataclass(frozen=True)
class Frozen:
    """An assignment's grading record: when it was frozen, and its own copy of each result."""

    frozen_at: str
    results: list[RunResult]


@dataclass(frozen=True)
class Listed:
    """One entry of `AssignmentStore.list`: the assignment, or why it reads as damaged."""

    id: str
    assignment: Assignment | None
    damaged: str | None = None


class AssignmentStore:
    """Every assignment of one run store.

    Parameters
    ----------
    store : RunStore
        The runs the assignments grade; assignments live in its ``.assignments`` directory.
    """

    def __init__(self, store: RunStore):
        self.runs = store
        self.root = store.root / ASSIGNMENTS_DIR

    def create(
        self,
        title: str,
        goal: Goal,
        constraints: list[Constraint] | tuple[Constraint, ...] = (),
        *,
        text: str = "",
        dataset: str | None = None,
        opens_at: str | datetime | None = None,
        deadline: str | datetime | None = None,
        created_by: str | None = None,
        template: str | None = None,
        now: datetime | None = None,
    ) -> Assignment:
        """Check everything, cut the test split and write a new assignment.

        Parameters
        ----------
        title : str
        goal : Goal
        constraints : sequence of Constraint
            Each made by `constraints.make_constraint`.
        text : str
            What the students read.
        dataset : str, optional
            A stored dataset's name; MNIST when None.
        opens_at, deadline : str or datetime, optional
            ISO 8601 with a time zone (a naive time is refused); ``opens_at`` defaults to
            ``now``, the deadline to none.
        created_by : str, optional
            The teacher's name.
        template : str, optional
            The template it was made from.
        now : datetime, optional
            For tests.

        Returns
        -------
        Assignment

        Raises
        ------
        ValueError
            For a bad title, goal, constraint, dataset or time, naming it.
        """
        now = _now(now)
        assignment_id = f"asg-{now.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        record = DatasetStore(self.runs.root).record(MNIST if dataset is None else dataset)
        n_test = len(test_labels(self.runs.root, record))
        assignment = _checked(
            {
                "id": assignment_id,
                "title": title,
                "text": text,
                "dataset": record,
                "goal": goal,
                "constraints": tuple(constraints),
                "opens_at": _iso(now) if opens_at is None else _time(opens_at, "opens_at"),
                "deadline": None if deadline is None else _time(deadline, "deadline"),
                "closed": False,
                "closed_at": None,
                "created": _iso(now),
                "created_by": created_by,
                "template": template,
                "n_test": n_test,
                "hidden": packed(dataset_cut(record["sha256"], n_test)),
            }
        )
        folder = self.folder(assignment_id)
        folder.mkdir(parents=True)
        atomic_write_json(folder / ASSIGNMENT_FILE, assignment.to_dict())
        return assignment

    def get(self, assignment_id: str) -> Assignment:
        """The assignment ``assignment_id``.

        Raises
        ------
        KeyError
            If there is none.
        DamagedRunError
            If its file is damaged (the message says which field).
        """
        folder = self.folder(assignment_id)
        if not folder.is_dir() or folder.is_symlink():
            raise KeyError(f"no assignment {assignment_id!r}")
        return _read(folder / ASSIGNMENT_FILE)

    def list(self) -> list[Listed]:
        """Every assignment, newest first; a damaged one is listed with its reason."""
        if not self.root.is_dir():
            return []
        listed = []
        for path in sorted(self.root.iterdir(), key=lambda path: path.name, reverse=True):
            if not path.is_dir() or path.is_symlink() or not RUN_ID_PATTERN.fullmatch(path.name):
                continue
            try:
                listed.append(Listed(path.name, _read(path / ASSIGNMENT_FILE)))
            except DamagedRunError as error:
                listed.append(Listed(path.name, None, str(error)))
        return listed

    def edit(self, assignment_id: str, **fields: Any) -> Assignment:
        """Change ``title``, ``text``, ``goal``, ``constraints``, ``opens_at`` or ``deadline``.

        Raises
        ------
        ValueError
            For an unknown field or a bad value; for a goal, constraint or deadline change
            once the grades are frozen.
        """
        unknown = sorted(set(fields) - set(EDITABLE))
        if unknown:
            raise ValueError(f"cannot edit {unknown}; editable: {list(EDITABLE)}")
        with self._locked(assignment_id) as folder:
            current = self.get(assignment_id)
            if set(fields) & set(GRADED_FIELDS) and _present(folder / GRADES_FILE):
                raise ValueError(
                    "its grades are frozen: the goal, constraints and deadline cannot change"
                )
            changed = {
                name: _time(value, name) if name in TIMES and value is not None else value
                for name, value in fields.items()
            }
            assignment = _checked({**_fields(current), **changed})
            atomic_write_json(folder / ASSIGNMENT_FILE, assignment.to_dict())
        return assignment

    def set_closed(
        self, assignment_id: str, closed: bool, now: datetime | None = None
    ) -> Assignment:
        """Close (or reopen) the assignment; `grading.close` also freezes the grades.

        Raises
        ------
        ValueError
            When reopening an assignment whose grades are frozen.
        """
        with self._locked(assignment_id) as folder:
            current = self.get(assignment_id)
            if not closed and _present(folder / GRADES_FILE):
                raise ValueError("its grades are frozen: it cannot be opened again")
            closed_at = (current.closed_at or _iso(_now(now))) if closed else None
            assignment = dataclasses.replace(current, closed=closed, closed_at=closed_at)
            atomic_write_json(folder / ASSIGNMENT_FILE, assignment.to_dict())
        return assignment

    def delete(self, assignment_id: str) -> None:
        """Delete the assignment and its grading record."""
        with self._locked(assignment_id) as folder:
            shutil.rmtree(folder)

    def frozen(self, assignment_id: str) -> Frozen | None:
        """The checked grading record (``grades.json``), or None before it is frozen.

        Raises
        ------
        DamagedRunError
            If the record is damaged.
        """
        path = self.folder(assignment_id) / GRADES_FILE
        if not _present(path):
            return None
        data = read_json(path, MAX_GRADES_BYTES)
        if data.get("format") != FORMAT_VERSION or not is_aware_time(data.get("frozen_at")):
            raise DamagedRunError(f"{GRADES_FILE} has no format {FORMAT_VERSION} or no frozen_at")
        results = data.get("results")
        if not isinstance(results, list) or len(results) > MAX_RESULTS:
            raise DamagedRunError(f"{GRADES_FILE}'s results are not a list of results")
        try:
            return Frozen(data["frozen_at"], [RunResult.from_dict(r) for r in results])
        except ValueError as error:
            raise DamagedRunError(f"{GRADES_FILE} holds a malformed result ({error})") from None

    def write_frozen(self, assignment_id: str, frozen_at: str, results: list[RunResult]) -> bool:
        """Write the grading record unless one exists (first writer wins); whether it wrote."""
        if len(results) > MAX_RESULTS:
            raise ValueError(f"a grading record holds at most {MAX_RESULTS} results")
        with self._locked(assignment_id) as folder:
            if _present(folder / GRADES_FILE):
                return False
            atomic_write_json(
                folder / GRADES_FILE,
                {
                    "format": FORMAT_VERSION,
                    "frozen_at": frozen_at,
                    "results": [result.to_dict() for result in results],
                },
            )
        return True

    def folder(self, assignment_id: str) -> Path:
        """The directory of ``assignment_id`` (its id checked)."""
        return self.root / validate_run_id(assignment_id)

    @contextlib.contextmanager
    def _locked(self, assignment_id: str) -> Iterator[Path]:
        """Hold the assignment's directory lock; KeyError if there is no such assignment."""
        folder = self.folder(assignment_id)
        if not folder.is_dir() or folder.is_symlink():
            raise KeyError(f"no assignment {assignment_id!r}")
        with locked_directory(folder):
            yield folder


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _time(value: str | datetime, what: str) -> str:
    """``value`` as ISO 8601 text with its time zone; ``ValueError`` for a naive or bad time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{what} must be an ISO 8601 time such as 2027-01-15T18:00+00:00, got {value!r}"
            ) from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"{what} needs a time zone, e.g. 2027-01-15T18:00+00:00 or ...Z")
    return _iso(value)


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _fields(assignment: Assignment) -> dict:
    return {name: getattr(assignment, name) for name in FIELDS}


def _checked(fields: dict) -> Assignment:
    """An `Assignment` of ``fields`` once each one checks; ``ValueError`` names the first."""
    title = fields["title"]
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE_LENGTH:
        raise ValueError(f"a title is a text of 1 to {MAX_TITLE_LENGTH} characters")
    text = fields["text"]
    if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"an assignment's text has at most {MAX_TEXT_LENGTH:,} characters")
    if not isinstance(fields["goal"], Goal):
        raise ValueError("an assignment's goal is a Goal")
    fields["goal"].check()
    for name in ("opens_at", "created", *(n for n in ("deadline", "closed_at") if fields[n])):
        if not is_aware_time(fields[name]):
            raise ValueError(f"{name} is not an ISO 8601 time with a time zone")
    deadline = fields["deadline"] and datetime.fromisoformat(fields["deadline"])
    if deadline and deadline <= datetime.fromisoformat(fields["opens_at"]):
        raise ValueError("the deadline must come after the assignment opens")
    if not isinstance(fields["closed"], bool) or fields["closed"] != bool(fields["closed_at"]):
        raise ValueError("closed and closed_at disagree")
    if fields["created_by"] is not None:
        fields = {**fields, "created_by": validate_owner_name(fields["created_by"])}
    if fields["template"] is not None and not (
        isinstance(fields["template"], str) and len(fields["template"]) <= MAX_OWNER_LENGTH
    ):
        raise ValueError("template is not a template's key")
    dataset = fields["dataset"]
    if not (
        isinstance(dataset, dict)
        and set(dataset) == {"name", "sha256"}
        and all(isinstance(v, str) and len(v) <= 100 for v in dataset.values())
    ):
        raise ValueError("dataset is not a name and a SHA-256")
    n_test = fields["n_test"]
    if isinstance(n_test, bool) or not isinstance(n_test, int) or not 2 <= n_test <= 10**6:
        raise ValueError("n_test is not a count of test digits")
    unpacked(fields["hidden"], n_test)
    validate_run_id(fields["id"])
    return Assignment(**{**fields, "constraints": check_constraints(fields["constraints"])})


def _read(path: Path) -> Assignment:
    """The assignment of ``path``, every field checked; `DamagedRunError` says which is not."""
    data = read_json(path, MAX_ASSIGNMENT_BYTES)
    try:
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"its format is not version {FORMAT_VERSION}")
        missing = [name for name in FIELDS if name not in data]
        if missing:
            raise ValueError(f"it lacks {missing}")
        goal = data["goal"]
        if not isinstance(goal, dict) or set(goal) != {"metric", "threshold"}:
            raise ValueError("its goal is not a metric and a threshold")
        constraints = data["constraints"]
        if not isinstance(constraints, list):
            raise ValueError("its constraints are not a list")
        engine = next(
            (
                c.get("value")
                for c in constraints
                if isinstance(c, dict)
                and c.get("setting") == "engine"
                and c.get("rule") == "equals"
            ),
            None,
        )
        fields = {name: data[name] for name in FIELDS}
        fields["goal"] = Goal(goal["metric"], goal["threshold"])
        fields["constraints"] = tuple(
            constraint_from_dict(c, engine if isinstance(engine, str) else None)
            for c in constraints
        )
        assignment = _checked(fields)
    except (ValueError, TypeError, KeyError) as error:
        raise DamagedRunError(f"{ASSIGNMENT_FILE} is malformed: {error}") from None
    if path.parent.name != assignment.id:
        raise DamagedRunError(f"{ASSIGNMENT_FILE} names another assignment ({assignment.id!r})")
    return assignment
