"""Plotly figures shared by the pages: digit images, image grids, class bars, histograms, maps.

Every helper takes plain arrays or tidy DataFrames and returns a ``plotly.graph_objects.Figure``;
none calls streamlit, so a page decides where and how a figure is shown.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

# Ink dark on white paper, the way people write digits; MNIST itself stores ink as 255.
INK_COLORSCALE = "gray_r"
DIGIT_COLORS = px.colors.qualitative.Plotly
SPLIT_COLORS = {"train": "#4C6EF5", "test": "#F59F00"}
MEASURES = ("count", "share")
# Height in image rows reserved above each grid tile for its title.
TITLE_ROWS = 9


def image_figure(
    image: np.ndarray,
    colorscale: str = INK_COLORSCALE,
    title: str | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
    show_colorbar: bool = True,
    height: int = 320,
) -> go.Figure:
    """One 2-D array as a square heatmap with its pixel grid, e.g. a digit or a mean image.

    Parameters
    ----------
    image : numpy.ndarray
        2-D array (any numeric dtype); row 0 is drawn at the top.
    colorscale : str, default "gray_r"
        Any plotly colorscale name ("gray_r" draws 255 as black ink, "viridis" suits
        variances).
    title : str, optional
        Shown above the image.
    zmin, zmax : float, optional
        Colour range; the data's range by default.
    show_colorbar : bool, default True
        Whether to draw the colour bar.
    height : int, default 320
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    ValueError
        If ``image`` is not 2-D.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (height, width), got shape {image.shape}")
    figure = go.Figure(
        go.Heatmap(
            z=image.astype(np.float32),
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            showscale=show_colorbar,
            hovertemplate="row %{y}, column %{x}: %{z:.3g}<extra></extra>",
        )
    )
    return _style_image_axes(figure, title=title, height=height)


