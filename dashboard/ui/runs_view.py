"""Run pickers, the run table and the evaluation views shared by the Evaluate and Compare pages.

Everything that reads a run tolerates a damaged run directory: it is listed as "damaged" with
its reason, and the other runs stay usable. Run names are user input, so they are only ever
shown as plain text (dataframes, select options) or HTML-escaped inside plotly figures.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from mnist_lab import evaluation as ev
from mnist_lab.runs import DAMAGED, LIVE_STATES, DamagedRunError, Run, RunStore

DIGITS = list(range(10))
# Colours of the probability bars: the prediction, the true class, every other class.
PREDICTED_COLOR, TRUE_COLOR, OTHER_COLOR = "#E8590C", "#2F9E44", "#ADB5BD"
RUN_COLORS = ("#4C6EF5", "#E8590C", "#2F9E44", "#AE3EC9", "#1098AD", "#F59F00", "#D6336C")
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


def run_row(run: Run) -> dict:
    """One run as a flat dict for tables and pickers; a damaged run gets state "damaged".

    Returns
    -------
    dict
        The keys of `TABLE_COLUMNS` plus ``message`` and ``test_loss``.
    """
    row = dict.fromkeys(TABLE_COLUMNS) | {"id": run.id, "name": run.name, "test_loss": None}
    status = run.status()
    row["state"], row["message"] = status["state"], status.get("message", "")
    try:
        config = run.config()
        evaluation = run.evaluation() or {}
    except DamagedRunError as error:
        return row | {"state": DAMAGED, "message": f"This run is damaged: {error}."}
    for key in ("engine", "label", "optimizer", "learning_rate", "normalization", "epochs"):
        row[key] = config.get(key)
    row["test_accuracy"] = evaluation.get("test_accuracy")
    row["test_loss"] = evaluation.get("test_loss")
    row["training_s"] = training_seconds(status)
    return row


def training_seconds(status: dict) -> float | None:
    """Seconds from ``started`` to ``ended`` (or to now while live); None if unknown."""
    live = status.get("state") in LIVE_STATES
    try:
        started = datetime.fromisoformat(status["started"])
        ended = datetime.now(UTC) if live else datetime.fromisoformat(status["ended"])
    except (KeyError, TypeError, ValueError):
        return None
    return round((ended - started).total_seconds(), 1)


def runs_table(store: RunStore) -> pd.DataFrame:
    """Every run, best test accuracy first (runs without one after), as a DataFrame.

    Parameters
    ----------
    store : RunStore

    Returns
    -------
    pandas.DataFrame
        Columns: the keys of `TABLE_COLUMNS`, ``message`` and ``test_loss``.
    """
    rows = [run_row(run) for run in store.list()]
    table = pd.DataFrame(rows, columns=[*TABLE_COLUMNS, "message", "test_loss"])
    table["test_accuracy"] = pd.to_numeric(table["test_accuracy"], errors="coerce")
    return table.sort_values("test_accuracy", ascending=False, na_position="last", kind="stable")


def show_runs_table(table: pd.DataFrame, key: str) -> None:
    """Render `runs_table` as a sortable dataframe with readable headers and formats."""
    columns = list(TABLE_COLUMNS)
    if (table["name"] == table["id"]).all():
        # No run was renamed, so the name column already shows every id.
        columns.remove("id")
    st.dataframe(
        table[columns].rename(columns=TABLE_COLUMNS),
        hide_index=True,
        key=key,
        column_config={
            "Test accuracy": st.column_config.NumberColumn(format="percent"),
            "Learning rate": st.column_config.NumberColumn(format="%g"),
            "Training time (s)": st.column_config.NumberColumn(format="%.1f"),
        },
    )


def run_label(row: dict) -> str:
    """Plain-text option label: name, what it is, state and test accuracy."""
    parts = [row["name"], row.get("label") or row.get("engine") or "?", row["state"]]
    accuracy = row.get("test_accuracy")
    if isinstance(accuracy, float) and not np.isnan(accuracy):
        parts.append(f"{accuracy:.2%}")
    return " · ".join(str(part) for part in parts)


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
    rows = [run_row(run) for run in store.list()]
    rows = [r for r in rows if states is None or r["state"] in states or r["state"] == DAMAGED]
    if not rows:
        return None
    ids = [r["id"] for r in rows]
    labels = {r["id"]: run_label(r) for r in rows}
    preferred_ids = [r["id"] for r in rows if r["state"] in preferred]
    default = default_id if default_id in ids else (preferred_ids or ids)[0]
    chosen = st.selectbox(
        label, ids, index=ids.index(default), format_func=labels.__getitem__, key=key
    )
    return store.get(chosen)


def page_run(store: RunStore, key: str) -> Run:
    """The run a page shows: picked by the user, preselected by ``?run=<id>``.

    Writes the choice back to the URL, so a link or a refresh reopens the same run. Without
    any run, says to train one first and stops the page.
    """
    run = run_picker(store, key, default_id=st.query_params.get("run"))
    if run is None:
        st.info("No runs yet. Train a model on the Train page first.")
        st.stop()
    st.query_params["run"] = run.id
    return run


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
    """A run's test-set results: its evaluation.json and its per-sample predictions."""

    evaluation: dict
    y_true: np.ndarray
    probabilities: np.ndarray

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


