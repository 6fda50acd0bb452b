"""Images as figures: one digit or weight image, and grids of many small titled images."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.ui.app.figures.style import COLORBAR_PLACE, INK_COLORSCALE

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
            colorbar=COLORBAR_PLACE,
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
