"""Colours, axes and label escaping shared by the figures of several pages."""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.express as px

# Ink dark on white paper, the way people write digits; MNIST itself stores ink as 255.
INK_COLORSCALE = "gray_r"
# Matplotlib's tab10: ten hues apart, where plotly's default gives 4 and 9 (6 and 8), the
# digits that overlap most on a map, two shades of one colour.
DIGIT_COLORS = px.colors.qualitative.D3
SPLIT_COLORS = {"train": "#4C6EF5", "test": "#F59F00"}
RUN_COLORS = ("#4C6EF5", "#E8590C", "#2F9E44", "#AE3EC9", "#1098AD", "#F59F00", "#D6336C")
# Colours shared by every learning-curve chart: training solid blue, validation dashed orange.
SERIES_STYLE = {
    "train": {"color": "#4C6EF5", "dash": "solid"},
    "validation": {"color": "#F08C00", "dash": "dash"},
}
# Colours of the probability bars: the prediction, the true class, every other class.
PREDICTED_COLOR, TRUE_COLOR, OTHER_COLOR = "#E8590C", "#2F9E44", "#ADB5BD"
# The ten classes along every digit axis.
DIGITS = list(range(10))


def class_labels(class_names: Sequence[str] | None = None) -> list[str]:
    """The classes' names escaped for plotly (see `plain`); the ten digits by default.

    Examples
    --------
    >>> class_labels(["<b>cat</b>", "dog"])
    ['&lt;b&gt;cat&lt;/b&gt;', 'dog']
    """
    return [plain(name) for name in (class_names or [str(digit) for digit in DIGITS])]


def class_word(class_names: Sequence[str] | None = None) -> str:
    """What to call a class on an axis: "digit" for the ten digits, else "class".

    Examples
    --------
    >>> class_word(["cat", "dog"]), class_word(None)
    ('class', 'digit')
    """
    return "digit" if class_labels(class_names) == class_labels() else "class"


def class_axis(class_names: Sequence[str] | None = None) -> dict:
    """A plotly axis whose ticks at 0, 1, 2... read as the classes' names (escaped)."""
    labels = class_labels(class_names)
    return {"tickmode": "array", "tickvals": list(range(len(labels))), "ticktext": labels}


def short(text: str, limit: int = 28) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for legends that must stay narrow.

    Examples
    --------
    >>> short("a rather long name for a run", 10)
    'a rather…'
    """
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain(text: str) -> str:
    """Escape text for plotly, whose labels understand a little HTML.

    Parameters
    ----------
    text : str
        Any text, e.g. a run name typed by a user.

    Returns
    -------
    str
        The text with ``<``, ``>``, ``&`` and quotes escaped.

    Examples
    --------
    >>> plain("<b>run</b>")
    '&lt;b&gt;run&lt;/b&gt;'
    """
    return html.escape(str(text))
