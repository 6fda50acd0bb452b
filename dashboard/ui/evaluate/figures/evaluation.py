"""Figures of a model's test results: confusion matrix, probability gallery, per-digit scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from dashboard.ui.app.figures.style import (
    COLORBAR_PLACE,
    DIGITS,
    INK_COLORSCALE,
    OTHER_COLOR,
    PREDICTED_COLOR,
    RUN_COLORS,
    TRUE_COLOR,
    class_axis,
    class_labels,
    class_word,
    percent_axis,
    plain,
)
from mnist_lab import evaluation as ev

if TYPE_CHECKING:
    from dashboard.ui.runs.runs_view import Evaluated


def confusion_figure(
    matrix: np.ndarray,
    normalized: bool,
    height: int = 520,
    class_names: Sequence[str] | None = None,
) -> go.Figure:
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
    class_names : sequence of str, optional
        The classes' names along the axes (shown as plain text); the digits by default.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    counts = np.asarray(matrix)
    values = ev.normalized_confusion(counts) if normalized else counts
    text = [[f"{v:.1%}" if normalized else f"{v:,}" for v in row] for row in values]
    true, predicted = np.divmod(np.arange(counts.size), counts.shape[1])
    labels = class_labels(class_names)
    hover = [
        f"true {labels[t]}, predicted {labels[p]}" for t, p in zip(true, predicted, strict=True)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=np.log1p(counts),
            x=list(range(len(counts))),
            y=list(range(len(counts))),
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
        customdata=hover,
        mode="markers",
        # A transparent colour, not opacity 0: plotly never hovers or selects opacity-0 markers.
        marker={"size": 40, "symbol": "square", "color": "rgba(0,0,0,0)"},
        hovertemplate="%{customdata}: %{text}<extra></extra>",
        showlegend=False,
    )
    edge, word = len(counts) - 0.5, class_word(class_names)
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        clickmode="event+select",
        # Fixed ranges: the marker overlay must not pad the axes beyond the cells.
        xaxis={
            "title": f"predicted {word}",
            "side": "top",
            "range": [-0.5, edge],
            **class_axis(class_names),
        },
        yaxis={"title": f"true {word}", "range": [edge, -0.5], **class_axis(class_names)},
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
    images: np.ndarray,
    probabilities: np.ndarray,
    y_true: np.ndarray,
    n_cols: int = 4,
    class_names: Sequence[str] | None = None,
) -> go.Figure:
    """Digits, each beside its ten predicted probabilities (prediction and truth coloured).

    A grid of subplots, as `plotly.subplots.make_subplots` lays them out, written as one
    layout: subplot by subplot updates cost a fifth of a second for 32 digits, which a
    class opening Evaluate at once would wait for.

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
    class_names : sequence of str, optional
        The classes' names (shown as plain text); the digits by default.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    n = len(images)
    labels = class_labels(class_names)
    n_cols = min(n_cols, n)
    n_rows = -(-n // n_cols)
    n_classes = probabilities.shape[1]
    x_domains = _grid_domains([1, 1.4] * n_cols, spacing=0.012)
    # Rows from the top, each as high as the others.
    y_domains = _grid_domains([1] * n_rows, spacing=0.3 / n_rows)[::-1]
    layout: dict = {
        "height": 170 * n_rows,
        "showlegend": False,
        "margin": {"l": 0, "r": 0, "t": 30, "b": 0},
        "annotations": [],
    }
    traces: list[dict] = []
    for cell in range(2 * n_rows * n_cols):
        row, col = divmod(cell, 2 * n_cols)
        number = "" if cell == 0 else str(cell + 1)
        x_axis = {"anchor": f"y{number}", "domain": x_domains[col]}
        y_axis = {"anchor": f"x{number}", "domain": y_domains[row]}
        layout[f"xaxis{number}"], layout[f"yaxis{number}"] = x_axis, y_axis
        position = row * n_cols + col // 2
        if position >= n:
            continue
        if col % 2 == 1:
            x_axis.update(tickfont={"size": 9}, tickangle=0, **class_axis(class_names))
            y_axis.update(range=[0, 1], showticklabels=False)
            continue
        # The image: its y axis anchored to its own x keeps pixels square.
        x_axis["visible"] = False
        y_axis.update(visible=False, autorange="reversed", scaleanchor=f"x{number}")
        pred, truth = int(probabilities[position].argmax()), int(y_true[position])
        colors = [OTHER_COLOR] * n_classes
        colors[truth], colors[pred] = TRUE_COLOR, PREDICTED_COLOR
        bar_number = str(cell + 2)
        traces += [
            {
                "type": "heatmap",
                "z": images[position],
                "colorscale": INK_COLORSCALE,
                "zmin": 0,
                "zmax": 255,
                "showscale": False,
                "hoverinfo": "skip",
                "xaxis": f"x{number}",
                "yaxis": f"y{number}",
            },
            {
                "type": "bar",
                "x": list(range(n_classes)),
                "y": probabilities[position],
                "customdata": labels,
                "marker": {"color": colors},
                "hovertemplate": "p(%{customdata}) = %{y:.3f}<extra></extra>",
                "xaxis": f"x{bar_number}",
                "yaxis": f"y{bar_number}",
            },
        ]
        layout["annotations"].append(
            {
                "text": f"true {labels[truth]} → {labels[pred]} "
                f"({probabilities[position, pred]:.0%})",
                "font": {"size": 11},
                "showarrow": False,
                "x": sum(x_domains[col]) / 2,
                "xanchor": "center",
                "xref": "paper",
                "y": y_domains[row][1],
                "yanchor": "bottom",
                "yref": "paper",
            }
        )
    return go.Figure(data=traces, layout=layout)


def _grid_domains(sizes: Sequence[float], spacing: float) -> list[list[float]]:
    """Where cells of relative ``sizes`` lie along [0, 1] with ``spacing`` between them.

    As `plotly.subplots.make_subplots` places its columns (and its rows, bottom first),
    clamped as it clamps them: rounding may pass 1.
    """
    widths = [(1 - spacing * (len(sizes) - 1)) * size / sum(sizes) for size in sizes]
    starts = [sum(widths[:cell]) + cell * spacing for cell in range(len(sizes))]
    return [[start, min(1.0, start + width)] for start, width in zip(starts, widths, strict=True)]


def per_digit_accuracy_figure(results: dict[str, Evaluated], height: int = 340) -> go.Figure:
    """Grouped bars of each run's accuracy on every digit.

    Parameters
    ----------
    results : dict
        Run name (shown HTML-escaped) -> its `Evaluated` test results.
    height : int, default 340

    Returns
    -------
    plotly.graph_objects.Figure
    """
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
    bottom = max(0.0, lowest - 0.05)
    figure.update_layout(
        barmode="group",
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "digit", "dtick": 1},
        # Start below the weakest digit so differences of a few points stay visible.
        yaxis={"title": "accuracy", "range": [bottom, 1], **percent_axis([bottom, 1])},
        legend={"orientation": "h", "y": 1.12, "x": 0},
    )
    return figure


def difference_figure(difference: np.ndarray, height: int = 460) -> go.Figure:
    """A diverging heatmap of ``matrix_a - matrix_b``; blue where A has more, red where B does.

    Parameters
    ----------
    difference : numpy.ndarray
        Integer differences of two confusion matrices, true classes in rows.
    height : int, default 460

    Returns
    -------
    plotly.graph_objects.Figure
    """
    limit = max(1, int(np.abs(difference).max()))
    figure = go.Figure(
        go.Heatmap(
            z=difference,
            x=DIGITS,
            y=DIGITS,
            zmin=-limit,
            zmax=limit,
            colorscale="RdBu",
            colorbar=COLORBAR_PLACE,
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
