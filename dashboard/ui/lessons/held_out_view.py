"""The Lessons page's lesson on the held-out score: computed on the spot, no run to train."""

from __future__ import annotations

import streamlit as st

from dashboard.ui.app.dataset_cache import get_dataset
from dashboard.ui.app.run_cache import cached_predictions
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.lessons.figures import growing_gap_figure
from mnist_lab.assignments.secrecy import Part, secret_parts
from mnist_lab.data import EMBEDDED_SHA256
from mnist_lab.datasets import stored_sha256
from mnist_lab.evaluation import PREDICTIONS_FILE
from mnist_lab.files import DamagedRunError
from mnist_lab.lessons.held_out import (
    ACCURACY,
    EXPECT,
    MIN_RUNS,
    QUESTION,
    Picked,
    explain_held_out,
    growing_gap,
    lucky_models,
    runs_on_parts,
)
from mnist_lab.runs import RunStore

# The newest finished runs read: each holds 10,000 x 10 probabilities.
MAX_RUNS = 50


@st.cache_data(show_spinner=False)
def _lucky_models(n_test: int) -> Picked:
    return lucky_models(n_test)


def lab_runs(store: RunStore, n_test: int, part: Part | None = None) -> Picked | None:
    """The newest finished runs on MNIST scored on the lesson's two parts; None if too few.

    While an assignment hides part of MNIST's test split (``part``, the digits students can
    see), only those digits are cut in two: the two parts of the whole split would add up to
    each run's whole score, and with its visible score give the hidden one away.
    """
    visible = slice(None) if part is None else part.visible
    probabilities = {}
    for run in store.list():
        if len(probabilities) == MAX_RUNS:
            break
        path = run.path / PREDICTIONS_FILE
        try:
            if run.status()["state"] != "finished" or not path.is_file():
                continue
            if stored_sha256(run) is not None:
                continue
            _, scores = cached_predictions(str(run.path), path.stat().st_mtime)
        except (DamagedRunError, OSError, ValueError, KeyError):
            continue
        if len(scores) == n_test:
            # Two runs of one name are told apart by their id.
            name = run.name if run.name not in probabilities else f"{run.name} ({run.id})"
            probabilities[name] = scores[visible]
    if len(probabilities) < MIN_RUNS:
        return None
    return runs_on_parts(get_dataset().y_test[visible], probabilities)


def held_out_lesson(store: RunStore) -> None:
    """The lesson: the question, the computation's verdict, the chart, the lab's own runs."""
    st.markdown(f"**The experiment:** {QUESTION}")
    st.markdown(f"**What to expect:** {EXPECT}")
    n_test = get_dataset().n_test
    models = _lucky_models(n_test)
    part = secret_parts(store.root).get(EMBEDDED_SHA256)
    runs = lab_runs(store, n_test, part)
    explanation = explain_held_out(models, runs)
    (st.success if explanation.as_expected else st.warning)(explanation.verdict)
    for paragraph in explanation.details:
        st.write(plain_markdown(paragraph))
    st.plotly_chart(growing_gap_figure(growing_gap(models), ACCURACY), key="lessons_held_out_chart")
    if runs is None:
        st.caption(
            f"With {MIN_RUNS} or more finished MNIST runs in the lab, this lesson also scores "
            "them on the two parts."
        )
    elif part is not None:
        st.caption(
            plain_markdown(
                f"The lab's runs: {part.describe()} This lesson cuts those digits in two."
            )
        )
