"""Evaluate: how a trained model does on its test images, and where it goes wrong."""

import pandas as pd
import streamlit as st

from dashboard.ui.app.figures.style import class_word
from dashboard.ui.app.pages import PAGE
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.evaluate.explain_view import explain_test_digit
from dashboard.ui.evaluate.figures.evaluation import clicked_cell
from dashboard.ui.evaluate.import_view import RUN_KEY, render_model_import
from dashboard.ui.evaluate.model_checks_view import labelled, show_calibration, show_robustness
from dashboard.ui.evaluate.shared_figures import cached_confusion_figure, cached_gallery_figure
from dashboard.ui.runs.baseline_view import baseline_offer
from dashboard.ui.runs.export_view import render_code_downloads
from dashboard.ui.runs.runs_view import load_evaluated, page_run
from dashboard.ui.runs.tensorboard_view import render_tensorboard_command
from dashboard.ui.train.train_forms import copy_settings_button
from mnist_lab import evaluation as ev
from mnist_lab.data import EMBEDDED_NAME
from mnist_lab.datasets import class_names_of, recorded_dataset
from mnist_lab.engines import engine_of, find_baseline
from mnist_lab.evaluation import EVALUATION_FILE
from mnist_lab.files import DamagedRunError
from mnist_lab.predict import usable_runs
from mnist_lab.runs import RunStore

GALLERY_SIZES = (8, 16, 32)

st.title(PAGE["evaluate"].title)
store = RunStore()
render_model_import(store)
run = page_run(store, RUN_KEY)
result = load_evaluated(run)
if isinstance(result, str):
    st.warning(result)
    st.stop()
try:
    class_names = class_names_of(run)
except DamagedRunError as error:
    st.warning(f"This run is damaged: {plain_markdown(error)}.")
    st.stop()

# The yardstick must have learnt the same data.
baseline_run = find_baseline(store, recorded_dataset(run.config())["sha256"])
baseline = load_evaluated(baseline_run) if baseline_run and baseline_run != run else None
left, middle, right = st.columns(3)
accuracy, loss = result.evaluation["test_accuracy"], result.evaluation["test_loss"]
if baseline is None or isinstance(baseline, str):
    left.metric("Test accuracy", f"{accuracy:.2%}")
    middle.metric("Test loss", f"{loss:.4f}")
    if baseline_run is None:
        with right:
            st.info("No baseline yet to compare with.")
            baseline_offer(store, "evaluate_baseline", recorded_dataset(run.config())["name"])
else:
    base_accuracy, base_loss = (
        baseline.evaluation["test_accuracy"],
        baseline.evaluation["test_loss"],
    )
    left.metric(
        "Test accuracy", f"{accuracy:.2%}", f"{(accuracy - base_accuracy) * 100:+.2f} points"
    )
    middle.metric("Test loss", f"{loss:.4f}", f"{loss - base_loss:+.4f}", delta_color="inverse")
    right.metric("Baseline accuracy", f"{base_accuracy:.2%}", help="Logistic regression")
dataset_name = recorded_dataset(run.config())["name"]
# A run's last message may state its whole-split score (runs from before the assignments).
message = run.status().get("message", "") if result.part is None else ""
st.caption(
    f"{result.evaluation['n_test']:,} test images of {plain_markdown(dataset_name)}. "
    f"{plain_markdown(message)}"
)
if result.part is not None:
    st.info(plain_markdown(result.part.describe()), icon=":material/visibility_off:")
copy_settings_button(run, "evaluate_copy_settings", open_train=True)

st.subheader("Confusion matrix")
normalized = st.toggle("Show shares of each true class", key="evaluate_normalized")
event = st.plotly_chart(
    cached_confusion_figure(
        str(run.path),
        run.file(EVALUATION_FILE).stat().st_mtime,
        "" if result.part is None else result.part.key,
        normalized,
        tuple(class_names),
        result.matrix,
    ),
    on_select="rerun",
    selection_mode=("points",),
    key="evaluate_confusion",
)
cell = clicked_cell(event)
# Apply a click once, so choosing digits in the select boxes afterwards is not overridden.
if cell and cell != st.session_state.get("evaluate_last_cell"):
    st.session_state["evaluate_last_cell"] = cell
    st.session_state["evaluate_true"], st.session_state["evaluate_pred"] = cell
