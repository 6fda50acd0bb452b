"""What every page may score a run on while an assignment keeps part of its test split hidden.

An assignment hides part of its dataset's test split until it ends (`heldout`): a student who
could read a run's score on the whole split beside its score on the visible part would work
out the hidden part's score. So while any assignment on a dataset has not ended, every page
scores that dataset's runs on the digits no such assignment hides (`shown_evaluation`), and
says so (`Part.describe`). Assignments on one dataset hide the same digits (the cut is seeded
from the dataset), so the visible part stays half the split however many there are; older
assignments cut by their id are hidden together with it.

Which assignments hide what is read from their files once per version of each file, and what
is hidden is decided afresh on every call from the current time, so a deadline needs no writer.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from mnist_lab.assignments.store import ASSIGNMENT_FILE, AssignmentStore
from mnist_lab.datasets import recorded_dataset
from mnist_lab.evaluation import EVALUATION_FILE, PREDICTIONS_FILE, load_predictions, summarize
from mnist_lab.files import DamagedRunError, KeptByVersion, file_version
from mnist_lab.runs import Run, RunStore

# Scores on a visible part, one per run, part and file version: about 200 kB each with the
# per-digit predictions of 5,000 digits.
_SHOWN = KeptByVersion(256)
# One hidden part per assignment file version.
_HIDERS = KeptByVersion(1024)


class ScoreWithheld(Exception):
    """A run's scores cannot be restricted to the visible part, so no page shows them."""


@dataclass(frozen=True)
class Hider:
    """One assignment's hidden part, as long as it hides it.

    Attributes
    ----------
    title : str
    dataset : str
        The SHA-256 of the dataset whose test split it cuts.
    hidden : numpy.ndarray
        ``n_test`` booleans, True for a hidden digit.
    ends_at : datetime or None
        When its hidden part's scores may be shown (`store.Assignment.ends_at`); None: not
        before it is closed.
    """

    title: str
    dataset: str
    hidden: np.ndarray
    ends_at: datetime | None

    def hides(self, now: datetime) -> bool:
        """Whether it still hides its part at ``now``."""
        return self.ends_at is None or now < self.ends_at


@dataclass(frozen=True)
class Part:
    """The test digits of one dataset that pages may score runs on.

    Attributes
    ----------
    visible : numpy.ndarray
        ``n_test`` booleans, True for a digit pages may score runs on.
    hidden_by : tuple of str
        The titles of the assignments that hide the others.
    key : str
        Names this part (changes with it): for caches.
    """

    visible: np.ndarray
    hidden_by: tuple[str, ...]
    key: str

    @property
    def n_test(self) -> int:
        """Digits in the whole test split."""
        return len(self.visible)

    def describe(self) -> str:
        """The part in words (plain text: titles are the teacher's), for a caption."""
        titles = ", ".join(f"'{title}'" for title in self.hidden_by)
        one = len(self.hidden_by) == 1
        keep = "assignment {} keeps" if one else "assignments {} keep"
        return (
            f"Scored on the {int(self.visible.sum()):,} of {self.n_test:,} test digits students "
            f"can see: the {keep.format(titles)} the others hidden until "
            f"{'it ends' if one else 'they end'}."
        )


