"""Bring a trained model: the Evaluate page's upload of a ``.keras`` or ``.h5`` file.

The file is written to a temporary folder and handed to the external engine's
``import_file``, which checks it in full (safe loading, size, parameters, input, outputs)
before a run exists: a refused file leaves nothing behind.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from dashboard.ui.app.identity import current_owner, name_missing
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.data.datasets_view import dataset_picker
from mnist_lab.engines import get_engine
from mnist_lab.preprocess import NORMALIZATIONS
from mnist_lab.runs import MAX_NAME_LENGTH, Run, RunStore

OUTSIDE = get_engine("external")
RUN_KEY = "evaluate_run"


def import_upload(
    store: RunStore, file: UploadedFile | None, name: str, normalization: str, dataset: str
) -> Run:
    """The uploaded model as a finished run; `ValueError` with the reason otherwise."""
    if file is None:
        raise ValueError("choose a .keras or .h5 file first")
    with tempfile.TemporaryDirectory(prefix="mnist-lab-model-") as folder:
        # Only the base name: an uploaded name must not point anywhere else.
        path = Path(folder) / (Path(file.name).name or "upload.keras")
        path.write_bytes(file.getvalue())
        return OUTSIDE.import_file(
            store,
            path,
            name=name.strip() or path.stem,
            normalization=normalization,
            dataset=dataset,
            owner=current_owner(),
        )


def render_model_import(store: RunStore) -> None:
    """A small expander that turns an uploaded model into a run, then shows that run."""
    with st.expander("Bring a trained model", icon=":material/upload_file:"):
        st.caption(
            "A Keras model trained elsewhere (.keras, or .h5 from older Keras) that takes a "
            "28x28 digit (784 values, 28x28 or 28x28x1) and gives one score per class. It is "
            "loaded with safe_mode, so Lambda layers and custom objects are refused, then "
            "evaluated on the test images. From your own notebook, add "
            "`callbacks=[LabCallback()]` to `fit` instead and watch it train here."
        )
        with st.form("evaluate_import", clear_on_submit=True):
            file = st.file_uploader(
                "Model file",
                type=[suffix.lstrip(".") for suffix in OUTSIDE.file_suffixes],
                max_upload_size=OUTSIDE.max_file_bytes // 2**20,
                key="evaluate_import_file",
            )
            left, middle, right = st.columns(3)
            name = left.text_input(
                "Run name", max_chars=MAX_NAME_LENGTH, key="evaluate_import_name"
            )
            normalization = middle.selectbox(
                "Its input normalization",
                list(NORMALIZATIONS),
                index=list(NORMALIZATIONS).index("scale"),
                format_func=lambda key: f"{key}: {NORMALIZATIONS[key]}",
                key="evaluate_import_normalization",
            )
            with right:
                dataset = dataset_picker("evaluate_import_dataset")
            submitted = st.form_submit_button("Check and import", icon=":material/upload:")
    if not submitted:
        return
    if name_missing():
        st.warning("Give your name in the sidebar first: every run here has an owner.")
        return
    try:
        with st.spinner("Loading and evaluating the model..."):
            run = import_upload(store, file, name, normalization, dataset)
    except ValueError as error:
        st.error(
            f"Not imported: {plain_markdown(error)}. No run was made.", icon=":material/error:"
        )
        return
    # The page's run picker comes below: it opens on the new run.
    st.session_state[RUN_KEY] = run.id
    st.query_params["run"] = run.id
    st.success(f"Imported as {plain_markdown(run.name)}: {plain_markdown(run.status()['message'])}")
