"""The Sweeps page's parts: the form that defines a sweep, and one sweep read back live.

A sweep's trials are ordinary runs, so their names are user text: they are shown in
dataframes and escaped plotly labels only.
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from dashboard.ui.app.identity import NAME_FIRST, current_owner, is_teacher, name_missing
from dashboard.ui.app.pages import page_link
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.data.datasets_view import dataset_picker
from dashboard.ui.sweeps.figures import (
    accuracy_by_parameter_figure,
    importance_figure,
    parallel_coordinates_figure,
    window_curves_figure,
)
from dashboard.ui.train.figures.curves import learning_curves_figure
from mnist_lab import ownership, records
from mnist_lab.engines import Engine
from mnist_lab.execution.ray_cluster import check_reachable
from mnist_lab.files import DamagedRunError
from mnist_lab.launch import CLUSTER_ENV, RepeatedLaunchError
from mnist_lab.runs import RunStore
from mnist_lab.settings import Setting
from mnist_lab.status import LIVE_STATES
from mnist_lab.sweeps.driver import start_sweep_driver
from mnist_lab.sweeps.results import best_first, parameter_importance, trial_rows
from mnist_lab.sweeps.space import MAX_TRIALS, METHODS, parse_parameter, sweepable
from mnist_lab.sweeps.store import (
    LIVE_SWEEP_STATES,
    MAX_PARALLEL,
    MAX_REPEATS,
    Sweep,
    SweepDefinition,
    SweepStore,
)

REFRESH_SECONDS = 2.0
# The question an identical launch seconds after another left, and the definition it asks about.
REPEAT_KEY = "sweeps_repeat"
# A sweep whose driver stopped before its end: starting a driver again resumes it.
RESUMABLE = frozenset({"interrupted", "failed"})
# Settings a sweep usually keeps fixed, offered as widgets when the engine declares them.
FIXED_SETTINGS = ("preset", "subset", "epochs")
# What a newcomer sweeps first: the question the lab is about.
FIRST_PARAMETERS = ("learning_rate", "batch_size")
EXAMPLE_VALUES = {
    "learning_rate": "0.0001, 0.001, 0.01",
    "batch_size": "32, 128",
    "hidden_units": "16, 64, 256",
    "epochs": "1, 3",
}
METHOD_LABELS = {
    "grid": "Grid: every combination",
    "random": "Random sample",
    "bayes": "Bayesian (Optuna TPE)",
}
TRIAL_COLUMNS = {
    "trial": "Trial",
    "state": "Status",
    "test_accuracy": "Test accuracy",
    "node": "Trained on",
    "name": "Run",
}


def example_values(declaration: Setting) -> str:
    """What a parameter's text field starts with: a few values a student may try."""
    if declaration.name in EXAMPLE_VALUES:
        return EXAMPLE_VALUES[declaration.name]
    if declaration.choices:
        return ", ".join(map(str, declaration.choices[:3]))
    if declaration.kind is bool:
        return "true, false"
    return str(declaration.default)


def fixed_widget(declaration: Setting, key: str):
    """A widget for one fixed setting; returns its value (None: the engine's default)."""
    if declaration.choices:
        choices = list(declaration.choices)
        index = choices.index(declaration.default)
        return st.selectbox(declaration.label or declaration.name, choices, index, key=key)
    if declaration.optional:
        value = st.number_input(
            declaration.label, min_value=0, max_value=int(declaration.high), value=2000, key=key
        )
        return int(value) or None
    return int(
        st.number_input(
            declaration.label or declaration.name,
            min_value=int(declaration.low),
            max_value=int(declaration.high),
            value=1,
            key=key,
        )
    )


