"""One run's result in an assignment: what grading finds and the grading record keeps.

`RunResult` is written into an assignment's frozen record (`store`) and read back with every
field checked, so a record edited by hand reads as damaged rather than as a grade.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mnist_lab.assignments.constraints import is_number
from mnist_lab.assignments.heldout import Score
from mnist_lab.files import is_aware_time
from mnist_lab.runs import MAX_NAME_LENGTH, validate_owner_name, validate_run_id

GRADED_PARTS = ("visible", "hidden")
MAX_REASON_LENGTH = 500
MAX_BROKEN = 50

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
        Counted from the saved model; None when no constraint bounds them (counting loads
        the model) or the model cannot be read.
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
        data = {name: getattr(self, name) for name in _FIELDS}
        data["broken"] = list(self.broken)
        for part in GRADED_PARTS:
            score = getattr(self, part)
            data[part] = None if score is None else vars(score).copy()
        return data

    @classmethod
    def from_dict(cls, data: Any) -> RunResult:
        """Read a result of the grading record, every field checked.

        Raises
        ------
        ValueError
            Naming the field that does not check.
        """
        if not isinstance(data, dict):
            raise ValueError("a result is not an object")
        fields = {name: data.get(name) for name in _FIELDS}
        for part in GRADED_PARTS:
            fields[part] = _score(data.get(part), part)
        _check(fields)
        return cls(**{**fields, "broken": tuple(fields["broken"])})

    def hiding(self) -> RunResult:
        """This result without the hidden part's score (what a student sees before the end)."""
        return dataclasses.replace(self, hidden=None)

    def row(self) -> dict:
        """The result as a gradebook row, keyed by `GRADEBOOK_COLUMNS`."""
        visible, hidden = self.visible, self.hidden
        return {
            "student": self.student,
            "run": self.run,
            "run_name": self.run_name,
            "passed": self.passed,
            "broken": "; ".join(self.broken) or self.problem or "",
            "constraints_met": self.constraints_met,
            "goal_met": self.goal_met,
            "graded_on": self.graded_on,
            "visible_accuracy": None if visible is None else visible.accuracy,
            "visible_loss": None if visible is None else visible.loss,
            "hidden_accuracy": None if hidden is None else hidden.accuracy,
            "hidden_loss": None if hidden is None else hidden.loss,
            "difference": self.difference,
            "parameters": self.parameters,
            "epochs": self.epochs,
            "training_seconds": self.training_seconds,
            "finished": self.finished,
            "late": self.late,
        }


_FIELDS = tuple(name for name in RunResult.__dataclass_fields__ if name not in GRADED_PARTS)


def _score(data: Any, part: str) -> Score | None:
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) != {"accuracy", "loss", "n"}:
        raise ValueError(f"the {part} score is not accuracy, loss and n")
    accuracy, loss, n = data["accuracy"], data["loss"], data["n"]
    if not (is_number(accuracy) and 0 <= accuracy <= 1 and is_number(loss) and loss >= 0):
        raise ValueError(f"the {part} score's accuracy or loss is out of range")
    if not _whole(n) or n < 1:
        raise ValueError(f"the {part} score's n is not a count")
    return Score(float(accuracy), float(loss), n)


def _check(fields: dict) -> None:
    """Raise ``ValueError`` naming the first field of a recorded result that does not check."""
    validate_run_id(fields["assignment"])
    validate_run_id(fields["run"])
    validate_owner_name(fields["student"])
    name = fields["run_name"]
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
        raise ValueError("run_name is not a run's name")
    if fields["finished"] is not None and not is_aware_time(fields["finished"]):
        raise ValueError("finished is not a time with a zone")
    for flag in ("late", "passed"):
        if not isinstance(fields[flag], bool):
            raise ValueError(f"{flag} is not true or false")
    if fields["goal_met"] is not None and not isinstance(fields["goal_met"], bool):
        raise ValueError("goal_met is not true, false or null")
    if fields["graded_on"] not in GRADED_PARTS:
        raise ValueError(f"graded_on is not one of {list(GRADED_PARTS)}")
    for count in ("parameters", "epochs"):
        if fields[count] is not None and not (_whole(fields[count]) and fields[count] >= 0):
            raise ValueError(f"{count} is not a count")
    seconds = fields["training_seconds"]
    if seconds is not None and not (is_number(seconds) and seconds >= 0):
        raise ValueError("training_seconds is not a duration")
    broken = fields["broken"]
    if not isinstance(broken, list) or len(broken) > MAX_BROKEN:
        raise ValueError(f"broken is not a list of at most {MAX_BROKEN} reasons")
    for reason in [*broken, fields["problem"]]:
        if reason is not None and not (
            isinstance(reason, str) and len(reason) <= MAX_REASON_LENGTH
        ):
            raise ValueError(f"a reason is not a text of at most {MAX_REASON_LENGTH} characters")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
