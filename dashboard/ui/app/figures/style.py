"""Colours, axes and label escaping shared by the figures of several pages."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio

# Ink dark on white paper, the way people write digits; MNIST itself stores ink as 255.
INK_COLORSCALE = "gray_r"
# Matplotlib's tab10: ten hues apart, where plotly's default gives 4 and 9 (6 and 8), the
# digits that overlap most on a map, two shades of one colour.
DIGIT_COLORS = px.colors.qualitative.D3
SPLIT_COLORS = {"train": "#4C6EF5", "test": "#F59F00"}
RUN_COLORS = ("#4C6EF5", "#E8590C", "#2F9E44", "#AE3EC9", "#1098AD", "#F59F00", "#D6336C")
# A shape per series besides its colour, for dots that may lie on top of each other.
RUN_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "triangle-down", "x")
# Colours shared by every learning-curve chart: training solid blue, validation dashed orange.
SERIES_STYLE = {
    "train": {"color": "#4C6EF5", "dash": "solid"},
    "validation": {"color": "#F08C00", "dash": "dash"},
}
# Colours of the probability bars: the prediction, the true class, every other class.
PREDICTED_COLOR, TRUE_COLOR, OTHER_COLOR = "#E8590C", "#2F9E44", "#ADB5BD"
# The ten classes along every digit axis.
DIGITS = list(range(10))
# One convention for every signed map (saliency, weights, an adversarial change): red pushes a
# score up (or adds ink), blue pushes it down, white is zero. `SIGNED_WORDS` says it in words.
SIGNED_COLORSCALE = "RdBu_r"
SIGNED_WORDS = "red pixels raise {what}, blue ones lower it"
# Plotly puts about this many ticks on an axis of a 300-400 px chart; `percent_axis` caps it.
TICKS_PER_AXIS = 8
# A log axis with up to this many decades gets 1-2-5 ticks; wider ones fewer, whole decades.
DECADES_FOR_1_2_5 = 2
MAX_DECADE_TICKS = 6
# Every figure's toolbar (shown while the pointer is on the chart) is two buttons, download and
# reset, in the top right corner, no longer a bar across titles and legends: dragging still
# zooms and a double click resets. Legends at the side and colour bars start below that
# corner. Set on the default template (Streamlit's own once streamlit is imported, and it
# keeps what is added), the one every figure starts from.
TEMPLATE = "mnist_lab"
MODEBAR_REMOVED = ("zoom", "pan", "select", "lasso", "zoomin", "zoomout", "autoscale")
BELOW_TOOLBAR = 0.88
pio.templates[TEMPLATE] = go.layout.Template(
    layout={
        "modebar": {"remove": list(MODEBAR_REMOVED), "bgcolor": "rgba(255, 255, 255, 0.8)"},
        "legend": {"y": BELOW_TOOLBAR, "yanchor": "top"},
    }
)
# Colour bars stop short of the top right corner, where the toolbar stands.
COLORBAR_PLACE = {"len": BELOW_TOOLBAR, "y": 0, "yanchor": "bottom"}
if TEMPLATE not in str(pio.templates.default):
    # Merged once under a name of its own: a default of "a+b" is merged again (deep copies of
    # both templates) for every figure made, most of what a small figure costs to build.
    merged = f"{pio.templates.default}_{TEMPLATE}"
    pio.templates[merged] = pio.templates[f"{pio.templates.default}+{TEMPLATE}"]
    pio.templates.default = merged


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


def signed_words(what: str) -> str:
    """The colour convention of signed maps in words, about ``what`` they push.

    Examples
    --------
    >>> signed_words("the score of 7")
    'red pixels raise the score of 7, blue ones lower it'
    """
    return SIGNED_WORDS.format(what=what)


def percent_tickformat(values: Iterable[float | None]) -> str:
    """A tick format for accuracies with enough decimals that no two ticks read the same.

    Examples
    --------
    >>> percent_tickformat([0.2, 0.9]), percent_tickformat([0.921, 0.932])
    ('.0%', '.1%')
    >>> percent_tickformat([0.1124, 0.1135]), percent_tickformat([0.95, 1.0])
    ('.2%', '.0%')
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    span = max(finite) - min(finite) if finite else 0.0
    if span == 0:
        return ".1%"
    # Plotly's step is at least this round one (`percent_axis` caps the number of ticks).
    step_in_points = _nice_step(span * 100, TICKS_PER_AXIS)
    return f".{min(max(-math.floor(math.log10(step_in_points) + 1e-9), 0), 3)}%"


