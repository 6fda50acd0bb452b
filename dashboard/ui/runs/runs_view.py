"""Run pickers, the run table and the test results shared by the Evaluate and Compare pages.

Everything that reads a run tolerates a damaged run directory: it is listed as "damaged" with
its reason, and the other runs stay usable. Run names are user input, so they are only ever
shown as plain text (dataframes, select options) or HTML-escaped inside plotly figures (see
`dashboard.ui.app.figures.style.plain`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.ui.app.run_cache import cached_predictions
from dashboard.ui.app.text import plain_markdown
from mnist_lab import evaluation as ev
from mnist_lab.assignments.secrecy import Part, ScoreWithheld, shown_evaluation
from mnist_lab.files import DamagedRunError
from mnist_lab.run_summary import TRAINING_TIME_HELP, summaries, summary
from mnist_lab.runs import Run, RunStore
from mnist_lab.status import DAMAGED, LIVE_STATES

# What a reader scans for comes first (which run, how it ended, how good it is), so that a
# window too narrow for every column scrolls away the settings, not the results.
TABLE_COLUMNS = {
    "name": "Name",
    "state": "Status",
    "test_accuracy": "Test accuracy",
    "label": "Architecture",
    "training_s": "Training time (s)",
    "engine": "Engine",
    "optimizer": "Optimizer",
    "learning_rate": "Learning rate",
    "normalization": "Normalization",
    "epochs": "Epochs",
    "id": "Run id",
}
# How each column is shown (missing values as a dash): (format, right-aligned).
TABLE_FORMATS = {
    # Fixed width, so that sorting the text sorts the numbers.
    "test_accuracy": ("{:7.2%}", True),
    "training_s": ("{:8.1f}", True),
    "learning_rate": ("{:g}", True),
    "epochs": ("{:.0f}", True),
}
# What a column's header says when pointed at.
COLUMN_HELP = {"training_s": TRAINING_TIME_HELP}
MISSING = "—"
# Rows of a run table per page: a class makes hundreds of runs in an afternoon.
PAGE_SIZE = 50
# What the filter box looks in.
FILTERED_COLUMNS = ("name", "owner", "state", "engine", "label", "id")


def run_row(run: Run) -> dict:
    """One run as a flat dict for tables and pickers (`mnist_lab.run_summary.summary`).

    Returns
    -------
    dict
        The keys of `TABLE_COLUMNS` plus ``message``, ``test_loss``, ``baseline`` (whether
        its engine is the yardstick the networks are measured against) and ``owner``; the
        caller's own copy.
    """
    return dict(summary(run))


def runs_table(store: RunStore) -> pd.DataFrame:
    """Every run, best test accuracy first (runs without one after), as a DataFrame.

    Parameters
    ----------
    store : RunStore

    Returns
    -------
    pandas.DataFrame
        Columns: the keys of `TABLE_COLUMNS`, ``message``, ``test_loss``, ``baseline``,
        ``owner`` and ``scored_on`` (see `mnist_lab.run_summary.summary`).
    """
    rows = summaries(store)
    table = pd.DataFrame(
        rows, columns=[*TABLE_COLUMNS, "message", "test_loss", "baseline", "owner", "scored_on"]
    )
    table["test_accuracy"] = pd.to_numeric(table["test_accuracy"], errors="coerce")
    return table.sort_values("test_accuracy", ascending=False, na_position="last", kind="stable")


def table_text(table: pd.DataFrame) -> pd.DataFrame:
    """`runs_table` as the text a reader sees: two decimals everywhere, a dash when missing.

    Examples
    --------
    >>> table_text(pd.DataFrame({"test_accuracy": [0.89, None], "optimizer": ["sgd", None]}))
      test_accuracy optimizer
    0        89.00%       sgd
    1             —         —
    """

    def text(value, form: str = "{}") -> str:
        return MISSING if value is None or value != value else form.format(value)

    return pd.DataFrame(
        {
            column: [text(value, TABLE_FORMATS.get(column, ("{}",))[0]) for value in values]
            for column, values in table.items()
        },
        index=table.index,
    )


def show_runs_table(table: pd.DataFrame, key: str) -> None:
    """Render `runs_table` as a sortable table with readable headers and formats."""
    columns = list(TABLE_COLUMNS)
    if (table["name"] == table["id"]).all():
        # No run was renamed, so the name column already shows every id.
        columns.remove("id")
    st.dataframe(
        table_text(table[columns]).rename(columns=TABLE_COLUMNS),
        hide_index=True,
        key=key,
        column_config={
            TABLE_COLUMNS[column]: st.column_config.TextColumn(
                alignment="right", help=COLUMN_HELP.get(column)
            )
            for column, (_, right) in TABLE_FORMATS.items()
            if right
        },
    )
    show_scored_on(table)


def show_scored_on(table: pd.DataFrame) -> None:
    """Say which test digits `runs_table`'s scores count, where an assignment hides some."""
    if "scored_on" in table:
        for scored_on in table["scored_on"].dropna().unique():
            st.caption(plain_markdown(scored_on))