@st.cache_data(max_entries=8, show_spinner=False)
def _cached_predictions(run_dir: str, mtime: float) -> tuple[np.ndarray, np.ndarray]:
    """Predictions of one run; ``mtime`` is only the cache key, so a rewrite reloads."""
    return ev.load_predictions(Run(run_dir))


def load_evaluated(run: Run) -> Evaluated | str:
    """The run's test results, or the reason (plain text) why there are none."""
    reason = missing_evaluation_reason(run)
    if reason:
        return reason
    try:
        mtime = run.file(ev.PREDICTIONS_FILE).stat().st_mtime
        y_true, probabilities = _cached_predictions(str(run.path), mtime)
    except (FileNotFoundError, DamagedRunError) as error:
        return f"This run is damaged: {error}."
    return Evaluated(run.evaluation(), y_true, probabilities)


def plain(text: str) -> str:
    """Escape text for plotly, whose labels understand a little HTML."""
    return html.escape(str(text))


def confusion_figure(matrix: np.ndarray, normalized: bool, height: int = 520) -> go.Figure:
    """The confusion matrix as a heatmap whose cells can be clicked.

    Plotly heatmaps send no selection events to Streamlit, so an invisible marker sits on
    every cell centre; clicking a cell selects its marker (see `clicked_cell`).

    Parameters
    ----------
    matrix : numpy.ndarray
        Counts, true classes in rows.
    normalized : bool
        Show each row's shares instead of counts (colours stay on a log scale of counts, so
        the rare mistakes remain visible next to the large diagonal).
    height : int, default 520
    """
    counts = np.asarray(matrix)
    values = ev.normalized_confusion(counts) if normalized else counts
    text = [[f"{v:.1%}" if normalized else f"{v:,}" for v in row] for row in values]
    true, predicted = np.divmod(np.arange(counts.size), counts.shape[1])
    figure = go.Figure(
        go.Heatmap(
            z=np.log1p(counts),
            x=DIGITS,
            y=DIGITS,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hoverinfo="skip",
        )
    )
    figure.add_scatter(
        x=predicted,
        y=true,
        text=np.asarray(text).ravel(),
        mode="markers",
        # A transparent colour, not opacity 0: plotly never hovers or selects opacity-0 markers.
        marker={"size": 40, "symbol": "square", "color": "rgba(0,0,0,0)"},
        hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
        showlegend=False,
    )
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        clickmode="event+select",
        # Fixed ranges: the marker overlay must not pad the axes beyond the ten cells.
        xaxis={"title": "predicted digit", "dtick": 1, "side": "top", "range": [-0.5, 9.5]},
        yaxis={"title": "true digit", "dtick": 1, "range": [9.5, -0.5]},
    )
    return figure


def clicked_cell(event) -> tuple[int, int] | None:
    """``(true, predicted)`` of the cell chosen in a `confusion_figure` selection event.

    The overlay markers sit at ``x = predicted``, ``y = true``, so a point's coordinates
    are the cell (its ``customdata`` comes back in a form that differs across versions).
    """
    for point in (event or {}).get("selection", {}).get("points", []):
        if point.get("x") is not None and point.get("y") is not None:
            return int(point["y"]), int(point["x"])
    return None


