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
hidden part only once the assignment has ended and no other assignment still hides those
digits (`hidden_revealed`); the teacher sees everything.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mnist_lab.assignments.constraints import PARAMETERS, recorded_breaks
from mnist_lab.assignments.heldout import Score, part_scores, test_labels
from mnist_lab.assignments.results import GRADEBOOK_COLUMNS, RunResult
from mnist_lab.assignments.secrecy import secret_parts
from mnist_lab.assignments.store import Assignment, AssignmentStore, Frozen
from mnist_lab.datasets import recorded_dataset
from mnist_lab.engines import engine_of
from mnist_lab.evaluation import PREDICTIONS_FILE, load_predictions
from mnist_lab.files import DamagedRunError, KeptByVersion, file_version
from mnist_lab.run_summary import progress_records, training_time
from mnist_lab.runs import Run
from mnist_lab.spreadsheet import spreadsheet_safe

FINISHED = "finished"
# Counting a Keras model's parameters loads it (a second); scoring reads 400 kB: once per
# file version each.
_PARAMETERS = KeptByVersion(1024)
_SCORES = KeptByVersion(1024)


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
        Whether the hidden part's scores are in the rows (teacher, or `hidden_revealed`).
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
    now = _now(now)
    status = run.status()
    finished = status.get("ended")
    ends = assignment.ends_at()
    late = bool(ends and finished and datetime.fromisoformat(finished) > ends)
    graded_on = "hidden" if assignment.has_ended(now) else "visible"
    broken: list[str] = []
    parameters = seconds = epochs = scores = None
    try:
        config = run.config()
    except DamagedRunError as error:
        problem = str(error)
    else:
        problem = _dataset_problem(assignment, config)
        broken = [] if problem is None else [problem]
        epochs = _epochs(run, config)
        if epochs is not None:
            config = {**config, "epochs": epochs}
        seconds = training_time(run, status, _evaluation(run))
        # Counting loads the model (a second for Keras): only when a constraint needs it.
        if any(c.setting == PARAMETERS for c in assignment.constraints):
            parameters = _parameters(run)
        breaks = recorded_breaks(assignment.constraints, config, parameters, seconds)
        broken += [b.reason for b in breaks]
    if problem is None:
        try:
            scores = _part_scores(assignment, run)
        except (DamagedRunError, KeyError, ValueError) as error:
            problem = str(error)
    visible, hidden = scores if scores is not None else (None, None)
    score = hidden if graded_on == "hidden" else visible
    goal_met = None if score is None else assignment.goal.met(score.accuracy, score.loss)
    return RunResult(
        assignment=assignment.id,
        run=run.id,
        run_name=run.name,
        student=run.owner or "",
        finished=finished,
        late=late,
        visible=visible,
        hidden=hidden if show_hidden else None,
        parameters=parameters,
        epochs=epochs,
        training_seconds=seconds,
        broken=tuple(broken),
        goal_met=goal_met,
        graded_on=graded_on,
        passed=bool(goal_met) and not broken and problem is None,
        problem=problem,
    )


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
    now = _now(now)
    assignment = assignments.get(assignment_id)
    frozen = _freeze(assignments, assignment, now) if assignment.has_ended(now) else None
    # A student who gave no name owns no run: an empty name matches nobody's.
    mine = None if teacher else (person or "")
    if frozen is None:
        rows = best_per_student(_graded(assignments, assignment, now, mine), assignment)
    else:
        on_time = [r for r in frozen.results if mine is None or r.student == mine]
        late = [r for r in _graded(assignments, assignment, now, mine) if r.late]
        rows = best_per_student(on_time, assignment) + best_per_student(late, assignment)
    shown = teacher or hidden_revealed(assignments, assignment, now)
    return Gradebook(
        assignment,
        rows if shown else [row.hiding() for row in rows],
        None if frozen is None else frozen.frozen_at,
        shown,
    )