def hiders(runs_root: Path | str) -> list[Hider]:
    """Every assignment of ``runs_root`` with its hidden part, whether it still hides it or not.

    Damaged assignment files are left out (the Class page names them). Each file is read once
    per version.
    """
    store = AssignmentStore(RunStore(runs_root))
    try:
        entries = sorted(os.scandir(store.root), key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        path = os.path.join(entry.path, ASSIGNMENT_FILE)
        if entry.is_dir(follow_symlinks=False) and file_version(path) is not None:
            hider = _HIDERS.of_file(Path(path), lambda _, name=entry.name: _hider(store, name))
            if hider is not False:
                found.append(hider)
    return found


def secret_parts(runs_root: Path | str, now: datetime | None = None) -> dict[str, Part]:
    """The visible part of each dataset that has one at ``now``, by the dataset's SHA-256.

    A dataset no assignment hides digits of is not in it: pages score its runs on every test
    digit.
    """
    now = datetime.now(UTC) if now is None else now
    by_dataset: dict[str, list[Hider]] = {}
    for hider in hiders(runs_root):
        if hider.hides(now):
            by_dataset.setdefault(hider.dataset, []).append(hider)
    return {sha256: _part(found) for sha256, found in by_dataset.items()}


def part_of(run: Run, parts: dict[str, Part] | None = None) -> Part | None:
    """The visible part ``run``'s scores are shown on, or None for the whole test split.

    Parameters
    ----------
    run : Run
    parts : dict, optional
        `secret_parts` of ``run``'s store, when the caller reads many runs at once.

    Raises
    ------
    DamagedRunError
        If ``run``'s config is unreadable.
    """
    parts = secret_parts(run.path.parent) if parts is None else parts
    if not parts:
        return None
    return parts.get(recorded_dataset(run.config())["sha256"])


def shown_evaluation(run: Run, parts: dict[str, Part] | None = None) -> dict | None:
    """``run``'s evaluation as every page shows it: on the visible part while one is secret.

    Parameters
    ----------
    run : Run
    parts : dict, optional
        `secret_parts` of ``run``'s store, when the caller reads many runs at once.

    Returns
    -------
    dict or None
        ``evaluation.json`` as `mnist_lab.evaluation.summarize` makes it, or None without
        one. On a visible part its scores, confusion matrix and per-class figures count the
        visible digits only, and it has two more fields: ``visible_indices`` (the test
        digits it counts, ascending) and ``part`` (the `Part`).

    Raises
    ------
    DamagedRunError
        If the run's files are unreadable.
    ScoreWithheld
        If a part is secret and the run's predictions cannot be restricted to it.
    """
    evaluation = run.evaluation()
    part = part_of(run, parts) if evaluation is not None else None
    if part is None:
        return evaluation
    versions = (file_version(run.file(EVALUATION_FILE)), file_version(run.file(PREDICTIONS_FILE)))
    key = (str(run.path), part.key, *versions)
    kept = _SHOWN.get(key)
    if kept is None:
        kept = _on_part(run, part)
        _SHOWN.put(key, kept)
    return kept


def _on_part(run: Run, part: Part) -> dict:
    """``run``'s evaluation counted on ``part``'s visible digits only."""
    try:
        y_true, probabilities = load_predictions(run)
    except DamagedRunError as error:
        raise ScoreWithheld(
            f"its scores are not shown while an assignment hides test digits ({error})"
        ) from None
    if len(y_true) != part.n_test:
        raise ScoreWithheld(
            f"its {len(y_true):,} test predictions are not of the {part.n_test:,} test digits "
            "an assignment hides part of, so its scores are not shown until it ends"
        )
    indices = np.flatnonzero(part.visible)
    shown = summarize(y_true[indices], probabilities[indices])
    return shown | {"visible_indices": indices, "part": part}


def _part(found: list[Hider]) -> Part:
    hidden = np.logical_or.reduce([hider.hidden for hider in found])
    titles = tuple(dict.fromkeys(hider.title for hider in found))
    key = hashlib.sha256(np.packbits(hidden).tobytes()).hexdigest()[:16]
    return Part(~hidden, titles, key)


def _hider(store: AssignmentStore, assignment_id: str) -> Hider | bool:
    """The `Hider` of one assignment file; False for a damaged one (kept, so read once)."""
    try:
        assignment = store.get(assignment_id)
    except (KeyError, ValueError, DamagedRunError):
        return False
    return Hider(
        assignment.title,
        assignment.dataset["sha256"],
        assignment.hidden_part(),
        assignment.ends_at(),
    )
