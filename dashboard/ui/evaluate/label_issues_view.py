"""Suspicious labels: a gallery of the digits the models confidently disagree with, and votes.

Test digits are judged by the evaluated runs' own test predictions; training digits by
cross-validated models with the baseline's settings, found once on request (with a progress
bar) and kept in the baseline's run directory (`mnist_lab.explain.label_issues`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from dashboard.ui.app.dataset_cache import get_dataset, run_dataset
from dashboard.ui.app.digit_galleries import digit_gallery
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.data.datasets_view import warn_if_different_datasets
from dashboard.ui.evaluate.model_checks_view import choose_runs
from dashboard.ui.runs.baseline_view import baseline_offer
from dashboard.ui.runs.runs_view import load_evaluated
from mnist_lab.data import MnistDataset
from mnist_lab.engines import find_baseline
from mnist_lab.explain.label_issues import (
    LabelIssues,
    label_issues_of_test_set,
    label_issues_of_training_set,
    read_training_set_label_issues,
)
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import Run, RunStore

SPLITS = {"test": "Test digits", "train": "Training digits"}
GALLERY_SIZES = (20, 40, 80)
SURE_COLUMN = "Confidently another digit"
HOW_TO_READ = (
    "Each tile: its position in the set, then given label → what the models believe. Ranked "
    "by how little probability the models leave for the given label. Some are real labelling "
    "mistakes, some are digits even a person would hesitate over, some are the models' errors."
)


def show_label_issues(store: RunStore, runs: dict[str, Run], key: str) -> None:
    """The suspicious test or training digits, most suspicious first, with the votes.

    Parameters
    ----------
    store : RunStore
        Where the baseline (the training digits' judge settings) is looked up.
    runs : dict
        Label (plain text) -> evaluated run, offered as judges of the test digits.
    key : str
        Widget key prefix.
    """
    split = (
        st.segmented_control(
            "Which digits", list(SPLITS), format_func=SPLITS.get, default="test", key=f"{key}_split"
        )
        or "test"
    )
    found = _test_issues(runs, key) if split == "test" else _training_issues(store, key)
    if found is None:
        return
    issues, dataset = found
    size = st.segmented_control("How many", GALLERY_SIZES, default=20, key=f"{key}_size") or 20
    shown = issues.top(size)
    st.write(
        f"Of {issues.n_checked:,} digits, the models believe another digit than the label "
        f"for {issues.n_disputed:,}; for {issues.n_confident:,} of them confidently (as sure "
        "as they usually are of that digit when it is labelled so)."
    )
    if not len(shown.indices):
        return
    titles = [
        f"#{index}: {given}→{believed}"
        for index, given, believed in zip(shown.indices, shown.given, shown.suggested, strict=True)
    ]
    st.plotly_chart(
        digit_gallery(dataset, split, shown.indices, titles, n_cols=10), key=f"{key}_gallery"
    )
    st.caption(HOW_TO_READ)
    st.dataframe(
        _votes_table(shown),
        column_config={
            "Probability of the label": st.column_config.NumberColumn(format="percent"),
            SURE_COLUMN: st.column_config.TextColumn(
                help="Yes when the models are as sure of the digit they believe as they usually "
                "are of that digit when it is labelled so (the confident-learning threshold)."
            ),
        },
        hide_index=True,
        key=f"{key}_votes",
    )


def _test_issues(runs: dict[str, Run], key: str) -> tuple[LabelIssues, MnistDataset] | None:
    """Judged by the chosen runs' saved test probabilities (all tested on the same digits).

    Only the chosen runs' predictions are read: ``runs`` may hold every run of a class.
    """
    if not runs:
        st.info("No evaluated run yet: the test digits are judged by the runs' predictions.")
        return None
    chosen = choose_runs("Judges", runs, 5, f"{key}_judges")
    evaluated = {label: load_evaluated(run) for label, run in chosen.items()}
    judges = [label for label, result in evaluated.items() if not isinstance(result, str)]
    if not judges:
        st.info("Choose at least one evaluated run to judge the test digits.")
        return None
    if warn_if_different_datasets([runs[label] for label in judges]):
        return None
    y_true = evaluated[judges[0]].y_true
    if any(not np.array_equal(evaluated[label].y_true, y_true) for label in judges):
        st.warning("These runs were tested on different test sets: choose runs of one set.")
        return None
    try:
        dataset = run_dataset(runs[judges[0]])
    except DamagedRunError as error:
        st.warning(f"Its test images cannot be shown: {plain_markdown(error)}.")
        return None
    issues = label_issues_of_test_set(
        y_true, {label: evaluated[label].probabilities for label in judges}
    )
    # Judged on the digits shown (`load_evaluated`): their places in the whole test split.
    return dataclasses.replace(
        issues, indices=evaluated[judges[0]].indices[issues.indices]
    ), dataset


def _training_issues(store: RunStore, key: str) -> tuple[LabelIssues, MnistDataset] | None:
    """Judged by cross-validation with the baseline's settings: stored, or found on request."""
    baseline = find_baseline(store)
    if baseline is None:
        st.info(
            "The training digits are judged by cross-validated models with the baseline's "
            "settings: train the baseline first."
        )
        baseline_offer(store, f"{key}_baseline")
        return None
    dataset = get_dataset()
    issues = read_training_set_label_issues(baseline, dataset)
    if issues is not None:
        return issues, dataset
    st.write(
        f"Judges: logistic regression with the settings of the baseline "
        f"{plain_markdown(baseline.name)}, and nearest neighbours, each trained on three "
        "quarters of the training digits and judging the last quarter, four times over. "
        "About a minute or two on all 60,000 digits, once."
    )
    if not st.button("Judge the training digits", icon=":material/search:", key=f"{key}_find"):
        return None
    bar = st.progress(0.0, "Cross-validating...")
    label_issues_of_training_set(
        baseline,
        dataset,
        on_progress=lambda done, total: bar.progress(done / total, f"fold {done} of {total}"),
    )
    # Stored now: the rerun reads them and leaves the button out.
    st.rerun()


def _votes_table(issues: LabelIssues) -> list[dict]:
    """One row per suspicious digit: its label, the belief, and each judge's vote."""
    return [
        {
            "Digit #": int(index),
            "Given label": int(given),
            "Models believe": int(believed),
            "Probability of the label": float(self_confidence),
            SURE_COLUMN: "yes" if confident else "no",
        }
        | {judge: int(votes[row]) for judge, votes in issues.votes.items()}
        for row, (index, given, believed, self_confidence, confident) in enumerate(
            zip(
                issues.indices,
                issues.given,
                issues.suggested,
                issues.self_confidence,
                issues.confident,
                strict=True,
            )
        )
    ]
