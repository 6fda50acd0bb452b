"""Ready-made assignments from the lessons, for the teacher to set in one click."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mnist_lab.assignments.constraints import Constraint
from mnist_lab.assignments.store import Assignment, AssignmentStore, Goal


@dataclass(frozen=True)
class Template:
    """A ready-made assignment.

    Attributes
    ----------
    key : str
    title, text : str
    goal : Goal
    constraints : tuple of Constraint
    own_dataset : bool
        Whether the teacher picks a stored dataset for it (MNIST otherwise).
    lesson : str
        The lesson it comes from (`mnist_lab.lessons.catalogue`'s key).
    """

    key: str
    title: str
    text: str
    goal: Goal
    constraints: tuple[Constraint, ...]
    own_dataset: bool
    lesson: str


def templates() -> dict[str, Template]:
    """The ready-made assignments by key, in the order the Class page offers them."""
    raise NotImplementedError


def create_from_template(
    assignments: AssignmentStore,
    key: str,
    *,
    dataset: str | None = None,
    deadline: str | datetime | None = None,
    created_by: str | None = None,
    now: datetime | None = None,
) -> Assignment:
    """A new assignment from template ``key`` (`AssignmentStore.create`'s checks).

    Raises
    ------
    ValueError
        For an unknown key, or a template that needs a dataset given none.
    """
    raise NotImplementedError