def sweep_form(engine: Engine, store: RunStore) -> Sweep | None:
    """Define and launch a sweep of ``engine``; return it once launched, else None.

    Bad input (a value out of range, a range in a grid) is shown as a message, never raised.
    """
    declared = engine.settings_class.declared()
    options = sweepable(declared)
    defaults = [name for name in FIRST_PARAMETERS if name in options]
    chosen = st.multiselect(
        "Settings to vary",
        list(options),
        default=defaults,
        format_func=lambda name: options[name].label or name,
        key=f"sweeps_parameters_{engine.name}",
    )
    with st.form("sweeps_form", enter_to_submit=False):
        texts = {
            name: st.text_input(
                f"{options[name].label or name}: values or a range",
                value=example_values(options[name]),
                key=f"sweeps_values_{engine.name}_{name}",
                help="Values separated by commas (0.001, 0.01), or with Random or Bayesian a "
                "range: log:1e-4:1e-1 for a log scale, 16:256 for whole numbers. "
                f"Allowed: {options[name].allowed()}.",
            )
            for name in chosen
        }
        # Every trial trains on the same data.
        fixed = {"dataset": dataset_picker("sweeps_dataset")}
        shown = [name for name in FIXED_SETTINGS if name in declared and name not in chosen]
        for column, name in zip(st.columns(len(shown) or 1), shown, strict=False):
            with column:
                fixed[name] = fixed_widget(declared[name], f"sweeps_fixed_{name}")
        left, middle, right = st.columns(3)
        method = left.radio(
            "How to choose the trials",
            list(METHODS),
            format_func=METHOD_LABELS.__getitem__,
            key="sweeps_method",
        )
        count = middle.number_input(
            "Trials to draw (random, Bayesian)", 1, MAX_TRIALS, 8, key="sweeps_count"
        )
        repeats = middle.number_input("Seeds per trial", 1, MAX_REPEATS, 1, key="sweeps_repeats")
        parallel = right.number_input(
            "Trials at once",
            1,
            MAX_PARALLEL,
            None,
            key="sweeps_parallel",
            placeholder="1 here, one per CPU on a cluster",
        )
        median_stop = right.checkbox(
            "Stop hopeless trials early",
            key="sweeps_median_stop",
            help="A trial whose validation accuracy falls below the median of the others "
            "at the same epoch is stopped (and keeps what it learned).",
        )
        name = st.text_input("Sweep name (optional)", key="sweeps_name", max_chars=60)
        cluster = cluster_widget()
        submitted = st.form_submit_button("Launch sweep", type="primary")
    if not submitted:
        return ask_again(store)
    st.session_state.pop(REPEAT_KEY, None)
    if name_missing():
        st.error(NAME_FIRST, icon=":material/error:")
        return None
    try:
        definition = SweepDefinition(
            engine=engine.name,
            base={key: value for key, value in fixed.items() if value is not None},
            parameters=[parse_parameter(f"{n}={text}", declared) for n, text in texts.items()],
            method=method,
            count=int(count),
            repeats=int(repeats),
            parallel=None if parallel is None else int(parallel),
            median_stop=median_stop,
            name=name.strip(),
            cluster=cluster,
            owner=current_owner(),
        )
        if definition.cluster:
            check_reachable(definition.cluster)
    except ValueError as error:
        st.error(f"Cannot launch this sweep: {plain_markdown(error)}", icon=":material/error:")
        return None
    return launch_sweep(store, definition)


def launch_sweep(store: RunStore, definition: SweepDefinition, again: bool = False) -> Sweep | None:
    """Create and start a sweep of ``definition``; None if refused (the reason is shown).

    The same sweep launched seconds ago is asked about (`ask_again`) before a second one.
    """
    try:
        sweep = SweepStore(store).create(definition, again=again)
    except RepeatedLaunchError as error:
        st.session_state[REPEAT_KEY] = (str(error), definition)
        return ask_again(store)
    except ValueError as error:
        st.error(f"Cannot launch this sweep: {plain_markdown(error)}", icon=":material/error:")
        return None
    start_sweep_driver(sweep)
    return sweep


def ask_again(store: RunStore) -> Sweep | None:
    """The question a repeated launch left, with a button that launches the sweep again."""
    if REPEAT_KEY not in st.session_state:
        return None
    question, definition = st.session_state[REPEAT_KEY]
    # Above its button, and gone once the button answers it.
    above = st.container()
    if not st.button("Launch it again", key="sweeps_again"):
        above.warning(question, icon=":material/help:")
        return None
    del st.session_state[REPEAT_KEY]
    return launch_sweep(store, definition, again=True)


