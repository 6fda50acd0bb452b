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


def add_uploaded_dataset(
    files: Sequence[UploadedFile], name: str, class_names: str, owner: str | None = None
) -> DatasetInfo:
    """Check and store a dataset from uploaded files (written to a temporary folder first).

    Parameters
    ----------
    files : sequence of UploadedFile
        One ``.npz`` or the four IDX files, as ``st.file_uploader`` returns them.
    name : str
        The dataset's name.
    class_names : str
        Comma-separated class names, or empty for the labels.
    owner : str, optional
        Who adds it (they and the teacher may change it later).

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
        return dataset_store().add_files(paths, name, class_names or None, owner)


CHANGE_MESSAGE = "data_change_message"


def _change(action, *args) -> None:
    """Run a change of the chosen dataset from a button, keeping its outcome for the rerun."""
    try:
        action(*args)
    except (ValueError, KeyError) as error:
        st.session_state[CHANGE_MESSAGE] = ("error", f"Not changed: {error}.")
    else:
        st.session_state[CHANGE_MESSAGE] = ("success", "Changed.")


def show_change_outcome() -> None:
    """Say how the last change of a dataset went (once, on the rerun after its button)."""
    if outcome := st.session_state.pop(CHANGE_MESSAGE, None):
        kind, text = outcome
        getattr(st, kind)(plain_markdown(text))


def render_dataset_changes(info: DatasetInfo, may_change: bool) -> None:
    """Rename, name the classes of, or delete the stored dataset ``info`` describes.

    Parameters
    ----------
    info : DatasetInfo
    may_change : bool
        Whether this session added it or is the teacher (`mnist_lab.ownership`); others
        see who may.
    """
    store = dataset_store()
    if not may_change:
        who = f"{plain_markdown(info.owner)}, who added it," if info.owner else "whoever added it"
        st.caption(f"Only {who} or the teacher can change this dataset.")
        return
    key = f"data_change_{info.sha256[:12]}"
    left, right = st.columns(2)
    name = left.text_input("New name", value=info.name, key=f"{key}_name")
    left.button(
        "Rename",
        key=f"{key}_rename",
        on_click=_change,
        args=(store.rename, info.sha256, name),
        disabled=name == info.name,
    )
    classes = right.text_input(
        "Class names", value=", ".join(info.class_names), key=f"{key}_classes"
    )
    right.button(
        "Save class names",
        key=f"{key}_save_classes",
        on_click=_change,
        args=(store.set_class_names, info.sha256, classes),
    )
    sure = st.checkbox(
        "Delete it for good (refused while runs trained on it need it)", key=f"{key}_sure"
    )
    st.button(
        "Delete",
        key=f"{key}_delete",
        icon=":material/delete:",
        disabled=not sure,
        on_click=_change,
        args=(store.delete, info.sha256, RunStore(store.root.parent)),
    )


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
            "Added by": [info.owner or "" for info in infos],
            "SHA-256": [info.sha256[:12] for info in infos],
            "Added": [info.created.replace("T", " ")[:16] for info in infos],
        }
    )