def results_of_run(
    assignments: AssignmentStore,
    run: Run,
    person: str | None,
    teacher: bool,
    now: datetime | None = None,
) -> list[RunResult]:
    """``run`` checked against each assignment it counts for (Train page, Runs page).

    It counts for an assignment that had opened when it finished, while the assignment is
    open, or for good if it finished in time. Empty for an unfinished run, a run without
    owner, and a run of somebody else when ``person`` is a student.
    """
    now = _now(now)
    owner, status = run.owner, run.status()
    if owner is None or not (teacher or owner == person) or status.get("state") != FINISHED:
        return []
    results = []
    for listed in assignments.list():
        assignment = listed.assignment
        if assignment is None or not _counts(assignment, status.get("ended")):
            continue
        shown = teacher or hidden_revealed(assignments, assignment, now)
        result = grade_run(assignment, run, now, show_hidden=shown)
        if assignment.is_open(now) or not result.late:
            results.append(result)
    return results


def hidden_revealed(
    assignments: AssignmentStore, assignment: Assignment, now: datetime | None = None
) -> bool:
    """Whether students may see scores on ``assignment``'s hidden part at ``now``.

    Once it has ended, unless another assignment on its dataset still hides some of those
    digits: its hidden part is the same cut, so the scores would tell on that one.
    """
    now = _now(now)
    if not assignment.has_ended(now):
        return False
    part = secret_parts(assignments.runs.root, now).get(assignment.dataset["sha256"])
    return part is None or not (assignment.hidden_part() & ~part.visible).any()


def student_summary(
    assignments: AssignmentStore, person: str, now: datetime | None = None
) -> list[tuple[Assignment, RunResult | None]]:
    """Every open or ended assignment a student sees, with their best run (None if none yet).

    Hidden scores only for ended assignments. Damaged assignments are left out.
    """
    now = _now(now)
    summary = []
    for listed in assignments.list():
        assignment = listed.assignment
        if assignment is None or not assignment.has_opened(now):
            continue
        rows = gradebook(assignments, assignment.id, person, False, now).rows
        summary.append((assignment, rows[0] if rows else None))
    return summary


def best_per_student(results: list[RunResult], assignment: Assignment) -> list[RunResult]:
    """Each student's best run of ``results``: passed first, then constraints met, then score.

    The score compared is the one on ``graded_on`` (a higher accuracy for an accuracy goal, a
    lower loss for a loss goal); students come in the order of their names.
    """
    best: dict[str, RunResult] = {}
    # Earliest first, so a tie goes to the run that reached it first.
    for result in sorted(results, key=lambda r: (r.finished or "", r.run)):
        kept = best.get(result.student)
        if kept is None or _rank(result, assignment) > _rank(kept, assignment):
            best[result.student] = result
    return [best[student] for student in sorted(best, key=str.casefold)]


def close(
    assignments: AssignmentStore, assignment_id: str, now: datetime | None = None
) -> Assignment:
    """Close ``assignment_id`` now and freeze its grading record."""
    assignments.set_closed(assignment_id, True, now)
    assignment = assignments.get(assignment_id)
    _freeze(assignments, assignment, _now(now))
    return assignment


def freeze_due(assignments: AssignmentStore, now: datetime | None = None) -> list[str]:
    """Freeze the grading record of every assignment that has ended; the ids frozen now."""
    now = _now(now)
    frozen = []
    for listed in assignments.list():
        assignment = listed.assignment
        if assignment is None or not assignment.has_ended(now):
            continue
        try:
            if assignments.frozen(assignment.id) is None:
                _freeze(assignments, assignment, now)
                frozen.append(assignment.id)
        except DamagedRunError:
            continue
    return frozen


