"""The live view of a lesson's runs: their status side by side and their learning curves."""

from __future__ import annotations

import streamlit as st

from dashboard.ui.figures.lessons import lesson_curves_figure
from dashboard.ui.training_view import REFRESH_SECONDS, progress_text, render_status
from mnist_lab.lessons import Lesson
from mnist_lab.runs import DAMAGED, LIVE_STATES, Run


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
