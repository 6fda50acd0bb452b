"""The live view of a lesson's runs: their status side by side and their learning curves."""

from __future__ import annotations

import streamlit as st

from dashboard.ui.evaluate.explain_view import has_saved_model, model_saved_at
from dashboard.ui.lessons.figures import lesson_curves_figure
from dashboard.ui.train.training_view import REFRESH_SECONDS, progress_text, render_status
from mnist_lab.lessons.catalogue import Lesson, get_lesson
from mnist_lab.lessons.results import RunResult
from mnist_lab.lessons.runner import lesson_results
from mnist_lab.runs import Run
from mnist_lab.status import DAMAGED, LIVE_STATES


def lesson_runs_panel(lesson: Lesson, runs: dict[str, Run]) -> None:
    """Each run's state and progress, and the overlaid learning curves, live while training."""
    live = any(run.status()["state"] in LIVE_STATES for run in runs.values())

    @st.fragment(run_every=REFRESH_SECONDS if live else None)
    def panel() -> None:
        statuses = {step: run.status() for step, run in runs.items()}
        for step, run in runs.items():
            status = statuses[step]
            st.markdown(f"**{lesson.name_of(step)}**")
            render_status(run, status)
            if status["state"] != DAMAGED:
                progress = min(max(float(status.get("progress", 0.0)), 0.0), 1.0)
                st.progress(progress, progress_text(status))
        curves = {lesson.name_of(step): run.metrics() for step, run in runs.items()}
        if any(curves.values()):
            st.plotly_chart(lesson_curves_figure(curves), key=f"lessons_curves_{lesson.id}")
        if live and not any(s["state"] in LIVE_STATES for s in statuses.values()):
            # The last run just ended: rerun the page once to show the explanation.
            st.rerun()

    panel()


@st.cache_data(max_entries=8, show_spinner="Asking the lesson's models...")
def cached_measurement(lesson_id: str, saved_runs: tuple[tuple[str, str, float], ...]) -> dict:
    """What a lesson measures on its runs' models, once per ``(step, run dir, model save time)``."""
    return get_lesson(lesson_id).measure({step: Run(path) for step, path, _ in saved_runs})


def finished_lesson_results(lesson: Lesson, runs: dict[str, Run]) -> dict[str, RunResult]:
    """`mnist_lab.lessons.runner.lesson_results`, with the lesson's measurement cached.

    A run without a saved model (failed, diverged) leaves the measurement empty, and the
    lesson's explanation says it could not be measured.
    """
    measured = {}
    if lesson.measure is not None and all(has_saved_model(run) for run in runs.values()):
        saved = tuple((step, str(run.path), model_saved_at(run)) for step, run in runs.items())
        measured = cached_measurement(lesson.id, saved)
    return lesson_results(lesson, runs, measured)