def probability_gallery_figure(
    images: np.ndarray, probabilities: np.ndarray, y_true: np.ndarray, n_cols: int = 4
) -> go.Figure:
    """Digits, each beside its ten predicted probabilities (prediction and truth coloured).

    Parameters
    ----------
    images : numpy.ndarray
        uint8 images, shape ``(n, 28, 28)``, ``n >= 1``.
    probabilities : numpy.ndarray
        Shape ``(n, 10)``.
    y_true : numpy.ndarray
        True labels, shape ``(n,)``.
    n_cols : int, default 4
        Digits per row.
    """
    n = len(images)
    n_cols = min(n_cols, n)
    n_rows = -(-n // n_cols)
    titles = []
    for position in range(n_rows * n_cols):
        if position < n:
            pred = int(probabilities[position].argmax())
            titles += [
                f"true {y_true[position]} → {pred} ({probabilities[position, pred]:.0%})",
                "",
            ]
        else:
            titles += ["", ""]
    figure = make_subplots(
        rows=n_rows,
        cols=2 * n_cols,
        column_widths=[1, 1.4] * n_cols,
        subplot_titles=titles,
        horizontal_spacing=0.012,
        vertical_spacing=0.3 / n_rows,
    )
    for position in range(n):
        row, col = position // n_cols + 1, 2 * (position % n_cols) + 1
        figure.add_heatmap(
            z=images[position],
            colorscale="gray_r",
            zmin=0,
            zmax=255,
            showscale=False,
            hoverinfo="skip",
            row=row,
            col=col,
        )
        colors = [OTHER_COLOR] * 10
        colors[int(y_true[position])] = TRUE_COLOR
        colors[int(probabilities[position].argmax())] = PREDICTED_COLOR
        figure.add_bar(
            x=DIGITS,
            y=probabilities[position],
            marker_color=colors,
            row=row,
            col=col + 1,
            hovertemplate="p(%{x}) = %{y:.3f}<extra></extra>",
        )
        # Subplot axes are numbered row by row; anchoring y to its own x keeps pixels square.
        axis_number = (row - 1) * 2 * n_cols + col
        figure.update_xaxes(visible=False, row=row, col=col)
        figure.update_yaxes(
            visible=False,
            autorange="reversed",
            scaleanchor=f"x{axis_number}" if axis_number > 1 else "x",
            row=row,
            col=col,
        )
        figure.update_xaxes(dtick=1, tickfont={"size": 9}, row=row, col=col + 1)
        figure.update_yaxes(range=[0, 1], showticklabels=False, row=row, col=col + 1)
    figure.update_annotations(font_size=11)
    figure.update_layout(
        height=170 * n_rows, showlegend=False, margin={"l": 0, "r": 0, "t": 30, "b": 0}
    )
    return figure


def learning_curves_figure(curves: dict[str, list[dict]], height: int = 380) -> go.Figure:
    """Per-epoch loss and accuracy of several runs: train solid, validation dashed.

    Parameters
    ----------
    curves : dict
        Run name -> its ``metrics.jsonl`` records; only ``kind == "epoch"`` records are drawn
        (for the baseline an "epoch" is one chunk of optimizer iterations).
    height : int, default 380
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for number, (name, records) in enumerate(curves.items()):
        epochs = [r for r in records if r.get("kind") == "epoch" and "epoch" in r]
        color = RUN_COLORS[number % len(RUN_COLORS)]
        for col, metric in ((1, "loss"), (2, "accuracy")):
            for prefix, dash in (("", "solid"), ("val_", "dash")):
                points = [(r["epoch"], r[prefix + metric]) for r in epochs if prefix + metric in r]
                if not points:
                    continue
                x, y = zip(*points, strict=True)
                figure.add_scatter(
                    x=x,
                    y=y,
                    mode="lines+markers",
                    name=f"{plain(name)} ({'validation' if prefix else 'train'})",
                    legendgroup=plain(name),
                    showlegend=col == 1,
                    line={"color": color, "dash": dash},
                    row=1,
                    col=col,
                )
    # Epochs are whole numbers: no tick at 1.5 when only two or three are drawn.
    figure.update_xaxes(title="epoch (baseline: chunk of iterations)", dtick=1)
    figure.update_yaxes(tickformat=".0%", row=1, col=2)
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def per_digit_accuracy_figure(results: dict[str, Evaluated], height: int = 340) -> go.Figure:
    """Grouped bars of each run's accuracy on every digit."""
    figure = go.Figure()
    for number, (name, evaluated) in enumerate(results.items()):
        figure.add_bar(
            x=DIGITS,
            y=ev.per_digit_accuracy(evaluated.matrix),
            name=plain(name),
            marker_color=RUN_COLORS[number % len(RUN_COLORS)],
            hovertemplate="digit %{x}: %{y:.2%}<extra></extra>",
        )
    lowest = min(float(ev.per_digit_accuracy(e.matrix).min()) for e in results.values())
    figure.update_layout(
        barmode="group",
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "digit", "dtick": 1},
        # Start below the weakest digit so differences of a few points stay visible.
        yaxis={"title": "accuracy", "tickformat": ".0%", "range": [max(0.0, lowest - 0.05), 1]},
        legend={"orientation": "h", "y": 1.12, "x": 0},
    )
    return figure


def difference_figure(difference: np.ndarray, height: int = 460) -> go.Figure:
    """A diverging heatmap of ``matrix_a - matrix_b``; blue where A has more, red where B does."""
    limit = max(1, int(np.abs(difference).max()))
    figure = go.Figure(
        go.Heatmap(
            z=difference,
            x=DIGITS,
            y=DIGITS,
            zmin=-limit,
            zmax=limit,
            colorscale="RdBu",
            texttemplate="%{z:+d}",
            hovertemplate="true %{y}, predicted %{x}: %{z:+d}<extra></extra>",
        )
    )
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "predicted digit", "dtick": 1, "side": "top"},
        yaxis={"title": "true digit", "dtick": 1, "autorange": "reversed"},
    )
    return figure