def gradebook_csv(book: Gradebook) -> str:
    """The gradebook as CSV: a header of `GRADEBOOK_COLUMNS`, one row per result."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=GRADEBOOK_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for result in book.rows:
        writer.writerow({key: _cell(value) for key, value in result.row().items()})
    return out.getvalue()


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now


def _counts(assignment: Assignment, finished: str | None) -> bool:
    """Whether a run that ended at ``finished`` is graded for ``assignment`` (on time or late)."""
    return bool(finished) and datetime.fromisoformat(finished) >= datetime.fromisoformat(
        assignment.opens_at
    )


def _graded(
    assignments: AssignmentStore, assignment: Assignment, now: datetime, person: str | None
) -> list[RunResult]:
    """Every finished run of every student (of ``person`` only, if given), graded now."""
    results = []
    for run in assignments.runs.list():
        owner = run.owner
        if owner is None or (person is not None and owner != person):
            continue
        status = run.status()
        if status.get("state") == FINISHED and _counts(assignment, status.get("ended")):
            results.append(grade_run(assignment, run, now))
    return results


def _freeze(assignments: AssignmentStore, assignment: Assignment, now: datetime) -> Frozen:
    """The assignment's grading record, written now from its on-time runs if there is none."""
    frozen = assignments.frozen(assignment.id)
    if frozen is not None:
        return frozen
    on_time = [r for r in _graded(assignments, assignment, now, None) if not r.late]
    assignments.write_frozen(assignment.id, now.isoformat(timespec="seconds"), on_time)
    # Another process may have frozen it first: its record is the one.
    return assignments.frozen(assignment.id)


def _rank(result: RunResult, assignment: Assignment) -> tuple:
    score = result.hidden if result.graded_on == "hidden" else result.visible
    if score is None:
        value = -math.inf
    else:
        value = score.accuracy if assignment.goal.metric == "accuracy" else -score.loss
    return (result.passed, result.constraints_met, value)


def _epochs(run: Run, config: dict) -> int | None:
    """The epochs ``run`` trained: its config's, or more if its own records reached more
    (a config edited by hand to claim fewer)."""
    asked = config.get("epochs")
    asked = asked if isinstance(asked, int) and not isinstance(asked, bool) else None
    reached = [r["epoch"] for r in progress_records(run) if r["kind"] == "epoch"]
    return max([*reached, *([] if asked is None else [asked])], default=None)


def _evaluation(run: Run) -> dict | None:
    try:
        return run.evaluation()
    except DamagedRunError:
        return None


def _parameters(run: Run) -> int | None:
    """The parameters of ``run``'s saved model, counted once per file version; None if unknown."""
    try:
        engine = engine_of(run)
        path = engine.model_file(run)
        if path is None:
            return None
        return _PARAMETERS.of_file(path, lambda _: engine.count_parameters(run))
    except (DamagedRunError, KeyError, ValueError, OSError):
        return None


def _part_scores(assignment: Assignment, run: Run) -> tuple[Score, Score]:
    """``run``'s scores on the assignment's visible and hidden parts, once per file version.

    Raises
    ------
    DamagedRunError
        If its predictions are unreadable or are not of the assignment's test digits.
    """
    path = run.file(PREDICTIONS_FILE)
    version = file_version(path)
    key = (assignment.id, str(path), version)
    kept = _SCORES.get(key) if version is not None else None
    if kept is not None:
        return kept
    y_true = test_labels(run.path.parent, assignment.dataset)
    saved, probabilities = load_predictions(run)
    if len(saved) != len(y_true) or not (saved == y_true).all():
        raise DamagedRunError(
            f"{PREDICTIONS_FILE} is not of the {len(y_true):,} test digits of "
            f"{assignment.dataset['name']}"
        )
    scores = part_scores(y_true, probabilities, assignment.hidden_part())
    _SCORES.put(key, scores)
    return scores


def _dataset_problem(assignment: Assignment, config: dict) -> str | None:
    """Why a run of ``config`` cannot be scored on the assignment's test digits, if it cannot."""
    dataset = recorded_dataset(config)
    if dataset.get("sha256") == assignment.dataset["sha256"]:
        return None
    return f"trained on {dataset.get('name')}: this assignment uses {assignment.dataset['name']}"


def _cell(value: Any) -> Any:
    """A gradebook cell: flags as true/false, scores to 4 decimals, text never a formula."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return spreadsheet_safe(value)
