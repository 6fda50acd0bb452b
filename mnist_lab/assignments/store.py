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

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.assignments.constraints import Constraint
from mnist_lab.runs import RunStore

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
# The share of the test split hidden from students until the deadline.
HIDDEN_SHARE = 0.5


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
        raise NotImplementedError

    def met(self, accuracy: float, loss: float) -> bool:
        """Whether a score of ``accuracy`` and ``loss`` reaches the goal."""
        raise NotImplementedError


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
        The `templates.TEMPLATES` key it was made from.
    n_test : int
        Test digits of its dataset when it was cut.
    hidden : str
        The hidden part of the test split (`heldout.cut`, seeded from its id): a bit per
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
    hidden: str

    def hidden_part(self) -> np.ndarray:
        """Whether each test digit is in the hidden part: ``n_test`` booleans."""
        raise NotImplementedError

    def ends_at(self) -> datetime | None:
        """When it stops taking runs: its deadline, or when it was closed if earlier."""
        raise NotImplementedError

    def has_ended(self, now: datetime | None = None) -> bool:
        """Whether ``now`` is at or past `ends_at`: hidden scores shown, grades frozen."""
        raise NotImplementedError

    def has_opened(self, now: datetime | None = None) -> bool:
        """Whether ``now`` is at or past ``opens_at``."""
        raise NotImplementedError

    def is_open(self, now: datetime | None = None) -> bool:
        """Whether it has opened, has not ended and is not closed: runs are graded for it."""
        raise NotImplementedError

    def state(self, now: datetime | None = None) -> str:
        """``not open yet``, ``open``, ``past deadline`` or ``closed``."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """The ``assignment.json`` of this assignment."""
        raise NotImplementedError


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
        raise NotImplementedError

    def get(self, assignment_id: str) -> Assignment:
        """The assignment ``assignment_id``.

        Raises
        ------
        KeyError
            If there is none.
        DamagedRunError
            If its file is damaged (the message says which field).
        """
        raise NotImplementedError

    def list(self) -> list[Listed]:
        """Every assignment, newest first; a damaged one is listed with its reason."""
        raise NotImplementedError

    def edit(self, assignment_id: str, **fields: Any) -> Assignment:
        """Change ``title``, ``text``, ``goal``, ``constraints``, ``opens_at`` or ``deadline``.

        Raises
        ------
        ValueError
            For an unknown field or a bad value; for a goal, constraint or deadline change
            once the grades are frozen.
        """
        raise NotImplementedError

    def set_closed(
        self, assignment_id: str, closed: bool, now: datetime | None = None
    ) -> Assignment:
        """Close (or reopen) the assignment; `grading.close` also freezes the grades.

        Raises
        ------
        ValueError
            When reopening an assignment whose grades are frozen.
        """
        raise NotImplementedError

    def delete(self, assignment_id: str) -> None:
        """Delete the assignment and its grading record."""
        raise NotImplementedError

    def frozen(self, assignment_id: str) -> dict | None:
        """The checked grading record (``grades.json``) or None before it is frozen.

        Returns
        -------
        dict or None
            ``{"frozen_at": str, "results": list of dict}`` (each a
            `grading.RunResult.to_dict`).

        Raises
        ------
        DamagedRunError
            If the record is damaged.
        """
        raise NotImplementedError

    def write_frozen(self, assignment_id: str, frozen_at: str, results: list[dict]) -> bool:
        """Write the grading record unless one exists (first writer wins); whether it wrote."""
        raise NotImplementedError

    def folder(self, assignment_id: str) -> Path:
        """The directory of ``assignment_id`` (its id checked)."""
        raise NotImplementedError
