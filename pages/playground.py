"""Playground: draw, upload or pick a digit and see what each trained model predicts."""

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from dashboard.ui.app.dataset_cache import get_dataset, run_dataset
from dashboard.ui.app.figures.images import image_figure
from dashboard.ui.app.pages import PAGE, page_link
from dashboard.ui.app.run_cache import model_of
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.evaluate.explain_view import choose_run, explain_digit
from dashboard.ui.evaluate.figures.playground import probabilities_figure
from dashboard.ui.runs.runs_view import run_label, run_row
from dashboard.ui.train.quick_model import quick_model_offer
from mnist_lab import handwriting
from mnist_lab.datasets import class_names_of
from mnist_lab.predict import predict_proba, usable_runs
from mnist_lab.runs import Run, RunStore

SOURCES = {"draw": "Draw", "upload": "Upload an image", "test": "Random test image"}
CANVAS_SIZE = 280
STROKE_WIDTH = 20
MAX_UPLOAD_MB = st.get_option("server.maxUploadSize")


def predict(run: Run, digit: np.ndarray) -> np.ndarray:
    """The ten probabilities of ``run`` for one 28x28 uint8 digit (Keras models cached)."""
    return predict_proba(run, digit, model=model_of(run))[0]


st.title(PAGE["playground"].title)
store = RunStore()
rows = {run.id: run_row(run) for run in usable_runs(store)}
if not rows:
    st.info("No trained models yet: train one here in one click, or choose your own on Train.")
    quick_model_offer(store, "playground_quick_run")
    page_link("train", "Go to Train")
    st.stop()

networks = [row for row in rows.values() if not row["baseline"]]
best = max(networks, key=lambda row: row["test_accuracy"] or 0.0, default=None)
baseline = next((row for row in rows.values() if row["baseline"]), None)
default = [row["id"] for row in (best, baseline) if row is not None]
chosen = st.multiselect(
    "Models",
    list(rows),
    default=default,
    format_func=lambda run_id: run_label(rows[run_id]),
    key="playground_runs",
)

source = (
    st.segmented_control(
        "Digit", list(SOURCES), format_func=SOURCES.get, default="draw", key="playground_source"
    )
    or "draw"
)
gray = None
left, right = st.columns(2)
with left:
    if source == "upload":
        upload = st.file_uploader(
            "A photo, scan or drawing of one digit",
            type=["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"],
            key="playground_upload",
            help=f"PNG, JPEG, GIF, BMP, WEBP or TIFF, at most {MAX_UPLOAD_MB} MB.",
        )
        if upload is not None:
            try:
                gray = handwriting.decode_image(upload.getvalue())
            except ValueError as error:
                st.error(str(error))
    elif source == "test":
        # The test images of the data the first chosen model learnt.
        dataset = run_dataset(store.get(chosen[0])) if chosen else get_dataset()
        st.session_state.setdefault("playground_index", 0)
        st.button(
            "Random test image",
            key="playground_random",
            icon=":material/casino:",
            on_click=lambda: st.session_state.update(
                playground_index=int(np.random.default_rng().integers(len(dataset.x_test)))
            ),
        )
        index = st.number_input(
            "Test image index", 0, len(dataset.x_test) - 1, key="playground_index"
        )
        st.caption(f"True label: {plain_markdown(dataset.class_names[dataset.y_test[index]])}")
        st.session_state["playground_digit"] = dataset.x_test[index]
    else:
        st.caption("Draw one digit, large and centred; the toolbar undoes or clears.")
        # The canvas's toolbar floats above it: this empty line keeps it off the caption.
        st.write("")
        canvas = st_canvas(
            stroke_width=STROKE_WIDTH,
            stroke_color="#000000",
            background_color="#FFFFFF",
            width=CANVAS_SIZE,
            height=CANVAS_SIZE,
            drawing_mode="freedraw",
            return_image_data=True,
            key="playground_canvas",
        )
        if canvas.image_data is not None:
            gray = handwriting.canvas_to_gray(canvas.image_data)

if source != "test":
    # One pass of the ink extraction per rerun: `to_mnist` refuses a 2-D grey image only
    # when it is blank, so asking `is_blank` first would do the whole work twice.
    prepared = None
    if gray is not None:
        try:
            prepared = handwriting.to_mnist(gray)
        except ValueError:
            pass
    if prepared is None:
        st.session_state.pop("playground_digit", None)
        if source == "draw":
            left.info("The canvas is empty: draw a digit to see what the models predict.")
        elif gray is not None:
            left.info("No digit found in this image: upload one with clearly visible ink.")
        st.stop()
    st.session_state["playground_digit"] = prepared

digit = st.session_state["playground_digit"]
right.plotly_chart(
    image_figure(digit, zmin=0, zmax=255, show_colorbar=False, height=280),
    key="playground_input",
)
right.caption("What the models see: your digit in MNIST's 28x28 format, centred like MNIST's.")
if not chosen:
    st.info("Choose at least one model above.")
    st.stop()
probabilities = {run_id: predict(store.get(run_id), digit) for run_id in chosen}
class_names = {run_id: class_names_of(store.get(run_id)) for run_id in chosen}
st.dataframe(
    [
        {
            "Model": run_label(rows[run_id]),
            "Prediction": class_names[run_id][int(values.argmax())],
            "Probability": float(values.max()),
        }
        for run_id, values in probabilities.items()
    ],
    column_config={"Probability": st.column_config.NumberColumn(format="percent")},
    hide_index=True,
    key="playground_table",
)
# One chart holds models of the same classes: those of the first chosen model.
first_classes = class_names[chosen[0]]
named = [
    (rows[run_id]["name"], values)
    for run_id, values in probabilities.items()
    if class_names[run_id] == first_classes
]
st.plotly_chart(
    probabilities_figure(named, class_names=first_classes), key="playground_probabilities"
)
if len(named) < len(chosen):
    st.caption(
        "Models that learnt other classes are in the table only: the chart shows those of "
        "the first model's classes."
    )

st.subheader("Why did it say that?")
chosen_runs = [store.get(run_id) for run_id in chosen]
explained = choose_run(chosen_runs, key="playground_why_run")
explain_digit(digit, explained, chosen_runs, key="playground_why")
