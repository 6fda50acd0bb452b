"""The Class page's tables: runs by student, the leaderboard, who is training, results as CSV."""

from __future__ import annotations

import pandas as pd

from dashboard.ui.train.training_view import format_seconds
from mnist_lab.execution.fair_queue import QueuePlace
from mnist_lab.runs import RunStore
from mnist_lab.spreadsheet import spreadsheet_safe
from mnist_lab.status import LIVE_STATES

NO_NAME = "(no name)"
# Columns of the class's CSV, in order: who, which run, how it was set, how it did.
CSV_COLUMNS = (
    "student",
    "name",
    "state",
    "test_accuracy",
    "test_loss",
    "engine",
    "label",
    "optimizer",
    "learning_rate",
    "epochs",
    "training_s",
    "id",
)


def with_students(table: pd.DataFrame) -> pd.DataFrame:
    """`runs_view.runs_table` with a ``student`` column: the owner, or "(no name)".

    Examples
    --------
    >>> with_students(pd.DataFrame({"owner": ["Ada", None]}))["student"].tolist()
    ['Ada', '(no name)']
    """
    return table.assign(student=table["owner"].fillna(NO_NAME))


def leaderboard(table: pd.DataFrame) -> pd.DataFrame:
    """Each student's best evaluated run, best test accuracy first.

    Parameters
    ----------
    table : pandas.DataFrame
        `with_students` of the runs table.

    Returns
    -------
    pandas.DataFrame
        Columns ``rank`` (equal scores share one), ``student``, ``test_accuracy``, ``name``
        (the best run), ``label`` and ``runs`` (how many runs the student has, evaluated or
        not).

    Examples
    --------
    >>> table = pd.DataFrame({"student": ["Ada", "Ada", "Bob"], "name": ["a1", "a2", "b1"],
    ...                       "label": ["mlp", "cnn", "mlp"], "test_accuracy": [0.9, 0.99, None]})
    >>> leaderboard(table)[["rank", "student", "name", "runs"]].values.tolist()
    [[1, 'Ada', 'a2', 2]]
    >>> tie = pd.DataFrame({"student": ["Ada", "Bob", "Cy"], "name": ["a", "b", "c"],
    ...                     "label": ["mlp"] * 3, "test_accuracy": [0.9, 0.9, 0.8]})
    >>> leaderboard(tie)["rank"].tolist()
    [1, 1, 3]
    """
    runs = table.groupby("student").size()
    evaluated = table.dropna(subset=["test_accuracy"])
    best = evaluated.sort_values("test_accuracy", ascending=False, kind="stable")
    best = best.drop_duplicates("student")[["student", "test_accuracy", "name", "label"]]
    best = best.assign(runs=best["student"].map(runs).to_numpy()).reset_index(drop=True)
    # Equal scores share a rank (1, 1, 3): neither student is ahead of the other.
    rank = best["test_accuracy"].rank(method="min", ascending=False).astype(int)
    return best.assign(rank=rank)[["rank", *best.columns]]


def training_now(store: RunStore, table: pd.DataFrame) -> pd.DataFrame:
    """The runs training now (running or stopping) with their student and progress.

    Parameters
    ----------
    store : RunStore
    table : pandas.DataFrame
        `with_students` of the runs table.

    Returns
    -------
    pandas.DataFrame
        Columns ``student``, ``name``, ``state``, ``progress`` (0-1) and ``position`` (the
        run's epoch as the worker last wrote it, "" when unknown).
    """
    # Queued runs are the queue's (`dispatcher.current_queue`), not training yet.
    live = table[table["state"].isin(LIVE_STATES - {"queued"})]
    statuses = [store.get(run_id).status() for run_id in live["id"]]
    return pd.DataFrame(
        {
            "student": live["student"].tolist(),
            "name": live["name"].tolist(),
            "state": live["state"].tolist(),
            "progress": [float(status.get("progress", 0.0)) for status in statuses],
            "position": [str(status.get("position", "")) for status in statuses],
        }
    )


def queue_table(places: list[QueuePlace]) -> pd.DataFrame:
    """The waiting runs, next first: place, student, run and expected start in words.

    Parameters
    ----------
    places : list of QueuePlace
        `dispatcher.current_queue`.

    Returns
    -------
    pandas.DataFrame
        Columns ``place``, ``student``, ``name`` and ``starts`` ("in about 3m 05s", "next",
        "unknown").
    """
    return pd.DataFrame(
        {
            "place": [place.position for place in places],
            "student": [place.run.owner or NO_NAME for place in places],
            "name": [place.run.name for place in places],
            "starts": [_start_text(place.starts_in_s) for place in places],
        }
    )


def _start_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    return "next" if seconds < 1 else f"in about {format_seconds(seconds)}"


def results_csv(table: pd.DataFrame) -> str:
    """Every run of the class as CSV (`CSV_COLUMNS`), names made safe for spreadsheets.

    Parameters
    ----------
    table : pandas.DataFrame
        `with_students` of the runs table.

    Returns
    -------
    str
    """
    return table[list(CSV_COLUMNS)].map(spreadsheet_safe).to_csv(index=False)
