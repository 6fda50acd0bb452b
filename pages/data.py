"""Your data: add a dataset of your own (a Keras .npz or four IDX files) and see it listed."""

import streamlit as st

from dashboard.ui.app.identity import current_owner, may_manage
from dashboard.ui.app.pages import PAGE, page_link
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.data.datasets_view import (
    DATASET_PARAM,
    add_uploaded_dataset,
    dataset_store,
    datasets_table,
    render_dataset_changes,
    show_change_outcome,
)
from mnist_lab.datasets import MAX_CLASSES, MAX_NAME_LENGTH, MAX_UPLOAD_BYTES

st.title(PAGE["data"].title)
st.markdown(
    "Train on more than MNIST: any set of **28 x 28 grey images** with **2 to 10 classes** "
    "works, such as [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist), "
    "[KMNIST](https://github.com/rois-codh/kmnist) or pictures your class drew. "
    "Once added, pick it on Explore, Train and Sweeps; every run remembers which data it "
    "learnt from."
)

with st.container(border=True):
    st.subheader("Add a dataset")
    st.caption(
        "Either **one .npz file** with the arrays `x_train`, `y_train`, `x_test`, `y_test` "
        "(as `numpy.savez` writes them), or **the four IDX files** of MNIST's own format, "
        "gzipped or not: `train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`, "
        "`t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`. Labels are whole numbers "
        "from 0; images white ink on black, like MNIST."
    )
    # Enter in a text box must not add the dataset before the class names are typed.
    with st.form("data_add", clear_on_submit=True, enter_to_submit=False):
        files = st.file_uploader(
            "Your files: one .npz, or the four IDX files",
            accept_multiple_files=True,
            max_upload_size=MAX_UPLOAD_BYTES // 2**20,
            key="data_files",
        )
        left, right = st.columns([1, 2])
        name = left.text_input(
            "Dataset name",
            max_chars=MAX_NAME_LENGTH,
            key="data_name",
            placeholder="e.g. Fashion-MNIST",
        )
        classes = right.text_input(
            "Class names (optional)",
            key="data_classes",
            placeholder="e.g. T-shirt, trouser, pullover, dress, coat, ...",
            help=f"In label order (label 0 first), separated by commas; up to {MAX_CLASSES}. "
            "Without them the classes are called by their labels.",
        )
        submitted = st.form_submit_button("Check and add", type="primary", icon=":material/add:")
    if submitted:
        try:
            with st.spinner("Checking the files..."):
                info = add_uploaded_dataset(files or [], name, classes, current_owner())
        except ValueError as error:
            st.error(
                f"Not added: {plain_markdown(error)}. Nothing was stored.", icon=":material/error:"
            )
        else:
            st.success(
                f"Added {plain_markdown(info.name)}: {info.n_train:,} training and "
                f"{info.n_test:,} test images, {info.n_classes} classes.",
                icon=":material/check_circle:",
            )

st.subheader("Datasets")
show_change_outcome()
infos = dataset_store().list()
if not infos:
    st.info("Only MNIST so far: add a dataset above.")
    st.stop()
st.dataframe(datasets_table(infos), hide_index=True, key="data_table")
st.caption("MNIST is always there as well. A dataset is kept under its SHA-256 beside the runs.")
by_hash = {info.sha256: info for info in infos}
# Picked by hash, so a renamed dataset stays picked.
chosen = by_hash.get(
    st.selectbox(
        "Look at one",
        list(by_hash),
        index=len(infos) - 1,
        format_func=lambda sha256: by_hash[sha256].name,
        key="data_chosen",
    ),
    infos[-1],
)
page_link(
    "explore",
    label="Explore it",
    query_params={DATASET_PARAM: chosen.name},
    icon=":material/search:",
)
with st.expander("Change a dataset"):
    render_dataset_changes(chosen, may_manage(chosen))
page_link("train", label="Train on it (choose it under Dataset)", icon=":material/model_training:")
