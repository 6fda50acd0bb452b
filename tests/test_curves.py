"""Learning-curve figures: honest axes, partial epochs, smoothing, several runs overlaid."""

import doctest
import importlib

import pandas as pd
import pytest

from dashboard.ui.app.figures.style import percent_tickformat
from dashboard.ui.train.figures.curves import (
    learning_curve_figure,
    learning_curves_figure,
    smooth,
)
from mnist_lab import records


def epoch(number, accuracy, fraction=1.0, loss=0.5):
    return records.epoch_record(
        epoch=number,
        step=number * 10,
        fraction=fraction,
        loss=loss,
        accuracy=accuracy,
        val_loss=None,
        val_accuracy=None,
        lr=0.1,
        samples_per_s=1,
        elapsed_s=1,
    )


def chunk(iterations, accuracy):
    return records.chunk_record(
        chunk=iterations // 25,
        iterations=iterations,
        loss=0.3,
        accuracy=accuracy,
        samples_per_s=1,
        elapsed_s=1,
    )


def tick_labels(tickformat, low, high, n=8):
    """The labels plotly would print for evenly spaced ticks, read with Python's format."""
    decimals = int(tickformat[1])
    step = (high - low) / n
    return [f"{(low + i * step) * 100:.{decimals}f}%" for i in range(n + 1)]


def test_narrow_accuracy_ranges_get_decimals_so_ticks_differ():
    for low, high in ((0.921, 0.932), (0.1124, 0.1135), (0.2, 0.95)):
        labels = tick_labels(percent_tickformat([low, high]), low, high)
        assert len(set(labels)) == len(labels), labels


def test_smoothing_is_tensorboards_debiased_moving_average():
    assert smooth([3.0, 3.0, 3.0], 0.9) == pytest.approx([3.0, 3.0, 3.0])
    assert smooth([1.0, 2.0], 0.0).tolist() == [1.0, 2.0]
    assert list(smooth([1.0, float("nan"), 1.0], 0.5))[2] == 1.0


def test_a_short_run_gets_whole_epoch_ticks_and_a_cut_short_epoch_an_open_marker():
    frame = pd.DataFrame([epoch(1, 0.8), epoch(2, 0.85), epoch(3, 0.86, fraction=0.4)])
    figure = learning_curve_figure(frame, "accuracy", "epoch", "Accuracy")
    (train,) = figure.data
    assert list(train.x) == [1.0, 2.0, 2.4]
    assert list(train.marker.symbol) == ["circle", "circle", "circle-open"]
    assert list(figure.layout.xaxis.tickvals) == [1, 2]
    assert list(figure.layout.xaxis.range) == [0.5, 2.9]
    assert list(train.customdata) == ["epoch 1", "epoch 2", "epoch 3, 40% done"]


def test_a_run_stopped_in_its_first_epoch_sits_before_tick_1_never_on_a_tick_0():
    frame = pd.DataFrame([epoch(1, 0.3, fraction=0.4)])
    for figure in (
        learning_curve_figure(frame, "loss", "epoch", "Loss"),
        learning_curves_figure({"stopped": frame.to_dict("records")}),
    ):
        axis = figure.layout.xaxis
        assert figure.data[0].x[0] == 0.4
        assert list(axis.tickvals) == [1] and axis.range[0] < 0.4 < 1 < axis.range[1]
        assert "epoch 1, 40% done" in list(figure.data[0].customdata)


def test_per_window_curves_are_smoothed_over_a_faint_raw_curve_and_loss_can_be_log():
    frame = pd.DataFrame({"step": [1, 2, 3], "loss": [2.0, 1.0, 0.5]})
    figure = learning_curve_figure(frame, "loss", "step", "Loss", smoothing=0.6, log_y=True)
    raw, smoothed = figure.data
    assert raw.opacity < 1 and not raw.showlegend and list(raw.y) == [2.0, 1.0, 0.5]
    assert smoothed.y[0] == 2.0 and smoothed.y[-1] > 0.5
    assert figure.layout.yaxis.type == "log"


def test_the_first_window_is_a_dot_on_an_axis_that_stays_within_100_percent():
    frame = pd.DataFrame({"step": [64], "accuracy": [0.657]})
    figure = learning_curve_figure(frame, "accuracy", "step", "Accuracy", smoothing=0.6)
    assert "markers" in figure.data[-1].mode, "a line of one point draws nothing"
    low, high = figure.layout.yaxis.range
    assert 0.5 < low < 0.657 < high <= 1.0


def test_overlaid_runs_put_the_baseline_on_its_own_axis_and_shorten_long_names():
    long_name = "a very long run name that would squeeze the charts " * 2
    figure = learning_curves_figure(
        {
            long_name: [epoch(1, 0.90), epoch(2, 0.95)],
            "baseline": [chunk(25, 0.921), chunk(50, 0.925)],
        }
    )
    network = [trace for trace in figure.data if trace.xaxis in ("x", "x2")]
    baseline = [trace for trace in figure.data if trace.xaxis in ("x3", "x4")]
    assert network and len(baseline) == 2
    assert figure.layout.xaxis3.overlaying == "x" and figure.layout.xaxis3.side == "top"
    assert all(len(trace.name) < 45 for trace in figure.data)
    assert long_name.strip()[:20] in network[0].hovertemplate
    assert figure.layout.xaxis.title.text == "epoch"


@pytest.mark.parametrize(
    "module",
    [
        "dashboard.ui.train.figures.curves",
        "dashboard.ui.app.figures.style",
        "dashboard.ui.evaluate.figures.inside",
        "dashboard.ui.app.text",
        "dashboard.ui.runs.runs_view",
    ],
)
def test_docstring_examples_of_the_view_helpers(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted and not result.failed