def cluster_widget() -> str | None:
    """The Ray cluster the teacher types; for a student, the configured one shown read-only.

    What a task returns is unpickled by the server, so only whoever started it
    (``$MNIST_LAB_CLUSTER``) or the teacher chooses where trials train.

    Returns
    -------
    str or None
        The address the teacher typed; None: the configured cluster, else this machine.
    """
    configured = os.environ.get(CLUSTER_ENV, "").strip()
    if not is_teacher():
        st.text_input(
            "Ray cluster",
            value=configured or "none: this machine",
            key="sweeps_cluster_shown",
            disabled=True,
            help="Chosen by whoever started the server, or by the teacher.",
        )
        return None
    typed = st.text_input(
        "Ray cluster (optional)",
        value=configured,
        key="sweeps_cluster",
        placeholder="HOST:PORT, empty: this machine",
        help="The address `ray start --head` printed; trials then train on its nodes and "
        "come back here as ordinary runs.",
    )
    return typed.strip() or None


def sweep_label(sweep: Sweep) -> str:
    """A plain-text picker label: name and size (a state would go stale while it trains)."""
    try:
        size = f"{sweep.definition().trial_count()} trials"
    except DamagedRunError:
        return f"{sweep.id} (damaged)"
    # A named sweep shows its id too: two sweeps may share a name.
    return " · ".join([sweep.name, size] + ([sweep.id] if sweep.name != sweep.id else []))


@st.cache_data(max_entries=64, show_spinner="Ranking the parameters...")
def cached_importance(rows: list[dict], sweep_path: str) -> dict[str, float]:
    """`parameter_importance` of a sweep's finished trials, once per set of results."""
    return parameter_importance(rows, Sweep(sweep_path).definition().parameters)


def trials_frame(rows: list[dict], parameters: list[str]) -> pd.DataFrame:
    """The trials best first, as a table with readable headers and plain-text cells."""
    columns = ["trial", *parameters, "test_accuracy", "state", "node", "name"]
    frame = pd.DataFrame(best_first(rows), columns=columns)
    frame["test_accuracy"] = [
        "—" if value is None or pd.isna(value) else f"{value:7.2%}"
        for value in frame["test_accuracy"]
    ]
    frame["state"] = [
        state + (" (stopped early)" if row["pruned"] else "")
        for state, row in zip(frame["state"], best_first(rows), strict=True)
    ]
    return frame.astype(str).rename(columns=TRIAL_COLUMNS)


def show_sweep(sweep: Sweep) -> None:
    """One sweep: progress and Cancel while live, Resume once interrupted, its table and figures.

    A damaged sweep shows why, and nothing else.
    """
    state = sweep.state()
    live = state["state"] in LIVE_SWEEP_STATES

    @st.fragment(run_every=REFRESH_SECONDS if live else None)
    def panel() -> None:
        current = sweep.state()
        try:
            definition = sweep.definition()
            rows = trial_rows(sweep)
        except DamagedRunError as error:
            st.error(f"This sweep is damaged: {plain_markdown(error)}", icon=":material/error:")
            return
        ended = sum(row["state"] not in LIVE_STATES for row in rows)
        total = definition.trial_count()
        st.progress(min(1.0, ended / total), text=f"{ended} of {total} trials ended")
        # While it runs, what each trial is doing now, not the driver's last word.
        said = progress_words(rows, total) if current["state"] in LIVE_SWEEP_STATES else None
        st.caption(plain_markdown(f"{current['state']}: {said or current['message']}"))
        sweep_controls(sweep, current["state"])
        if live and current["state"] not in LIVE_SWEEP_STATES:
            st.rerun()
        show_results(sweep, rows)

    panel()


def progress_words(rows: list[dict], total: int) -> str:
    """What a live sweep's trials are doing, in words: ended, training, waiting.

    Examples
    --------
    >>> rows = [{"state": s} for s in ("finished", "failed", "running", "queued", "queued")]
    >>> progress_words(rows, 6)
    '2 of 6 trials ended, 1 training, 2 waiting in the queue, 1 not launched yet.'
    """
    states = [row["state"] for row in rows]
    ended = sum(state not in LIVE_STATES for state in states)
    waiting = states.count("queued")
    words = [f"{ended} of {total} trials ended", f"{len(states) - ended - waiting} training"]
    words += [f"{waiting} waiting in the queue"] if waiting else []
    words += [f"{total - len(states)} not launched yet"] if total > len(states) else []
    return ", ".join(words) + "."