pairs = ev.most_confused_pairs(result.matrix, top=5)
named = [(plain_markdown(class_names[t]), plain_markdown(class_names[p]), n) for t, p, n in pairs]
st.caption("Most confused: " + ", ".join(f"{t} taken for {p} ({n}×)" for t, p, n in named))

st.subheader("Which images")
st.caption("Click a cell above, or choose here. With one class left at *any*, only mistakes show.")
columns = st.columns(3)
options = [None, *range(len(class_names))]


def class_label(index: int | None) -> str:
    return "any" if index is None else class_names[index]


# "True digit" for MNIST, "True class" for a dataset of other things.
word = class_word(class_names)
true_digit = columns[0].selectbox(
    f"True {word}", options, key="evaluate_true", format_func=class_label
)
pred_digit = columns[1].selectbox(
    f"Predicted {word}", options, key="evaluate_pred", format_func=class_label
)
size = columns[2].select_slider("How many", GALLERY_SIZES, value=16, key="evaluate_gallery_size")
if true_digit is not None and pred_digit is not None:
    indices = ev.cell_indices(
        result.y_true, result.y_pred, true_digit, pred_digit, result.confidence
    )
else:
    indices = ev.misclassified_indices(
        result.y_true, result.y_pred, result.confidence, true_digit, pred_digit
    )
# Positions among the digits shown, then those digits' places in the whole test split.
shown = result.indices[indices[:size]]
st.caption(
    f"{len(indices)} test images, most confident first. Showing: "
    + ", ".join(f"#{i}" for i in shown)
)
if len(shown):
    predictions_mtime = run.file(ev.PREDICTIONS_FILE).stat().st_mtime
    st.plotly_chart(
        cached_gallery_figure(str(run.path), predictions_mtime, tuple(map(int, shown))),
        key="evaluate_gallery",
    )

st.subheader("Why did it say that?")
try:
    explain_test_digit(run, usable_runs(store), shown[0] if len(shown) else 0, key="evaluate_why")
except DamagedRunError as error:
    st.warning(f"Why it answered so cannot be shown: this run is damaged: {plain_markdown(error)}.")

st.subheader("Per class")
per_class = pd.DataFrame(result.evaluation["per_class"])
if dataset_name != EMBEDDED_NAME:
    per_class.insert(0, "class", [class_names[i] for i in range(len(per_class))])
# In points with two decimals each, so the column lines up ("percent" drops trailing zeros).
per_class[["precision", "recall", "f1"]] *= 100
points = "%.2f%%"
st.dataframe(
    per_class,
    hide_index=True,
    key="evaluate_per_class",
    column_config={
        "precision": st.column_config.NumberColumn(format=points),
        "recall": st.column_config.NumberColumn("recall (accuracy)", format=points),
        "f1": st.column_config.NumberColumn(format=points),
    },
)

checked = labelled([run] + ([baseline_run] if baseline is not None else []))
st.subheader("Calibration")
show_calibration(checked, key="evaluate_calibration")
st.subheader("Robustness")
show_robustness(checked, key="evaluate_robustness")

st.subheader("Downloads")
# Callables build each file only when its button is clicked; "ignore" skips the rerun.
downloads = {
    "Confusion matrix (CSV)": (lambda: ev.confusion_csv(result.matrix), "confusion.csv"),
    "Predictions (CSV)": (
        lambda: ev.predictions_csv(result.y_true, result.probabilities, result.indices),
        "predictions.csv",
    ),
}
try:
    model_file = engine_of(run).model_file(run)
except ValueError:
    # Trained by an engine this lab does not know: its results show, its model is not offered.
    model_file = None
if model_file is not None:
    downloads[f"Model ({model_file.name})"] = (model_file.read_bytes, model_file.name)
for column, (label, (data, file_name)) in zip(st.columns(3), downloads.items(), strict=False):
    column.download_button(
        label,
        data,
        f"{run.id}-{file_name}",
        on_click="ignore",
        key=f"evaluate_download_{file_name}",
    )
render_code_downloads(run, "evaluate")
render_tensorboard_command(run)
