"""Inside the network: weights as images, every layer's output, gradient flow, histograms."""

import itertools

import numpy as np
import streamlit as st

from dashboard.ui.app.dataset_cache import run_dataset
from dashboard.ui.app.figures.style import class_labels, signed_words
from dashboard.ui.app.pages import PAGE
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.evaluate import inside_figures as views
from dashboard.ui.runs.runs_view import page_run, run_picker
from mnist_lab import inspection
from mnist_lab.datasets import class_names_of
from mnist_lab.engines import engine_of
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import Run, RunStore
from mnist_lab.status import DAMAGED, LIVE_STATES

MAX_UNITS_SHOWN = 100
# How many of the newest runs are searched for one with gradients to compare with.
GRADIENT_SEARCH = 30

st.session_state.setdefault("inside_digit", 0)


def without_layer_records(run: Run, what: str) -> str:
    """Why ``run`` shows no ``what`` ("gradient flow", "histograms"), in plain words."""
    try:
        baseline = engine_of(run).is_baseline
    except (ValueError, DamagedRunError):
        baseline = False
    if baseline:
        return (
            f"The baseline is a single layer of weights fitted by L-BFGS, with no hidden "
            f"layers, so it has no {what} to show. Its weights are the digit templates on the "
            "Weights tab; pick a network to see its layers."
        )
    if run.status()["state"] in LIVE_STATES:
        return f"No {what} recorded yet: the first records arrive during the first epoch."
    return (
        f"This run recorded no {what}: recording it is a training setting, off by default "
        "for convolutional networks so that they train faster."
    )


def has_gradient_records(run: Run) -> bool:
    """Whether ``run`` logged per-layer gradients."""
    return views.has_gradient_records(str(run.path), views.records_version(run))


def show_gradient_flow(run: Run, where) -> None:
    """Per-layer gradient sizes over training (log scale) and their plain-language reading."""
    flow = views.gradient_flow(str(run.path), views.records_version(run))
    if flow is None:
        where.info(without_layer_records(run, "gradient flow"))
        return
    where.plotly_chart(flow.figure, key=f"inside_grad_{run.id}")
    (where.success if flow.healthy else where.warning)(flow.reading)


st.title(PAGE["inside"].title)
store = RunStore()
run = page_run(store, "inside_run")
status = run.status()
if status["state"] == DAMAGED:
    st.warning(status["message"])
    st.stop()
try:
    engine = engine_of(run)
    class_names = class_names_of(run)
except ValueError as error:
    st.warning(f"This run cannot be inspected: {plain_markdown(error)}.")
    st.stop()
has_model = engine.has_model(run)
if not has_model:
    st.info(
        f"This run ({status['state']}) has no saved weights yet; they appear after its "
        "first epoch. Gradient flow and histograms below update while it trains."
    )
saved_at = views.model_version(run) if has_model else None
try:
    if has_model:
        # One prediction reads every file a view needs: a damaged one shows here, once.
        views.checked_model(str(run.path), saved_at)
except DamagedRunError as error:
    st.warning(f"This run is damaged: {plain_markdown(error)}. Its records below still show.")
    has_model = False
weights_tab, activations_tab, gradients_tab, histograms_tab = st.tabs(
    ["Weights", "Activations", "Gradient flow", "Histograms"]
)

with weights_tab:
    if has_model:
        weights = views.weight_views(
            str(run.path), saved_at, tuple(class_labels(class_names)), MAX_UNITS_SHOWN
        )
        if weights.first is not None:
            shown, units, figure = weights.first
            st.subheader(f"First-layer weights ({shown} of {units} units)")
            st.caption(
                f"Each tile is one hidden unit's 784 weights: {signed_words('its activation')}. "
                "Trained units look like strokes; the border stays noise."
            )
            st.plotly_chart(figure)
        if weights.filters is not None:
            filters, figure = weights.filters
            st.subheader(f"First convolution: {filters} filters")
            st.plotly_chart(figure)
        if weights.templates is not None:
            st.subheader("Digit templates")
            st.caption(
                f"Each digit's score is a weighted sum of the pixels: {signed_words('it')} "
                "(for the NumPy network: W1 @ W2, what it would use if its hidden units were "
                "linear)."
            )
            st.plotly_chart(weights.templates)

with activations_tab:
    if has_model:
        picker, shown_input = st.columns([3, 1])
        drawing = st.session_state.get("playground_digit")
        source = "A test digit"
        if drawing is not None:
            source = picker.radio(
                "Input", ["A test digit", "Your drawing"], key="inside_source", horizontal=True
            )
        if source == "Your drawing":
            image = np.asarray(drawing, dtype=np.uint8)
        else:
            # The test images of the data this run learnt.
            dataset = run_dataset(run)
            index = picker.number_input("Test image #", 0, dataset.n_test - 1, key="inside_digit")
            image = dataset.x_test[int(index)]
            picker.caption(f"Label: {plain_markdown(class_names[dataset.y_test[int(index)]])}")
        digit = np.ascontiguousarray(image).tobytes()
        shown_input.plotly_chart(views.input_figure(digit))
        outputs = views.layer_views(str(run.path), saved_at, digit)
        for output in [o for o in outputs if o.kind == "conv"]:
            st.markdown(f"**{output.name}**: {output.size} feature maps")
            st.plotly_chart(output.figure)
        # Unit activations two per row: a deep MLP's layers fit on one screen.
        cells = st.columns(2)
        for position, output in enumerate(o for o in outputs if o.kind != "conv"):
            where = cells[position % 2]
            where.markdown(
                f"**{output.name}**: "
                + (
                    f"probabilities, predicts **{plain_markdown(class_names[output.top])}**"
                    if output.kind == "softmax"
                    else f"{output.size} unit activations"
                )
            )
            where.plotly_chart(output.figure, key=f"inside_act_{output.name}")

with gradients_tab:
    st.caption(
        "How strongly the loss pulls on each layer's weights as training goes on. If the "
        "first layers get far smaller gradients than the last, they barely learn."
    )
    # The newest other run that has gradients to compare with, not merely the newest run;
    # looked for among the newest few only, as each costs reading its records.
    newest = itertools.islice(store.list(), GRADIENT_SEARCH)
    first_other = next((r.id for r in newest if r != run and has_gradient_records(r)), None)
    if first_other is None:
        # The baseline and runs without the setting have none: nothing to pick from.
        st.caption(
            "No other recent run recorded its gradient flow, so there is none to compare with."
        )
        other = None
    else:
        other = run_picker(store, "inside_compare", label="Compare with", default_id=first_other)
    left, right = st.columns(2)
    left.markdown(f"**{plain_markdown(run.name)}**")
    show_gradient_flow(run, left)
    if other is not None and other != run:
        right.markdown(f"**{plain_markdown(other.name)}**")
        show_gradient_flow(other, right)

with histograms_tab:
    version = views.records_version(run)
    layers = views.histogram_layers(str(run.path), version)
    if not layers:
        st.info(without_layer_records(run, "weight and activation histograms"))
    else:
        left, right = st.columns(2)
        layer = left.selectbox("Layer", layers, key="inside_hist_layer")
        quantity = right.radio(
            "Values", inspection.HISTOGRAM_QUANTITIES, horizontal=True, key="inside_hist_quantity"
        )
        st.plotly_chart(
            views.histogram_figure(str(run.path), version, layer, quantity),
            key="inside_hist_chart",
        )
