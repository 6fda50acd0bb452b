"""Users' own datasets on the pages: the picker every page shares, uploads, the table.

The library checks and stores them (`mnist_lab.datasets`); this module only turns uploaded
files into files on disk for it, and draws the choices. Names are shown as plain text.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd
import streamlit as st

from dashboard.ui.app.text import plain_markdown
from mnist_lab.data import EMBEDDED_NAME
from mnist_lab.datasets import MAX_UPLOAD_BYTES, DatasetInfo, DatasetStore, recorded_dataset
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import Run, RunStore

DATASET_PARAM = "dataset"
DATASET_HELP = (
    "MNIST, or a dataset of your own: add it on the Data page, as a Keras-style .npz or the "
    "four IDX files."
)


class UploadedFile(Protocol):
    """What the Data page needs of an uploaded file (Streamlit's ``UploadedFile``)."""

    name: str
    size: int

    def getvalue(self) -> bytes:
        """The file's bytes."""


def dataset_store() -> DatasetStore:
    """The datasets stored beside this server's runs."""
    return DatasetStore(RunStore().root)


def dataset_picker(key: str, label: str = "Dataset", where=st, from_url: bool = False) -> str:
    """A selectbox of MNIST and every stored dataset; returns the chosen name.

    Parameters
    ----------
    key : str
        The widget's key (prefixed by its page); a stored choice that is gone falls back to
        MNIST.
    label : str, default "Dataset"
    where : module or container, default st
        Where to draw it (a column, the sidebar).
    from_url : bool, default False
        Whether ``?dataset=NAME`` in the address picks it (a link from the Data page).

    Returns
    -------
    str
        The dataset's name.
    """
    names = dataset_store().names()
    if from_url and st.query_params.get(DATASET_PARAM) in names:
        st.session_state[key] = st.query_params[DATASET_PARAM]
        # Once: afterwards the picker is the student's again.
        del st.query_params[DATASET_PARAM]
    if st.session_state.get(key) not in names:
        st.session_state[key] = EMBEDDED_NAME
    return where.selectbox(label, names, key=key, help=DATASET_HELP)


def add_uploaded_dataset(files: Sequence[UploadedFile], name: str, class_names: str) -> DatasetInfo:
    """Check and store a dataset from uploaded files (written to a temporary folder first).

    Parameters
    ----------
    files : sequence of UploadedFile
        One ``.npz`` or the four IDX files, as ``st.file_uploader`` returns them.
    name : str
        The dataset's name.
    class_names : str
        Comma-separated class names, or empty for the labels.

    Returns
    -------
    DatasetInfo

    Raises
    ------
    ValueError
        Saying what is wrong; nothing is stored then.
    """
    if not files:
        raise ValueError("choose one .npz file or the four IDX files first")
    for file in files:
        if file.size > MAX_UPLOAD_BYTES:
            raise ValueError(
                f"{file.name} is larger than the {MAX_UPLOAD_BYTES // 2**20} MB a dataset "
                "file may be"
            )
    with tempfile.TemporaryDirectory(prefix="mnist-lab-upload-") as folder:
        paths = []
        for file in files:
            # Only the base name: an uploaded name must not point anywhere else.
            path = Path(folder) / (Path(file.name).name or "upload")
            path.write_bytes(file.getvalue())
            paths.append(path)
        return dataset_store().add_files(paths, name, class_names or None)


def warn_if_different_datasets(runs: Sequence[Run]) -> bool:
    """Warn when ``runs`` trained on different datasets; return whether they did.

    Their accuracies then measure different tasks, and their test images differ.
    """
    names: dict[str, str] = {}
    for run in runs:
        try:
            record = recorded_dataset(run.config())
        except DamagedRunError:
            continue
        names.setdefault(record["sha256"], record["name"])
    if len(names) < 2:
        return False
    listed = ", ".join(plain_markdown(name) for name in names.values())
    st.warning(
        f"These runs learnt different datasets ({listed}): their scores measure different "
        "tasks and cannot be compared.",
        icon=":material/warning:",
    )
    return True


def datasets_table(infos: Sequence[DatasetInfo]) -> pd.DataFrame:
    """One row per stored dataset: name, classes, image counts, hash and when it was added."""
    return pd.DataFrame(
        {
            "Name": [info.name for info in infos],
            "Classes": [", ".join(info.class_names) for info in infos],
            "Training images": [info.n_train for info in infos],
            "Test images": [info.n_test for info in infos],
            "SHA-256": [info.sha256[:12] for info in infos],
            "Added": [info.created.replace("T", " ")[:16] for info in infos],
        }
    )
