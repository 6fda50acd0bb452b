"""Grading: every finished run of a student checked against every open assignment.

A run is checked only from what the lab recorded: its ``config.json`` read back through its
engine's declarations (`mnist_lab.runs.check_config`), its parameters counted from the saved
model (`mnist_lab.engines.base.Engine.count_parameters`, never ``config.json``'s claim), its
training time (`mnist_lab.run_summary.training_time`) and its saved test predictions scored
against the dataset's own labels on the assignment's two parts (`heldout`). A student is graded
on the runs that record them as ``owner`` only.

At the assignment's deadline (or when it is closed) the results are frozen into its own
grading record (`store.AssignmentStore.write_frozen`): deleting or renaming a run afterwards
changes nothing graded; a run that finishes later is graded live and marked late.

Who is asking decides what is shown: a student sees their own results only, and scores on the
hidden part only once the assignment has ended; the teacher sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mnist_lab.assignments.results import GRADEBOOK_COLUMNS, RunResult
from mnist_lab.assignments.store import Assignment, AssignmentStore
from mnist_lab.runs import Run


@dataclass(frozen=True)
class Gradebook:
    """An assignment's results as one person may see them.

    Attributes
    ----------
    assignment : Assignment
    rows : list of RunResult
        Each student's best run (on-time runs, frozen once ended), then each student's best
        late run marked late; students by name.
    frozen_at : str or None
        When the grades were frozen; None while the assignment is open.
    hidden_shown : bool
        Whether the hidden part's scores are in the rows (teacher, or after the end).
    """

    assignment: Assignment
    rows: list[RunResult]
    frozen_at: str | None
    hidden_shown: bool


def grade_run(
    assignment: Assignment, run: Run, now: datetime | None = None, show_hidden: bool = True
) -> RunResult:
    """Check one finished run against ``assignment`` from what the lab recorded.

    Parameters
    ----------
    assignment : Assignment
    run : Run
        A finished run with an owner.
    now : datetime, optional
        For tests; decides ``graded_on``.
    show_hidden : bool
        Whether the hidden part's score may be returned.

    Returns
    -------
    RunResult
        A run that cannot be graded comes back failed with its ``problem``, never raising.
    """
    raise NotImplementedError


def gradebook(
    assignments: AssignmentStore,
    assignment_id: str,
    person: str | None,
    teacher: bool,
    now: datetime | None = None,
) -> Gradebook:
    """The results of one assignment for ``person`` (a student) or the teacher.

    Freezes the grading record first if the assignment has ended and none is frozen yet.

    Parameters
    ----------
    assignments : AssignmentStore
    assignment_id : str
    person : str or None
        The student asking; a student sees only their own rows.
    teacher : bool
        Whether the teacher asks: every student's rows, and the hidden scores at any time.
    now : datetime, optional
        For tests.

    Raises
    ------
    KeyError
        If there is no such assignment.
    DamagedRunError
        If its file is damaged.
    """
    raise NotImplementedError


def results_of_run(
    assignments: AssignmentStore,
    run: Run,
    person: str | None,
    teacher: bool,
    now: datetime | None = None,
) -> list[RunResult]:
    """``run`` checked against every assignment open when it finished (Train page, Runs page).

    Returns an empty list for a run of somebody else when ``person`` is a student, and for
    a run without owner.
    """
    raise NotImplementedError


def student_summary(
    assignments: AssignmentStore, person: str, now: datetime | None = None
) -> list[tuple[Assignment, RunResult | None]]:
    """Every open or ended assignment a student sees, with their best run (None if none yet).

    Hidden scores only for ended assignments. Damaged assignments are left out.
    """
    raise NotImplementedError


def best_per_student(results: list[RunResult]) -> list[RunResult]:
    """Each student's best run of ``results``: passed first, then constraints met, then score.

    The score compared is the one on ``graded_on`` (accuracy for an accuracy goal, lower
    loss for a loss goal).
    """
    raise NotImplementedError


def close(
    assignments: AssignmentStore, assignment_id: str, now: datetime | None = None
) -> Assignment:
    """Close ``assignment_id`` now and freeze its grading record."""
    raise NotImplementedError


def freeze_due(assignments: AssignmentStore, now: datetime | None = None) -> list[str]:
    """Freeze the grading record of every assignment that has ended; the ids frozen now."""
    raise NotImplementedError


def gradebook_csv(book: Gradebook) -> str:
    """The gradebook as CSV: a header of `GRADEBOOK_COLUMNS`, one row per result."""
    raise NotImplementedError
