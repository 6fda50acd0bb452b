"""One launch for every launcher: validate, record the owner, reuse, hand to the executor.

The Train page, the CLI's ``train`` and ``baseline``, the Playground's one-click model, lessons
and sweeps all call `launch`, so the lab's policies (the cluster, the fair queue, ownership)
hold for every run at once. `executor_for` chooses where runs train: on a Ray cluster when one
is named or ``$MNIST_LAB_CLUSTER`` is set, else on this machine; on either, runs wait in the
fair queue (`mnist_lab.execution.fair_queue`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from mnist_lab.engines import Engine, get_engine
from mnist_lab.execution.executor import Executor
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.execution.ray_cluster import RayExecutor
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import Run, RunStore, validate_owner_name, validate_run_name
from mnist_lab.timing import cost_refusal

CLUSTER_ENV = "MNIST_LAB_CLUSTER"
# What a launch records itself: a copied run's name, owner and date are not the new run's.
LAUNCH_KEYS = ("created", "name", "owner")
# An identical launch this soon after another is a second click (or an Enter), so it is asked about.
REPEAT_SECONDS = 30.0


class RepeatedLaunchError(ValueError):
    """The same launch was made ``seconds`` ago; the caller asks before launching it again.

    Its text is the question to ask ("You launched the same run 5 s ago. Launch it again?").

    Parameters
    ----------
    what : str
        What was launched ("run", "sweep").
    seconds : float
        How long ago the identical launch was made.
    """

    def __init__(self, what: str, seconds: float):
        self.seconds = seconds
        super().__init__(f"You launched the same {what} {seconds:.0f} s ago. Launch it again?")


def seconds_since(created: object) -> float | None:
    """Seconds since the ISO time ``created``, or None if it is not a time with a time zone."""
    try:
        moment = datetime.fromisoformat(str(created))
    except ValueError:
        return None
    return None if moment.tzinfo is None else (datetime.now(UTC) - moment).total_seconds()


def repeated_run(
    store: RunStore, config: dict, name: str | None, owner: str | None
) -> float | None:
    """Seconds since a run of ``config``, ``name`` and ``owner`` was made, if that was recent.

    Returns None when no such run was made within `REPEAT_SECONDS`.
    """
    config = store.with_dataset_hash(config)
    # Newest first: the search ends at the first run older than the window.
    for run in store.list():
        try:
            recorded = run.config()
        except DamagedRunError:
            continue
        age = seconds_since(recorded.get("created"))
        if age is None or age > REPEAT_SECONDS:
            return None
        same = {key: value for key, value in recorded.items() if key not in LAUNCH_KEYS} == config
        if same and recorded.get("name") == name and recorded.get("owner") == owner:
            return max(age, 0.0)
    return None


@dataclass(frozen=True)
class Launched:
    """What `launch` did.

    Attributes
    ----------
    run : Run
        The run that answers the request: a new queued run, or a finished one reused.
    reused : bool
        True if ``run`` is a finished run with the same settings, trained before.
    """

    run: Run
    reused: bool


def draws_fresh_seed(engine: Engine) -> bool:
    """Whether a launcher draws a `settings.fresh_seed` for a run of ``engine`` that fixes none.

    Not for an engine that answers a launch from a finished run with the same settings: a
    class then shares one result (a baseline's) rather than training it once per student.
    """
    return not engine.reuses_finished_runs


def executor_for(
    store: RunStore, cluster: str | None = None, parallel: int | None = None
) -> Executor:
    """The executor for ``cluster`` (or ``$MNIST_LAB_CLUSTER``): Ray there, else this machine.

    Parameters
    ----------
    store : RunStore
        Where the run directories live (on this machine, whichever executor trains them).
    cluster : str, optional
        A Ray cluster's address (``HOST:PORT`` of ``ray start --head``).
    parallel : int, optional
        Runs training at once on this machine (the local executor only).

    Raises
    ------
    ValueError
        If the cluster cannot be reached, saying what to check, or
        ``$MNIST_LAB_RUNS_PER_STUDENT`` is not a whole number >= 0.
    """
    cluster = cluster or os.environ.get(CLUSTER_ENV) or None
    if cluster is None:
        return LocalExecutor(store, parallel=parallel)
    return RayExecutor(store, cluster)


def launch(
    store: RunStore,
    config: dict,
    *,
    name: str | None = None,
    owner: str | None = None,
    force: bool = False,
    cluster: str | None = None,
    parallel: int | None = None,
    executor: Executor | None = None,
    prepare: Callable[[Run], None] | None = None,
) -> Launched:
    """Launch a run of ``config``, or answer it from a finished run with the same settings.

    Everything is checked before anything is written: a refused launch leaves no run behind.
    The new run waits in the fair queue of the executor that trains it.

    Parameters
    ----------
    store : RunStore
        Where the run directory is made.
    config : dict
        The settings, as ``Settings.to_dict`` gives them (a partial one gets the engine's
        defaults); it must name its ``engine``. Tags such as a sweep's are kept.
    name : str, optional
        The run's display name; its id when omitted.
    owner : str, optional
        Who launches it, recorded as the run's ``owner`` (the fair queue's student).
    force : bool, default False
        Train even if the engine `reuses_finished_runs` and a finished run has the same
        settings, or the same run was launched seconds ago.
    cluster : str, optional
        A Ray cluster's ``HOST:PORT``; by default ``$MNIST_LAB_CLUSTER``, and without it
        this machine (see `executor_for`).
    parallel : int, optional
        Runs training at once on this machine (the local executor only).
    executor : Executor, optional
        Train through this executor instead of choosing one (``cluster`` and ``parallel``
        are then ignored): a caller launching many runs (a sweep, a lesson) connects once.
    prepare : callable, optional
        Called with the new run before it is queued, to add what its launcher records
        beside it (a lesson's tag, the expected training time); not called on reuse.

    Returns
    -------
    Launched
        The run and whether it was reused.

    Raises
    ------
    RepeatedLaunchError
        If the same run (settings, name and owner) was launched less than `REPEAT_SECONDS`
        ago and ``force`` is False: ask, and launch again with ``force=True``.
    ValueError
        If the engine is unknown, a setting is invalid (naming it and its allowed values),
        the run would take longer than the lab's limit (`timing.cost_refusal`), the name or
        owner is refused, or the cluster cannot be reached.

    Examples
    --------
    >>> launch(RunStore("runs"), {"engine": "sklearn", "C": -1.0})
    Traceback (most recent call last):
    ...
    ValueError: C must be a number in [0.0001, 10000], got -1.0
    """
    if not isinstance(config, dict):
        raise ValueError("a training config must be a JSON object")
    engine = get_engine(config.get("engine"))
    settings = engine.settings_class.from_dict(config)
    name = None if name is None else validate_run_name(name)
    owner = None if owner is None else validate_owner_name(owner)
    tags = {key: value for key, value in config.items() if key not in LAUNCH_KEYS}
    config = {**tags, **settings.to_dict()}
    if engine.reuses_finished_runs and not force:
        stored = store.find_finished(config)
        if stored is not None:
            return Launched(stored, reused=True)
    if not force and (seconds := repeated_run(store, config, name, owner)) is not None:
        raise RepeatedLaunchError("run", seconds)
    # A run that would hold a training slot for hours is refused, saying the limit.
    refusal = cost_refusal(store, settings)
    if refusal is not None:
        raise ValueError(refusal)
    # Connect first: an unreachable cluster is a message, and leaves no run behind.
    executor = executor or executor_for(store, cluster, parallel)
    run = store.create(config, name=name, owner=owner)
    if prepare is not None:
        prepare(run)
    executor.launch(run)
    return Launched(run, reused=False)