def sweep_controls(sweep: Sweep, state: str) -> None:
    """Cancel a live sweep, or resume an interrupted one: its owner and the teacher only."""
    if state not in LIVE_SWEEP_STATES | RESUMABLE:
        return
    if not ownership.may_manage(sweep, current_owner(), is_teacher()):
        action = "cancel" if state in LIVE_SWEEP_STATES else "resume"
        st.caption(plain_markdown(ownership.refusal(sweep, action, what="sweep")))
    elif state in LIVE_SWEEP_STATES:
        if st.button("Cancel sweep", key=f"sweeps_cancel_{sweep.id}"):
            sweep.request_cancel()
            st.info("Cancelling: the live trials stop and keep what they learned.")
    elif st.button("Resume sweep", key=f"sweeps_resume_{sweep.id}"):
        start_sweep_driver(sweep)
        st.info("Resuming: trials launched before are kept, the others are launched.")


def curve_label(row: dict, parameters: list, with_seed: bool = False) -> str:
    """A trial's legend entry, short enough to be read whole: its number and values.

    Examples
    --------
    >>> from mnist_lab.sweeps.space import Parameter
    >>> row = {"trial": 5, "seed": 1, "lr": 0.01, "batch": 32}
    >>> curve_label(row, [Parameter("lr"), Parameter("batch")], with_seed=True)
    '#5 · 0.01 · 32 · seed 1'
    """
    values = [
        f"{row[p.name]:g}" if isinstance(row[p.name], float) else str(row[p.name])
        for p in parameters
    ]
    return " · ".join(
        [f"#{row['trial']}", *values] + ([f"seed {row['seed']}"] if with_seed else [])
    )


def show_results(sweep: Sweep, rows: list[dict]) -> None:
    """The trials' table, then the figures of the ones that have a test accuracy."""
    parameters = sweep.definition().parameters
    names = [parameter.name for parameter in parameters]
    if not rows:
        st.info("No trial launched yet.")
        return
    st.dataframe(trials_frame(rows, names), hide_index=True, key=f"sweeps_table_{sweep.id}")
    for scored_on in dict.fromkeys(row["scored_on"] for row in rows if row["scored_on"]):
        # Plain text: it names the assignments, whose titles are the teacher's.
        st.caption(plain_markdown(scored_on))
    scored = [row for row in rows if row["test_accuracy"] is not None]
    # A parameter that took one value so far has nothing to show on an axis of its own.
    varied = [p for p in parameters if len({repr(row[p.name]) for row in scored}) > 1]
    if scored:
        best = best_first(scored)[0]
        page_link(
            "evaluate",
            f"Evaluate the best run: {plain_markdown(best['name'])} ({best['test_accuracy']:.2%})",
            query_params={"run": best["run"]},
        )
        st.subheader("Every trial, parameter by parameter")
        st.plotly_chart(
            parallel_coordinates_figure(scored, varied or parameters),
            key=f"sweeps_parcoords_{sweep.id}",
        )
        st.plotly_chart(
            accuracy_by_parameter_figure(scored, varied or parameters),
            key=f"sweeps_by_param_{sweep.id}",
        )
        importances = cached_importance(scored, str(sweep.path))
        if importances:
            st.subheader("Which setting mattered most")
            st.plotly_chart(importance_figure(importances), key=f"sweeps_importance_{sweep.id}")
    st.subheader("Learning curves of every trial")
    runs = {run.id: run for run in sweep.runs()}
    with_seed = sweep.definition().repeats > 1
    curves = {
        curve_label(row, varied or parameters, with_seed): runs[row["run"]].metrics()
        for row in rows
    }
    if all(len(records.summary(metrics).records) <= 1 for metrics in curves.values()):
        # One epoch each: per epoch a trial is a dot, so its logging windows are drawn.
        figure = window_curves_figure(curves)
    else:
        figure = learning_curves_figure(curves)
    st.plotly_chart(figure, key=f"sweeps_curves_{sweep.id}")
