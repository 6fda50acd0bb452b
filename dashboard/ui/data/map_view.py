"""A slow map of the digits (t-SNE, UMAP): read from disk, or a progress bar while it is made."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnist_lab.map_cache import (
    MapRequest,
    load_map,
    map_failure,
    map_job_running,
    map_progress,
    start_map_job,
)

REFRESH_SECONDS = 1.0


def slow_map(request: MapRequest, method_label: str) -> pd.DataFrame | None:
    """The map of ``request`` if it is on disk; else start making it and show its progress.

    Returns
    -------
    pandas.DataFrame or None
        The table of `mnist_lab.stats.project_2d`; None while it is being computed (a
        progress bar stands in its place and reruns the page when the map is ready).
    """
    path = request.path()
    points = load_map(path)
    if points is not None:
        return points
    if not map_job_running(path) and st.session_state.get("explore_map_started") != path.name:
        # Once per session and map: a failed job is reported below, not restarted in a loop.
        st.session_state["explore_map_started"] = path.name
        start_map_job(request)

    @st.fragment(run_every=REFRESH_SECONDS)
    def progress() -> None:
        if path.exists():
            st.rerun()
        if not map_job_running(path):
            st.error(f"The {method_label} map could not be computed: {map_failure(path)}")
            if st.button("Try again", key="explore_map_retry"):
                st.session_state.pop("explore_map_started", None)
                st.rerun()
            return
        share, stage = map_progress(path)
        st.progress(
            share,
            text=f"Computing the {method_label} map of {request.n_samples:,} {request.split} "
            f"digits, once (then it is kept on disk): {stage}.",
        )

    progress()
    return None
