"""The live view of one run: state, progress bar, Stop, learning curves, result links."""

from __future__ import annotations

from collections.abc import Hashable

import pandas as pd
import streamlit as st

from dashboard.ui.app.identity import classroom_mode, current_owner, may_manage
from dashboard.ui.app.pages import page_link
from dashboard.ui.app.queue_cache import cached_queue
from dashboard.ui.app.run_cache import curves_of, hints_of
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.runs.tensorboard_view import render_tensorboard_command
from dashboard.ui.train.figures.curves import DEFAULT_SMOOTHING, window_label
from dashboard.ui.train.shared_figures import cached_curve_figure
from mnist_lab import records
from mnist_lab.assignments.secrecy import ScoreWithheld, shown_evaluation
from mnist_lab.execution.fair_queue import QueuePlace
from mnist_lab.ownership import refusal
from mnist_lab.reporter import STAGES, stage_label
from mnist_lab.run_summary import TRAINING_TIME_HELP, training_time
from mnist_lab.runs import Run
from mnist_lab.status import DAMAGED, LIVE_STATES

REFRESH_SECONDS = 1.0
# Thirty sessions redrawing a classmate's run every second would ask the shared server for
# more CPU than it has (each redraw of the curves costs it about 0.05 s).
GLANCE_REFRESH_SECONDS = 5.0
WINDOW_TAB = "Per window"
STATE_BADGES = {
    "queued": ("info", "Queued: waiting for a free training slot."),
    "running": ("info", "Training."),
    "stopping": ("info", "Stopping at the next batch."),
    "finished": ("success", "Finished."),
    "stopped": ("info", "Stopped: the model and history so far are kept."),
    "diverged": ("error", "Diverged."),
    "failed": ("error", "Failed."),
    "interrupted": ("warning", "Interrupted."),
    DAMAGED: ("error", "Damaged."),
}


def format_seconds(seconds: float | None) -> str:
    """A duration as ``1h 02m``, ``3m 05s`` or ``12s``; an em dash when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def progress_text(status: dict) -> str:
    """One line under the progress bar: epoch, percentage, ETA and throughput.

    Before training's first progress, the stage the run is in (`reporter.STAGES`) instead.

    Examples
    --------
    >>> progress_text({"state": "running", "stage": "model", "progress": 0.0})
    'Getting ready, 3 of 4: building the model · the ETA follows the first step'
    """
    stage = status.get("stage")
    if status.get("state") == "running" and stage in STAGES:
        label = stage_label(stage)
        return f"{label[0].upper()}{label[1:]} · the ETA follows the first step"
    parts = [status["position"]] if status.get("position") else []
    parts.append(f"{status.get('progress', 0.0):.0%}")
    if status.get("state") in LIVE_STATES:
        parts.append(f"ETA {format_seconds(status.get('eta_s'))}")
    if status.get("samples_per_s"):
        parts.append(f"{status['samples_per_s']:,.0f} samples/s")
    return " · ".join(parts)


def render_status(run: Run, status: dict) -> None:
    """The state badge with the run's own message, then the hints its records support."""
    kind, fallback = STATE_BADGES.get(status["state"], ("info", status["state"]))
    found = [] if status["state"] == DAMAGED else hints_of(run)
    if kind == "success" and any(hint.kind == "chance-level" for hint in found):
        # Finishing is no success when the network learned nothing: the badge says so too.
        kind = "warning"
    getattr(st, kind)(plain_markdown(status.get("message") or fallback))
    if status["state"] == "queued":
        render_queue_place(run)
    for hint in found:
        (st.warning if hint.warning else st.info)(hint.text, icon=":material/lightbulb:")


def ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``...

    Examples
    --------
    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 103)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '103rd']
    """
    teens = 10 <= number % 100 <= 20
    suffix = "th" if teens else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def queue_place_text(place: QueuePlace, length: int) -> str:
    """Where a waiting run stands, in words: its place and when it should start."""
    where = f"{ordinal(place.position)} of {length} in the queue"
    if place.starts_in_s is None:
        return f"{where}; its start time is unknown (a run ahead has no measured speed yet)."
    if place.starts_in_s < 1:
        return f"{where}: next to start."
    return f"{where}: expected to start in about {format_seconds(place.starts_in_s)}."


def render_queue_place(run: Run) -> None:
    """A queued run's place in the local queue and its expected start, if it waits there."""
    places = cached_queue(str(run.path.parent))
    for place in places:
        if place.run == run:
            st.caption(queue_place_text(place, len(places)))


def render_curves(run: Run) -> None:
    """Loss and accuracy of ``run``, per epoch and per logging window, side by side."""
    curves = curves_of(run)
    summary, epochs, batches = curves.summary, curves.epochs, curves.batches
    if epochs.empty and batches.empty:
        st.caption("The charts appear with the first logged batch.")
        return
    controls = st.columns(2, vertical_alignment="bottom")
    log_loss = controls[0].toggle("Log-scale loss", key="train_log_loss")
    if summary.x != "epoch":
        # An optimizer without epochs (the baseline's L-BFGS) logs no batches either.
        render_curve_pair(run, curves.summary_key, epochs, summary.x, log_loss=log_loss)
        return
    smoothing = controls[1].slider(
        "Smoothing of the per-window curves",
        0.0,
        0.99,
        DEFAULT_SMOOTHING,
        step=0.01,
        key="train_smoothing",
        help="As in TensorBoard: an exponential moving average; the raw curve stays faint.",
    )
    # Stateful tabs run only the open tab: half the figures to send on every redraw. Their
    # labels and default (part of their identity) stay fixed for the run, so the tab a student
    # opened stays open as records arrive, the first epoch ends and hints appear.
    per_epoch, per_window = st.tabs(
        ["Per epoch", WINDOW_TAB],
        default=first_tab(run, epochs.empty),
        key="train_curve_tabs",
        on_change="rerun",
    )
    # The epochs' figures are kept by what they show: the same until the next epoch ends.
    shown = (
        (per_epoch, epochs, "epoch", curves.summary_key),
        (per_window, batches, "step", curves.version),
    )
    for tab, frame, x, version in shown:
        if not tab.open:
            continue
        with tab:
            if frame.empty:
                st.caption("Nothing logged at this granularity yet.")
                continue
            render_curve_pair(run, version, frame, x, log_loss=log_loss, smoothing=smoothing)
            if x == "epoch":
                explain_partial_epochs(summary.records)
            else:
                st.caption(f"Each point: {window_label(frame)}.")


