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
from typing import Any

from mnist_lab.assignments.heldout import Score
from mnist_lab.assignments.store import Assignment, AssignmentStore
from mnist_lab.runs import Run

GRADEBOOK_COLUMNS = (
    "student",
    "run",
    "run_name",
    "passed",
    "broken",
    "constraints_met",
    "goal_met",
    "graded_on",
    "visible_accuracy",
    "visible_loss",
    "hidden_accuracy",
    "hidden_loss",
    "difference",
    "parameters",
    "epochs",
    "training_seconds",
    "finished",
    "late",
)


@dataclass(frozen=True)
class RunResult:
    """One run checked against one assignment.

    Attributes
    ----------
    assignment : str
        The assignment's id.
    run, run_name : str
        The run's id and its name when graded (kept in the frozen record).
    student : str
        The run's owner.
    finished : str or None
        When it ended (ISO 8601).
    late : bool
        It finished after the assignment ended.
    visible, hidden : Score or None
        Its scores on each part; ``hidden`` is None for a student before the end, and both
        are None when its predictions cannot be read (``problem`` says why).
    parameters : int or None
        Counted from the saved model.
    epochs : int or None
        As its config recorded (what an ``epochs`` constraint read).
    training_seconds : float or None
    broken : tuple of str
        Each broken constraint in plain words (``epochs is 5: at most 3 allowed``).
    goal_met : bool or None
        Whether the score on ``graded_on`` reaches the goal; None without a score.
    graded_on : str
        ``hidden`` once the assignment has ended, else ``visible`` (a provisional grade).
    passed : bool
        Every constraint met and the goal reached on ``graded_on``.
    problem : str or None
        Why the run could not be graded (damaged files, another dataset's predictions).
    """

    assignment: str
    run: str
    run_name: str
    student: str
    finished: str | None
    late: bool
    visible: Score | None
    hidden: Score | None
    parameters: int | None
    epochs: int | None
    training_seconds: float | None
    broken: tuple[str, ...]
    goal_met: bool | None
    graded_on: str
    passed: bool
    problem: str | None = None

    @property
    def constraints_met(self) -> bool:
        """Whether it broke no constraint (and could be graded)."""
        return not self.broken and self.problem is None

    @property
    def difference(self) -> float | None:
        """Hidden less visible accuracy; None while the hidden score is not shown."""
        if self.visible is None or self.hidden is None:
            return None
        return self.hidden.accuracy - self.visible.accuracy

    def to_dict(self) -> dict:
        """The result as the grading record keeps it."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: Any) -> RunResult:
        """Read a result of the grading record, every field checked.

        Raises
        ------
        ValueError
            Naming the field that does not check.
        """
        raise NotImplementedError

    def row(self) -> dict:
        """The result as a gradebook row, keyed by `GRADEBOOK_COLUMNS`."""
        raise NotImplementedError


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
