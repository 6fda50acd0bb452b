"""Axes and colours that read right: percent ticks, log ticks, epoch colour bars, the toolbar."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.ui.app.figures import style
from dashboard.ui.app.figures.style import log_axis, percent_axis
from dashboard.ui.classroom.figures import class_sweep_figure
from dashboard.ui.data.figures import histogram_figure
from dashboard.ui.evaluate.figures.evaluation import per_digit_accuracy_figure
from dashboard.ui.evaluate.figures.explain import reliability_figure, saliency_figure
from dashboard.ui.evaluate.figures.inside import (
    gradient_flow_figure,
    histogram_lines_figure,
    weights_grid,
)
from dashboard.ui.lessons.figures import lesson_curves_figure
from dashboard.ui.sweeps.figures import accuracy_by_parameter_figure, parallel_coordinates_figure
from dashboard.ui.train.figures.curves import learning_curve_figure, learning_curves_figure
from mnist_lab.sweeps.space import Parameter
from tests.test_curves import epoch

ROOT = Path(__file__).resolve().parents[1]


def plotly_tick_labels(axis, low, high):
    """The labels plotly prints on a linear axis: its step is a 1-2-5 number of at least
    (high - low) / nticks, and every multiple of it inside the range gets a label."""
    rough = (high - low) / axis.nticks
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    decimals = int(axis.tickformat[1])
    first = math.ceil(low / step - 1e-9)
    ticks = [n * step for n in range(first, math.floor(high / step + 1e-9) + 1)]
    return [f"{tick * 100:.{decimals}f}%" for tick in ticks]


def log_labels_inside(axis, low, high):
    """The labels a log axis with explicit ticks shows between ``low`` and ``high``."""
    return [
        text
        for value, text in zip(axis.tickvals, axis.ticktext, strict=True)
        if low <= value <= high
    ]


CLASS = pd.DataFrame(
    {
        "student": ["ana", "ben", "cleo", "ana", "ben"],
        "name": ["a1", "b1", "c1", "a2", "b2"],
        "learning_rate": [0.01, 0.01, 0.01, 0.1, 0.1],
        "test_accuracy": [0.9744, 0.9747, 0.9751, 0.9812, 0.9830],
    }
)


def test_the_class_chart_ticks_never_read_98_percent_twice():
    figure = class_sweep_figure(CLASS)
    labels = plotly_tick_labels(figure.layout.yaxis, 0.9744, 0.9830)
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    assert figure.layout.yaxis.tickformat == ".1%"


@pytest.mark.parametrize(
    ("low", "high"),
    [(0.9744, 0.9830), (0.921, 0.932), (0.1124, 0.1135), (0.2, 0.95), (0.95, 1.0)],
)
def test_every_narrow_percent_axis_gets_distinct_tick_labels(low, high):
    labels = plotly_tick_labels(go.layout.YAxis(**percent_axis([low, high])), low, high)
    assert len(set(labels)) == len(labels) >= 2, labels


def test_students_on_the_same_spot_stay_visible_apart():
    figure = class_sweep_figure(CLASS)
    symbols = [trace.marker.symbol for trace in figure.data]
    assert len(set(symbols)) == len(symbols) == 3
    for trace in figure.data:
        assert trace.marker.opacity < 1 and trace.marker.line.width > 0


def test_the_epoch_colour_bar_has_whole_epochs_only():
    series = pd.DataFrame(
        [
            {"epoch": e, "center": c, "density": 1.0}
            for e in range(1, 3)
            for c in (-1.0, 1.0)  # epochs 1 and 2: plotly put ticks at 1, 1.2, 1.4...
        ]
    )
    (scale,) = [t for t in histogram_lines_figure(series, "weights").data if t.marker.showscale]
    assert list(scale.marker.colorbar.tickvals) == [1, 2]
    many = pd.DataFrame([{"epoch": e, "center": 0.0, "density": 1.0} for e in range(31)])
    (scale,) = [t for t in histogram_lines_figure(many, "weights").data if t.marker.showscale]
    ticks = list(scale.marker.colorbar.tickvals)
    assert all(isinstance(t, int) for t in ticks) and 4 <= len(ticks) <= 8 and ticks[0] == 0


def test_a_log_loss_axis_writes_0_5_and_0_2_in_full_without_a_crowd():
    frame = pd.DataFrame([epoch(n, 0.9, loss=v) for n, v in enumerate((2.1, 0.9, 0.45, 0.16), 1)])
    axis = learning_curve_figure(frame, "loss", "epoch", "Loss", log_y=True).layout.yaxis
    assert axis.type == "log"
    assert log_labels_inside(axis, 0.16, 2.1) == ["0.2", "0.5", "1", "2"]


def test_a_log_axis_spanning_many_decades_labels_fewer_ticks():
    labels = log_labels_inside(go.layout.YAxis(**log_axis([1e-9, 1.0])), 1e-9, 1.0)
    assert 3 <= len(labels) <= 6 and labels[-1] == "1"
    counts = log_labels_inside(go.layout.YAxis(**log_axis([1, 40_000_000])), 1, 4e7)
    assert counts == ["1", "100", "10,000", "1,000,000"]


def test_a_log_axis_within_one_decade_still_gets_several_labels():
    labels = log_labels_inside(go.layout.YAxis(**log_axis([2.3541, 2.3697])), 2.35, 2.37)
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels


def test_every_log_axis_has_readable_ticks():
    losses = {
        "calm": [epoch(1, 0.9, loss=0.9), epoch(2, 0.9, loss=0.3)],
        "diverged": [epoch(1, 0.1, loss=40.0), epoch(2, 0.1, loss=4e3)],
    }
    calibration = type(
        "Calibration",
        (),
        {
            "counts": np.array([3, 40, 0, 9000]),
            "bin_edges": np.linspace(0, 1, 5),
            "confidence": np.array([0.1, 0.3, 0.6, 0.9]),
            "accuracy": np.array([0.1, 0.3, 0.6, 0.9]),
            "ece": 0.01,
        },
    )()
    pixels = pd.DataFrame({"value": [0, 128, 255], "count": [40_000_000, 3_000, 900_000]})
    pixels["share"] = pixels["count"] / pixels["count"].sum()
    gradients = pd.DataFrame({"step": [1, 2], "layer": ["dense", "dense"], "grad_rms": [1e-5, 0.2]})
    rows = [{"name": "t", "learning_rate": lr, "test_accuracy": 0.9} for lr in (1e-4, 1e-2)]
    axes = [
        lesson_curves_figure(losses).layout.yaxis,
        reliability_figure({"run": calibration}).layout.yaxis2,
        histogram_figure(pixels, log_y=True).layout.yaxis,
        gradient_flow_figure(gradients).layout.yaxis,
        accuracy_by_parameter_figure(rows, [Parameter("learning_rate", log=True)]).layout.xaxis,
        class_sweep_figure(CLASS).layout.xaxis,
    ]
    for axis in axes:
        assert axis.type == "log" and axis.tickmode == "array", axis
        # Every label a number written out: no lone "5" or "2" between decades, no "1m".
        for value, text in zip(axis.tickvals, axis.ticktext, strict=True):
            assert float(text.replace(",", "")) == pytest.approx(value), (value, text)


def test_sweep_accuracy_axes_follow_the_spread_of_the_trials():
    rows = [
        {"name": f"t{i}", "learning_rate": lr, "test_accuracy": acc}
        for i, (lr, acc) in enumerate(((0.01, 0.9791), (0.05, 0.9802), (0.1, 0.9811)))
    ]
    parameters = [Parameter("learning_rate", log=True)]
    axis = accuracy_by_parameter_figure(rows, parameters).layout.yaxis
    labels = plotly_tick_labels(axis, 0.9791, 0.9811)
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    (coordinates,) = parallel_coordinates_figure(rows, parameters).data
    assert coordinates.dimensions[-1].tickformat == coordinates.line.colorbar.tickformat


def test_compare_axes_follow_the_spread_too():
    curves = learning_curves_figure({"a": [epoch(1, 0.981), epoch(2, 0.983)]})
    assert curves.layout.yaxis2.tickformat == ".2%" and curves.layout.yaxis2.nticks
    evaluated = type("Evaluated", (), {"matrix": np.diag([98, 99, 97, 99, 98, 97, 99, 98, 97, 96])})
    bars = per_digit_accuracy_figure({"a": evaluated})
    assert bars.layout.yaxis.tickformat == ".0%" and bars.layout.yaxis.nticks


def test_the_toolbar_keeps_out_of_legends_and_colour_bars_through_streamlits_theme():
    # As on every page: streamlit (which makes its theme plotly's default) is imported first.
    script = (
        "import json, streamlit, numpy as np, plotly.io as pio\n"
        "from dashboard.ui.classroom.figures import class_sweep_figure\n"
        "from dashboard.ui.evaluate.figures.explain import saliency_figure\n"
        "import pandas as pd\n"
        "table = pd.DataFrame({'student': ['a'], 'name': ['r'], 'learning_rate': [0.1],"
        " 'test_accuracy': [0.9]})\n"
        "layout = class_sweep_figure(table).to_plotly_json()['layout']\n"
        "bar = saliency_figure(np.zeros((28, 28)), np.ones((28, 28))).data[0].colorbar\n"
        "print(json.dumps({'template': layout['template']['layout'],"
        " 'bar': [bar.len, bar.yanchor],"
        " 'streamlit': list(pio.templates['streamlit'].layout.colorway)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    shown = json.loads(result.stdout)
    template = shown["template"]
    assert set(style.MODEBAR_REMOVED) <= set(template["modebar"]["remove"])
    # Side legends and colour bars start below the toolbar's corner.
    assert template["legend"]["y"] < 1 and template["legend"]["yanchor"] == "top"
    assert shown["bar"][0] < 1 and shown["bar"][1] == "bottom"
    # Streamlit's own theme still shapes the figure: ours is added to it, not instead of it.
    assert template["colorway"] == shown["streamlit"]


def test_one_signed_colour_convention_for_saliency_and_weights():
    saliency = saliency_figure(np.zeros((28, 28)), np.ones((28, 28))).data[0]
    weights = weights_grid(np.ones((2, 28, 28)), ["0", "1"]).data[0]
    red_high = go.Heatmap(colorscale=style.SIGNED_COLORSCALE).colorscale
    assert saliency.colorscale == weights.colorscale == red_high
    assert red_high[-1][1] == "rgb(103,0,31)", "red at the top: red raises"
    assert list(saliency.colorbar.ticktext) == ["lowers", "0", "raises"]