def percent_axis(values: Iterable[float | None]) -> dict:
    """A percent axis for ``values`` (shares in 0-1) whose ticks never read the same twice.

    Plotly's own tick step depends on the chart's height: capping the number of ticks makes
    the step at least the one `percent_tickformat` counts decimals for.

    Examples
    --------
    >>> percent_axis([0.975, 0.983])
    {'tickformat': '.1%', 'nticks': 8}
    """
    return {"tickformat": percent_tickformat(values), "nticks": TICKS_PER_AXIS}


def readable_number(value: float, decimals: int | None = None) -> str:
    """A tick label written out in full: 0.5, 0.02, 20,000; powers of ten past that.

    Parameters
    ----------
    value : float
        A positive number.
    decimals : int, optional
        Digits after the point; by default as many as ``value``'s first digit needs.

    Examples
    --------
    >>> [readable_number(v) for v in (0.5, 0.02, 1.0, 20000.0, 1e-8, 3e10)]
    ['0.5', '0.02', '1', '20,000', '1e-8', '3e10']
    >>> readable_number(2.3, decimals=2)
    '2.30'
    """
    if not 1e-4 <= value < 1e9:
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    if decimals is None:
        decimals = max(0, -math.floor(math.log10(value) + 1e-9))
    return f"{value:,.{decimals}f}"


def _nice_step(span: float, count: int = 4) -> float:
    """The 1-2-5 step that cuts ``span`` into about ``count`` parts."""
    raw = span / count
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))


def log_axis(values: Iterable[float | None]) -> dict:
    """A log axis whose ticks read as numbers, never "5" and "2" between unlabelled decades.

    Within two decades the ticks follow 1, 2, 5 (0.2, 0.5, 1, 2); over more, whole decades,
    every other one or rarer past six; within a fraction of a decade, evenly spaced round
    numbers (2.30, 2.32, 2.34). Every label is written in full (`readable_number`).

    Parameters
    ----------
    values : iterable of float
        The values drawn on the axis; zero, negative and missing ones are left out.

    Returns
    -------
    dict
        Properties for ``update_xaxes`` / ``update_yaxes`` (``type="log"`` and the ticks).

    Examples
    --------
    >>> log_axis([0.15, 2.4])["ticktext"]
    ['0.1', '0.2', '0.5', '1', '2', '5', '10', '20', '50']
    >>> log_axis([2.301, 2.362])["ticktext"]
    ['2.28', '2.30', '2.32', '2.34', '2.36', '2.38', '2.40']
    """
    positive = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    if not positive:
        return {"type": "log"}
    low, high = min(positive), max(positive)
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    decades = math.log10(high / low)
    if decades <= DECADES_FOR_1_2_5:
        ticks = [m * 10.0**e for e in range(first, last + 1) for m in (1, 2, 5)]
    else:
        every = math.ceil(decades / MAX_DECADE_TICKS)
        # Multiples of ``every`` decades, so 1 is among them when the range holds it.
        ticks = [10.0**e for e in range(first - first % every, last + 1, every)]
    texts = [readable_number(t) for t in ticks]
    if sum(low <= t <= high for t in ticks) < 3:
        # Too narrow for 1-2-5: evenly spaced round numbers, one beyond each end.
        step = _nice_step(high - low) if high > low else 10.0 ** (first - 1)
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        numbers = range(math.floor(low / step) - 1, math.ceil(high / step) + 2)
        ticks = [round(n * step, decimals + 3) for n in numbers if n > 0]
        texts = [readable_number(t, decimals) for t in ticks]
    return {"type": "log", "tickmode": "array", "tickvals": ticks, "ticktext": texts}
