"""Checks of whole runs: calibration and robustness, one run on Evaluate, several on Compare.

Calibration reads a run's saved test probabilities (cheap, cached here). Robustness needs
tens of thousands of predictions, so each run's curves are measured once on request, with a
progress bar, and kept in the run directory (`mnist_lab.explain.robustness`).
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from dashboard.ui.app.dataset_cache import run_dataset
from dashboard.ui.app.figures.shared import shared
from dashboard.ui.app.run_cache import model_of
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.evaluate.explain_view import has_saved_model
from dashboard.ui.evaluate.figures.explain import reliability_figure, robustness_figure
from dashboard.ui.runs.runs_view import load_evaluated, run_labels, run_row
from mnist_lab import evaluation as ev
from mnist_lab.explain.calibration import Calibration, calibration
from mnist_lab.explain.robustness import (
    CORRUPTIONS,
    SAMPLE_SIZE,
    measure_robustness,
    read_robustness,
)
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import Run

CALIBRATION_HELP = (
    "Each point is one band of confidence: how often the run was right when it was that "
    "sure. On the dotted diagonal a run's confidence means what it says; below it, the run "
    "is more sure than right (overconfident). Below: how many test digits fall in each band."
)
ROBUSTNESS_HELP = (
    f"The same {SAMPLE_SIZE:,} test digits in every panel, damaged more the further a point "
    "lies from the unchanged setting (0, or a size factor of 1). Shifts move them right, "
    "down, left and up in turn; rotations alternate direction. A flatter line is a sturdier "
    "model."
)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_calibration(run_dir: str, predictions_mtime: float, part: str) -> Calibration:
    """The calibration of a run's saved test predictions on the digits pages show.

    ``predictions_mtime`` and ``part`` (the visible part's key, empty for the whole split)
    are only the cache key.
    """
    evaluated = load_evaluated(Run(run_dir))
    if isinstance(evaluated, str):
        raise DamagedRunError(evaluated)
    return calibration(evaluated.y_true, evaluated.probabilities)


# One shared figure for every session, as Evaluate's gallery (plotly_chart only reads it).
@st.cache_resource(max_entries=32, show_spinner=False)
def cached_reliability_figure(versions: tuple[tuple[str, str, float, str], ...]):
    """`reliability_figure` of ``(label, run directory, predictions mtime, part)`` tuples."""
    return shared(
        reliability_figure({label: cached_calibration(*version) for label, *version in versions})
    )


def labelled(runs: list[Run]) -> dict[str, Run]:
    """The runs by their table label (name, architecture, state, accuracy; told apart)."""
    labels = run_labels([run_row(run) for run in runs])
    return {labels[run.id]: run for run in runs}


def choose_runs(label: str, runs: Mapping[str, Run], first: int, key: str) -> dict[str, Run]:
    """A multiselect of ``runs`` (label -> run), the first ``first`` chosen at the start.

    The choice is kept by run id: a label changes when its run is renamed, the choice not.
    """
    labels = {run.id: run_label for run_label, run in runs.items()}
    chosen = st.multiselect(
        label, list(labels), default=list(labels)[:first], format_func=labels.get, key=key
    )
    return {labels[run_id]: runs[labels[run_id]] for run_id in chosen}


def compare_checks(runs: Mapping[str, Run], key: str) -> None:
    """Calibration and robustness of the runs chosen here among ``runs`` (label -> run)."""
    picked = choose_runs("Runs to check", runs, 3, key=f"{key}_runs")
    if not picked:
        st.info("Choose runs to compare their calibration and robustness.")
        return
    st.markdown("**Calibration**")
    show_calibration(picked, key=f"{key}_calibration")
    st.markdown("**Robustness**")
    show_robustness(picked, key=f"{key}_robustness")


def show_calibration(runs: Mapping[str, Run], key: str) -> None:
    """The reliability diagram and expected calibration error of each evaluated run.

    Parameters
    ----------
    runs : mapping
        Label (plain text) -> run; runs without test predictions are left out.
    key : str
        Widget key prefix.
    """
    calibrations, versions = {}, []
    for label, run in runs.items():
        evaluated = load_evaluated(run)
        if isinstance(evaluated, str):
            continue
        part = "" if evaluated.part is None else evaluated.part.key
        try:
            mtime = run.file(ev.PREDICTIONS_FILE).stat().st_mtime
            calibrations[label] = cached_calibration(str(run.path), mtime, part)
        except (OSError, DamagedRunError):
            continue
        versions.append((label, str(run.path), mtime, part))
    if not calibrations:
        st.info("No test predictions to judge yet: calibration needs an evaluated run.")
        return
    st.plotly_chart(cached_reliability_figure(tuple(versions)), key=f"{key}_reliability")
    st.caption(CALIBRATION_HELP)
    if len(calibrations) == 1:
        st.write(next(iter(calibrations.values())).reading)
        return
    st.dataframe(
        [
            {
                "Run": label,
                "Expected calibration error": result.ece,
                "Mean confidence": result.mean_confidence,
                "Test accuracy": result.overall_accuracy,
            }
            for label, result in calibrations.items()
        ],
        column_config={
            column: st.column_config.NumberColumn(format="percent")
            for column in ("Expected calibration error", "Mean confidence", "Test accuracy")
        },
        hide_index=True,
        key=f"{key}_ece",
    )


def show_robustness(runs: Mapping[str, Run], key: str) -> None:
    """Accuracy under each corruption, per run: stored curves at once, others on request.

    Parameters
    ----------
    runs : mapping
        Label (plain text) -> run; runs without a saved model are named and skipped.
    key : str
        Widget key prefix.
    """
    with_model = {label: run for label, run in runs.items() if has_saved_model(run)}
    if not with_model:
        st.info("Robustness needs a run with a saved model: none of these has one.")
        return
    datasets = {}
    for label, run in with_model.items():
        try:
            # Each run is measured on the test images of the data it learnt.
            datasets[label] = run_dataset(run)
        except DamagedRunError as error:
            st.warning(f"{plain_markdown(label)} cannot be measured: {plain_markdown(error)}.")
    with_model = {label: run for label, run in with_model.items() if label in datasets}
    curves = {label: read_robustness(run, datasets[label]) for label, run in with_model.items()}
    missing = [label for label, table in curves.items() if table is None]
    if missing:
        noun = "this run" if len(missing) == 1 else f"these {len(missing)} runs"
        names = plain_markdown("; ".join(missing))
        st.write(
            f"Not measured yet for {noun}: {names}. It takes from a few seconds (logistic "
            "regression, small networks) to a minute (CNNs) per run, once."
        )
        if st.button("Measure robustness", icon=":material/speed:", key=f"{key}_measure"):
            bar = st.progress(0.0, "Measuring...")
            for number, label in enumerate(missing):
                run = with_model[label]

                def report(done: int, total: int, number=number, label=label) -> None:
                    share = (number + done / total) / len(missing)
                    bar.progress(share, f"{label}: {done} of {total} settings")

                try:
                    measure_robustness(
                        run, datasets[label], model=model_of(run), on_progress=report
                    )
                except DamagedRunError as error:
                    st.warning(
                        f"{plain_markdown(label)} cannot be measured: {plain_markdown(error)}."
                    )
                    return
            # Stored now: the rerun reads them and leaves the button out.
            st.rerun()
    measured = {label: table for label, table in curves.items() if table is not None}
    if measured:
        st.plotly_chart(robustness_figure(measured, CORRUPTIONS), key=f"{key}_curves")
        st.caption(ROBUSTNESS_HELP)