def filter_runs(table: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows of ``table`` with ``text`` in one of `FILTERED_COLUMNS`, any case; all if empty.

    Examples
    --------
    >>> table = pd.DataFrame({"name": ["mlp", "cnn"], "owner": ["Ada", None]})
    >>> filter_runs(table, "ADA")["name"].tolist(), len(filter_runs(table, " "))
    (['mlp'], 2)
    """
    text = text.strip().casefold()
    if not text:
        return table
    found = pd.Series(False, index=table.index)
    for column in FILTERED_COLUMNS:
        if column in table:
            cells = table[column].astype("string").str.casefold()
            found |= cells.str.contains(text, regex=False).fillna(False).astype(bool)
    return table[found]


def runs_page(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """A filter box and a page picker over ``table``: the rows of the page chosen.

    Parameters
    ----------
    table : pandas.DataFrame
        `runs_table` (or a table with its columns).
    key : str
        Widget key prefix (``<key>_filter``, ``<key>_page``).

    Returns
    -------
    pandas.DataFrame
        At most `PAGE_SIZE` rows of the runs that match the filter, in ``table``'s order.
    """
    left, right = st.columns([3, 1])
    text = left.text_input(
        "Filter runs",
        key=f"{key}_filter",
        placeholder="Name, student, status, engine or architecture",
    )
    found = filter_runs(table, text)
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page_key = f"{key}_page"
    if st.session_state.get(page_key, 1) > pages:
        # A narrower filter has fewer pages: show its last one.
        st.session_state[page_key] = pages
    page = right.number_input("Page", 1, pages, key=page_key, disabled=pages == 1)
    shown = found.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    of_all = f" (filtered from {len(table):,})" if len(found) < len(table) else ""
    first = (page - 1) * PAGE_SIZE + 1 if len(shown) else 0
    st.caption(f"Runs {first:,}-{first + len(shown) - 1:,} of {len(found):,}{of_all}.")
    return shown


def run_label(row: dict) -> str:
    """Plain-text option label: name, what it is, state and test accuracy."""
    parts = [row["name"], row.get("label") or row.get("engine") or "?", row["state"]]
    accuracy = row.get("test_accuracy")
    if isinstance(accuracy, float) and not np.isnan(accuracy):
        parts.append(f"{accuracy:.2%}")
    return " · ".join(str(part) for part in parts)


def run_labels(rows: list[dict]) -> dict[str, str]:
    """`run_label` of each row by id; runs that would read the same get their id appended.

    Examples
    --------
    >>> rows = [{"id": f"r{n}", "name": "mlp", "label": "mlp", "state": "finished"}
    ...         for n in (1, 2)]
    >>> list(run_labels(rows).values())
    ['mlp · mlp · finished · r1', 'mlp · mlp · finished · r2']
    """
    labels = {row["id"]: run_label(row) for row in rows}
    counts = pd.Series(list(labels.values())).value_counts()
    return {
        run_id: f"{label} · {run_id}" if counts[label] > 1 else label
        for run_id, label in labels.items()
    }


def run_picker(
    store: RunStore,
    key: str,
    label: str = "Run",
    states: tuple[str, ...] | None = None,
    preferred: tuple[str, ...] = ("finished", "stopped"),
    default_id: str | None = None,
) -> Run | None:
    """A selectbox of runs, newest first; damaged runs are listed as damaged.

    Parameters
    ----------
    store : RunStore
    key : str
        Widget key (prefix it with the page name).
    label : str, default "Run"
    states : tuple of str, optional
        Only list runs in these states (damaged runs are always listed); all when None.
    preferred : tuple of str, default ("finished", "stopped")
        The default is the newest run in one of these states...
    default_id : str, optional
        ...unless ``default_id`` (e.g. from ``?run=``) names a listed run.

    Returns
    -------
    Run or None
        None when there is no run to pick.
    """
    rows = [
        r
        for r in summaries(store)
        if states is None or r["state"] in states or r["state"] == DAMAGED
    ]
    if not rows:
        return None
    ids = [r["id"] for r in rows]
    labels = run_labels(rows)
    preferred_ids = [r["id"] for r in rows if r["state"] in preferred]
    default = default_id if default_id in ids else (preferred_ids or ids)[0]
    if st.session_state.get(key, default) not in ids:
        # The chosen run is gone (deleted, perhaps in another tab): fall back to the default.
        del st.session_state[key]
    chosen = st.selectbox(
        label, ids, index=ids.index(default), format_func=labels.__getitem__, key=key
    )
    return store.get(chosen)


def page_run(store: RunStore, key: str) -> Run:
    """The run a page shows: picked by the user, preselected by ``?run=<id>``.

    Writes the choice back to the URL, so a link or a refresh reopens the same run. Without
    any run, says to train one first and stops the page. When the run on screen was deleted
    (in another tab, say), says so rather than silently showing another one.
    """
    shown_before = st.query_params.get("run")
    run = run_picker(store, key, default_id=shown_before)
    if run is None:
        st.info("No runs yet. Train a model on the Train page first.")
        st.stop()
    name_key = f"{key}_shown_name"
    if shown_before not in (None, run.id) and not run_exists(store, shown_before):
        gone = st.session_state.get(name_key, shown_before)
        st.warning(
            f"The run you were looking at, {plain_markdown(gone)}, has been deleted (perhaps "
            f"in another tab or window). Now showing {plain_markdown(run.name)}.",
            icon=":material/delete:",
        )
    st.session_state[name_key] = run.name
    st.query_params["run"] = run.id
    return run


def run_exists(store: RunStore, run_id: str) -> bool:
    """Whether ``run_id`` names a run of ``store`` (an id that is not even valid does not)."""
    try:
        store.get(run_id)
    except (KeyError, ValueError):
        return False
    return True


def missing_evaluation_reason(run: Run) -> str | None:
    """Why ``run`` has no usable evaluation, in plain words; None if it has one."""
    status = run.status()
    state = status["state"]
    if state == DAMAGED:
        return status["message"]
    try:
        evaluation = run.evaluation()
    except DamagedRunError as error:
        return f"This run is damaged: {error}."
    if evaluation is not None:
        return None
    if state in LIVE_STATES:
        progress = status.get("progress")
        done = f" ({progress:.0%} done)" if isinstance(progress, (int, float)) else ""
        return f"This run is still {state}{done}; its evaluation appears when it finishes."
    if state == "stopped":
        return "This run was stopped before it could be evaluated on the test set."
    if state in ("failed", "diverged", "interrupted"):
        return f"This run {state} without an evaluation: {status.get('message') or 'no message'}"
    return "This run has no evaluation.json."


@dataclass(frozen=True)
class Evaluated:
    """A run's test results as pages show them: on the visible part while one is secret.

    Attributes
    ----------
    evaluation : dict
        `mnist_lab.assignments.secrecy.shown_evaluation`: evaluation.json's fields, counted
        on the digits of ``indices``.
    y_true, probabilities : numpy.ndarray
        Labels and predicted probabilities of those digits, in the order of ``indices``.
    indices : numpy.ndarray
        Each row's digit in the whole test split (its images' index).
    part : Part or None
        The visible part the scores are on; None for the whole test split.
    """

    evaluation: dict
    y_true: np.ndarray
    probabilities: np.ndarray
    indices: np.ndarray
    part: Part | None = None

    @property
    def y_pred(self) -> np.ndarray:
        """Predicted class per test image."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """Probability of the predicted class per test image."""
        return self.probabilities.max(axis=1)

    @property
    def matrix(self) -> np.ndarray:
        """Confusion matrix (true classes in rows)."""
        return np.asarray(self.evaluation["confusion_matrix"], dtype=np.int64)


def load_evaluated(run: Run) -> Evaluated | str:
    """The run's test results as pages show them, or the reason (plain text) why there are none.

    While an assignment hides part of the run's test split, only the visible digits count.
    """
    reason = missing_evaluation_reason(run)
    if reason:
        return reason
    try:
        evaluation = shown_evaluation(run)
        mtime = run.file(ev.PREDICTIONS_FILE).stat().st_mtime
        y_true, probabilities = cached_predictions(str(run.path), mtime)
    except (FileNotFoundError, DamagedRunError) as error:
        return f"This run is damaged: {error}."
    except ScoreWithheld as error:
        return f"This run's results are not shown: {error}."
    part = evaluation.get("part")
    if part is None:
        return Evaluated(evaluation, y_true, probabilities, np.arange(len(y_true)))
    indices = evaluation["visible_indices"]
    return Evaluated(evaluation, y_true[indices], probabilities[indices], indices, part)