def first_tab(run: Run, no_epoch_yet: bool) -> str:
    """The curve tab first open for ``run`` in this session, chosen once and then kept.

    Until an epoch ends its windows are all there is to see, so they come first then.
    """
    defaults = st.session_state.setdefault("train_curve_first_tab", {})
    return defaults.setdefault(run.id, WINDOW_TAB if no_epoch_yet else "Per epoch")


def render_curve_pair(
    run: Run,
    version: Hashable,
    frame: pd.DataFrame,
    x: str,
    log_loss: bool = False,
    smoothing: float = 0.0,
) -> None:
    """Loss and accuracy of ``frame`` against ``x``; ``version`` names what ``frame`` holds."""
    left, right = st.columns(2)
    for column, metric in ((left, "loss"), (right, "accuracy")):
        if metric in frame:
            log_y = log_loss and metric == "loss"
            figure = cached_curve_figure(str(run.path), version, x, metric, smoothing, log_y, frame)
            column.plotly_chart(figure, key=f"train_curve_{x}_{metric}")


def explain_partial_epochs(epochs: list[dict]) -> None:
    """Say which open marker is an epoch cut short, and how much of it was trained."""
    for record in (r for r in epochs if records.is_partial(r)):
        st.caption(
            f"The open marker is epoch {record['epoch']}, cut short after "
            f"{record.get('fraction', 0):.0%} of its steps: its numbers cover only that part."
        )


def render_result(run: Run) -> None:
    """Test accuracy and loss of a run that has an evaluation, with links onwards.

    While an assignment hides part of the test split, the scores are those of the part
    students can see (`mnist_lab.assignments.secrecy`), and a caption says so.
    """
    withheld = None
    try:
        evaluation = run.evaluation()
        shown = shown_evaluation(run)
    except ScoreWithheld as error:
        shown, withheld = None, error
    except ValueError as error:
        st.error(f"The evaluation file is damaged: {plain_markdown(error)}")
        return
    if evaluation is None:
        return
    accuracy, loss, duration = st.columns(3)
    if shown is not None:
        accuracy.metric("Test accuracy", f"{shown['test_accuracy']:.2%}")
        loss.metric("Test loss", f"{shown['test_loss']:.4f}")
    status = run.status()
    trained = training_time(run, status, evaluation)
    if trained is not None:
        expected = status.get("expected_training_s")
        duration.metric(
            "Training time",
            format_seconds(trained),
            help=TRAINING_TIME_HELP
            + (f" Expected before launch: {format_seconds(expected)}." if expected else ""),
        )
    if withheld is not None:
        st.info(plain_markdown(f"No test scores for this run: {withheld}."))
    elif shown.get("part") is not None:
        st.caption(plain_markdown(shown["part"].describe()))
    links = st.columns(3)
    for column, page, label in (
        (links[0], "evaluate", "Evaluate this run"),
        (links[1], "inside", "Look inside"),
        (links[2], "compare", None),
    ):
        with column:
            page_link(page, label, icon=None, query_params={"run": run.id})


def refresh_seconds(state: str, own: bool) -> float | None:
    """How often a live panel redraws a run in ``state``; None once the run has ended.

    Every second for a run of one's own (``own``: with no class, every run is), every
    `GLANCE_REFRESH_SECONDS` for a classmate's.

    Examples
    --------
    >>> refresh_seconds("queued", own=True), refresh_seconds("running", own=False)
    (1.0, 5.0)
    >>> refresh_seconds("finished", own=True) is None
    True
    """
    if state not in LIVE_STATES:
        return None
    return REFRESH_SECONDS if own else GLANCE_REFRESH_SECONDS


def live_run_panel(run: Run) -> None:
    """Show ``run`` and keep redrawing it while it is live (`refresh_seconds`), without blocking."""
    state = run.status()["state"]
    live = state in LIVE_STATES
    own = not classroom_mode() or run.owner == current_owner()

    @st.fragment(run_every=refresh_seconds(state, own))
    def panel() -> None:
        status = run.status()
        st.subheader(plain_markdown(run.name))
        render_status(run, status)
        if status["state"] == DAMAGED:
            return
        if status["state"] != "queued":
            # A waiting run has no progress yet: its place in the queue says more.
            progress = min(max(float(status.get("progress", 0.0)), 0.0), 1.0)
            st.progress(progress, progress_text(status))
        if status["state"] in LIVE_STATES and not may_manage(run):
            st.caption(plain_markdown(refusal(run, "stop")))
        elif status["state"] in LIVE_STATES:
            if st.button("Stop", key="train_stop", icon=":material/stop_circle:"):
                run.request_stop()
                st.toast("Stop requested: the run ends at its next batch.")
        elif live:
            # It just ended: rerun the whole page once so the refresh timer goes away.
            st.rerun()
        render_curves(run)
        render_result(run)
        render_tensorboard_command(run)

    panel()
