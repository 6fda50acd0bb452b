"""Download buttons for a run as code: a standalone Python script and a Jupyter notebook."""

from __future__ import annotations

import streamlit as st

from mnist_lab.assignments.secrecy import secret_parts
from mnist_lab.evaluation import EVALUATION_FILE
from mnist_lab.export import EXPORT_FORMATS, export_run
from mnist_lab.files import file_version
from mnist_lab.preprocess import NORMALIZER_FILE
from mnist_lab.runs import CONFIG_FILE, Run

# format -> (button label, MIME type)
FORMAT_BUTTONS = {
    "script": ("Python script", "text/x-python"),
    "notebook": ("Jupyter notebook", "application/x-ipynb+json"),
}


# What an export reads: the settings, the fitted normalization and the result it quotes.
EXPORT_INPUTS = (CONFIG_FILE, NORMALIZER_FILE, EVALUATION_FILE)


@st.cache_data(max_entries=64, show_spinner=False)
def _exported(run_dir: str, versions: tuple, export_format: str) -> tuple[str, str | None]:
    """One format's text of a run, or the reason it cannot be exported; ``versions`` keys it."""
    try:
        return export_run(Run(run_dir), export_format), None
    except ValueError as error:
        return "", str(error)


def _versions(run: Run) -> tuple:
    """What an export of ``run`` is kept by: its inputs' versions and the hidden test digits.

    The `file_version` of each of `EXPORT_INPUTS` (None for a missing one), and the parts
    of the test split assignments hide (`mnist_lab.assignments.secrecy.secret_parts`): the
    result the export quotes counts the other digits only.
    """
    parts = secret_parts(run.path.parent)
    hidden = tuple(sorted((sha256, part.key) for sha256, part in parts.items()))
    return (*(file_version(run.file(name)) for name in EXPORT_INPUTS), hidden)


def render_code_downloads(run: Run, key_prefix: str) -> None:
    """Offer ``run`` as a script and as a notebook, or say in plain words why it cannot be.

    Parameters
    ----------
    run : Run
        A run that trained (its normalization is fitted).
    key_prefix : str
        The page's widget-key prefix, e.g. ``"evaluate"``.
    """
    versions = _versions(run)
    # The script is quick to write and says whether the run can be exported at all.
    _, refusal = _exported(str(run.path), versions, "script")
    if refusal is not None:
        st.caption(f"No code to download: {refusal}.")
        return
    st.caption(
        "The same run as code to take home: plain Keras, NumPy or scikit-learn that retrains "
        "it and prints its test accuracy. Offline, set `MNIST_NPZ` to a local `mnist.npz`."
    )
    # Three columns, so the buttons line up under the page's other downloads. Each file is
    # written when its button is clicked (a notebook costs a class opening the page a
    # twentieth of a second of the server's time).
    for column, name in zip(st.columns(3), EXPORT_FORMATS, strict=False):
        label, mime = FORMAT_BUTTONS[name]
        column.download_button(
            f"{label} ({EXPORT_FORMATS[name]})",
            lambda name=name: _exported(str(run.path), versions, name)[0],
            f"{run.id}{EXPORT_FORMATS[name]}",
            mime=mime,
            on_click="ignore",
            key=f"{key_prefix}_export_{name}",
            icon=":material/code:",
        )