def digit_grid_figure(
    images: np.ndarray,
    titles: Sequence[str],
    n_cols: int = 10,
    colorscale: str = INK_COLORSCALE,
    zmin: float | None = 0,
    zmax: float | None = 255,
    tile_height: int = 72,
) -> go.Figure:
    """Many small images in one heatmap, each titled: a gallery or a digit-by-digit grid.

    Tiling everything into a single trace keeps the figure light: one heatmap instead of a
    subplot per image, which plotly builds and the browser draws far faster.

    Parameters
    ----------
    images : numpy.ndarray
        Stack of shape ``(n, height, width)``, ``n >= 1``.
    titles : sequence of str
        One short title per image, drawn above it (e.g. ``"7"`` or ``"#1234: 7"``).
    n_cols : int, default 10
        Images per row.
    colorscale : str, default "gray_r"
        Plotly colorscale name.
    zmin, zmax : float or None, default 0 and 255
        Shared colour range; ``None`` uses the data's range.
    tile_height : int, default 72
        Pixels of figure height per row of images.

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    ValueError
        If ``images`` is not a non-empty 3-D stack, ``titles`` has another length, or
        ``n_cols < 1``.
    """
    images = np.asarray(images)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (n, height, width) stack, got {images.shape}")
    if len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got {len(titles)}")
    if n_cols < 1:
        raise ValueError(f"n_cols must be at least 1, got {n_cols}")
    n_images, height, width = images.shape
    n_cols = min(n_cols, n_images)
    n_rows = -(-n_images // n_cols)
    cell_height, cell_width = height + TITLE_ROWS, width + 2
    # NaN between the tiles draws as transparent background.
    canvas = np.full((n_rows * cell_height, n_cols * cell_width), np.nan, dtype=np.float32)
    annotations = []
    for position, (image, title) in enumerate(zip(images, titles, strict=True)):
        row, col = divmod(position, n_cols)
        top, left = row * cell_height + TITLE_ROWS, col * cell_width
        canvas[top : top + height, left : left + width] = image
        annotations.append(
            {
                "x": left + (width - 1) / 2,
                "y": top - 1,
                "text": title,
                "showarrow": False,
                "yanchor": "bottom",
                "font": {"size": 11},
            }
        )
    figure = go.Figure(
        go.Heatmap(
            z=canvas,
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            showscale=False,
            hovertemplate="%{z:.3g}<extra></extra>",
        )
    )
    figure.update_layout(annotations=annotations)
    return _style_image_axes(figure, title=None, height=40 + n_rows * tile_height)


def class_distribution_figure(
    counts: pd.DataFrame,
    measure: str = "count",
    class_names: Sequence[str] | None = None,
    height: int = 320,
) -> go.Figure:
    """Grouped bars of images per class, one colour per split.

    Parameters
    ----------
    counts : pandas.DataFrame
        The table of :func:`mnist_lab.stats.class_counts` (``split``, ``digit``, ``count``,
        ``share``).
    measure : {"count", "share"}, default "count"
        Absolute counts, or shares of each split (which compares splits of different sizes).
    class_names : sequence of str, optional
        Axis labels per digit; the digits themselves by default.
    height : int, default 320
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    ValueError
        If ``measure`` is not "count" or "share".
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    figure = go.Figure()
    for split, rows in counts.groupby("split", sort=False):
        figure.add_bar(
            x=[class_names[d] if class_names else str(d) for d in rows["digit"]],
            y=rows[measure],
            name=split,
            marker_color=SPLIT_COLORS.get(split),
            hovertemplate="%{x}: %{y:" + (".1%" if measure == "share" else ",") + "}",
        )
    figure.update_layout(
        barmode="group",
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": "digit", "type": "category"},
        yaxis={"title": measure, "tickformat": ".0%" if measure == "share" else ","},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
    )
    return figure


def histogram_figure(histogram: pd.DataFrame, log_y: bool = False, height: int = 340) -> go.Figure:
    """Bars of how many pixels take each value.

    Parameters
    ----------
    histogram : pandas.DataFrame
        The table of :func:`mnist_lab.stats.pixel_histogram` (``value``, ``count``, ``share``).
    log_y : bool, default False
        Log-scale counts, so rare values stay visible next to the huge background peak.
    height : int, default 340
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = go.Figure(
        go.Bar(
            x=histogram["value"],
            y=histogram["count"],
            customdata=histogram["share"],
            marker_color=SPLIT_COLORS["train"],
            hovertemplate="value %{x}: %{y:,} pixels (%{customdata:.2%})<extra></extra>",
        )
    )
    figure.update_layout(
        height=height,
        bargap=0,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "pixel value (0 = background, 255 = full ink)", "range": [-1, 256]},
        yaxis={"title": "pixels", "type": "log" if log_y else "linear"},
    )
    return figure


def projection_figure(
    points: pd.DataFrame, class_names: Sequence[str] | None = None, height: int = 520
) -> go.Figure:
    """Scatter of 2-D projected images, one colour per digit, selectable by box or lasso.

    Parameters
    ----------
    points : pandas.DataFrame
        The table of :func:`mnist_lab.stats.project_2d` (``index``, ``digit``, ``x``, ``y``).
        Each point carries its ``index`` as ``customdata``, so a selection names the images.
    class_names : sequence of str, optional
        Legend label per digit; the digits themselves by default.
    height : int, default 520
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    figure = go.Figure()
    for digit, rows in points.groupby("digit", sort=True):
        name = class_names[digit] if class_names is not None else str(digit)
        figure.add_scattergl(
            x=rows["x"],
            y=rows["y"],
            customdata=rows["index"],
            mode="markers",
            name=name,
            marker={"size": 5, "color": DIGIT_COLORS[digit % len(DIGIT_COLORS)], "opacity": 0.8},
            hovertemplate=f"digit {name}<br>image #%{{customdata}}<extra></extra>",
        )
    figure.update_layout(
        height=height,
        dragmode="lasso",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "component 1", "zeroline": False},
        yaxis={"title": "component 2", "zeroline": False},
        legend={"title": "digit", "itemsizing": "constant"},
    )
    return figure


def _style_image_axes(figure: go.Figure, title: str | None, height: int) -> go.Figure:
    """Square pixels, row 0 on top, no ticks: how images, not charts, should look."""
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    figure.update_layout(
        height=height,
        margin={"l": 0, "r": 0, "t": 30 if title else 0, "b": 0},
        title={"text": title, "x": 0.5, "xanchor": "center"} if title else None,
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return figure
