"""Drives a sweep: launches its trials (`mnist_lab.launch`), watches them, stops hopeless ones.

One driver process per sweep (the CLI's ``sweep`` in the foreground, or a detached
``python -m mnist_lab sweep-driver ID`` started by the Sweeps page), never one per waiting
trial: it launches a trial only when one of its ``parallel`` slots is free. A driver that is
killed can be started again (``sweep --resume ID``, the Sweeps page's Resume): it keeps the
trials already launched, watching those still training, and launches only the others.
"""

from __future__ import annotations

import os
import statistics
import time
import traceback
from collections import deque
from collections.abc import Callable

from mnist_lab import records
from mnist_lab.assignments.secrecy import Part, ScoreWithheld, shown_evaluation
from mnist_lab.execution.executor import Executor
from mnist_lab.execution.queue_entry import RAY, queue_entry
from mnist_lab.files import DamagedRunError, now_iso
from mnist_lab.launch import executor_for, launch
from mnist_lab.processes import process_start_time, start_detached
from mnist_lab.runs import CONFIG_FILE, RUNS_DIR_ENV, Run, RunStore
from mnist_lab.status import LIVE_STATES, QUEUED, STATUS_FILE
from mnist_lab.sweeps.store import DRIVER_LOG, MAX_PARALLEL, Sweep, SweepDefinition, Trial

# The median rule waits for this many other trials at the same epoch before it judges one.
MEDIAN_MIN_OTHERS = 3


def trial_name(sweep: Sweep, number: int, params: dict, repeat: int, repeats: int) -> str:
    """A trial's run name: the sweep's name, its number and its parameter values."""
    values = " ".join(
        f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
        for name, value in params.items()
    )
    seed = f" seed+{repeat}" if repeats > 1 else ""
    return f"{(sweep.definition().name or 'sweep')[:30]} #{number + 1}{seed}: {values}"[:80]


def epoch_scores(run: Run) -> dict[int, float]:
    """Validation accuracy (training accuracy without a validation split) per whole epoch."""
    scores = {}
    for record in records.of_kind(run.metrics(), "epoch"):
        score = record.get("val_accuracy", record.get("accuracy"))
        if score is not None and record.get("fraction", 1.0) >= 1.0:
            scores[int(record["epoch"])] = float(score)
    return scores


def below_median(run: Run, others: list[Run]) -> bool:
    """The median rule: ``run``'s latest epoch scores below the median of the others' there.

    Only judged once `MEDIAN_MIN_OTHERS` other trials have reached that epoch.
    """
    scores = epoch_scores(run)
    if not scores:
        return False
    epoch = max(scores)
    at_epoch = [s[epoch] for s in map(epoch_scores, others) if epoch in s]
    return len(at_epoch) >= MEDIAN_MIN_OTHERS and scores[epoch] < statistics.median(at_epoch)


def test_accuracy(run: Run, parts: dict[str, Part] | None = None) -> float | None:
    """A trial's test accuracy as pages show it, or None if it has no readable evaluation.

    While an assignment hides part of the test split it is the accuracy on the digits
    students can see (`mnist_lab.assignments.secrecy.shown_evaluation`, ``parts`` its
    `secret_parts` when the caller reads many runs), and None while it cannot be cut to
    them: a sweep never ranks its trials, nor chooses its next point, on hidden digits.
    """
    try:
        evaluation = shown_evaluation(run, parts)
    except (DamagedRunError, ScoreWithheld):
        return None
    return None if evaluation is None else float(evaluation["test_accuracy"])


def sweep_executor(definition: SweepDefinition, store: RunStore) -> Executor:
    """Where ``definition``'s trials train: its cluster, ``$MNIST_LAB_CLUSTER``, else here.

    Raises
    ------
    ValueError
        If the cluster cannot be reached, saying what to check.
    """
    # Here, a sweep's trials wait until fewer than its ``parallel`` runs train.
    return executor_for(store, definition.cluster, definition.parallel or 1)


def trials_at_once(definition: SweepDefinition, executor: Executor) -> int:
    """How many of ``definition``'s trials train at once: as it says, else as ``executor`` can.

    One here, one per CPU a Ray cluster has now (`Executor.trains_at_once`), at most
    `MAX_PARALLEL`.
    """
    return definition.parallel or min(executor.trains_at_once(), MAX_PARALLEL)


def waits_for_nobody(run: Run) -> bool:
    """Whether ``run`` still waits to train but nobody will start it.

    Its driver was killed after creating it (even before its status was written) and before
    queueing it, or it waited for a Ray cluster that only the killed driver's process
    submitted runs to.
    """
    if not run.file(CONFIG_FILE).is_file():
        # Deleted since, or never written: there is nothing to train.
        return False
    try:
        if run.file(STATUS_FILE).exists() and run.raw_status().get("state") != QUEUED:
            return False
    except DamagedRunError:
        return False
    entry = queue_entry(run)
    return entry is None or ("worker" not in entry and entry.get("executor") == RAY)


def run_sweep(
    sweep: Sweep,
    executor: Executor | None = None,
    poll_s: float = 0.5,
    report: Callable[[str], None] = lambda line: None,
) -> str:
    """Launch every trial of ``sweep``, ``parallel`` at a time, until all have ended.

    A sweep driven before (its driver killed) resumes: its launched trials are kept, never
    launched twice, and only its other points are launched.

    Parameters
    ----------
    sweep : Sweep
        A sweep made by `SweepStore.create`.
    executor : Executor, optional
        Where trials train; by default the one its definition names (`sweep_executor`).
    poll_s : float, default 0.5
        Seconds between two looks at the live trials.
    report : callable, optional
        Called with one line per event (launch, end, pruning, cancel), for the CLI.

    Returns
    -------
    str
        The sweep's final state: ``finished``, ``cancelled`` or ``failed``.

    Raises
    ------
    ValueError
        If another process drives the sweep, it has already ended, or its file is damaged.
    """
    with sweep.driving():
        state = sweep.state()["state"]
        if state in ("finished", "cancelled", "damaged"):
            raise ValueError(f"sweep {sweep.id} is {state}: {sweep.state()['message']}")
        return _drive(sweep, executor, poll_s, report)


def _drive(
    sweep: Sweep, executor: Executor | None, poll_s: float, report: Callable[[str], None]
) -> str:
    """`run_sweep` once this process holds the sweep's driver lock."""
    definition = sweep.definition()
    store = sweep.run_store
    executor = executor or sweep_executor(definition, store)
    pid = os.getpid()
    sweep.update(
        state="running",
        driver={"pid": pid, "pid_start": process_start_time(pid)},
        started=now_iso(),
        where=executor.where,
        message=f"Training on {executor.where}.",
    )
    sampler = definition.sampler()
    total = definition.trial_count()
    pending: deque[tuple[int, dict, int]] = deque()
    live: dict[str, tuple[Run, int]] = {}
    outstanding: dict[int, list[float | None]] = {}
    ended, cancelled = 0, False

    def end_point_run(number: int, accuracy: float | None) -> None:
        outstanding[number].append(accuracy)
        if len(outstanding[number]) == definition.repeats:
            scores = [a for a in outstanding.pop(number) if a is not None]
            sampler.tell(number, statistics.mean(scores) if scores else None)

    def adopt(trial: Trial) -> None:
        nonlocal ended
        run = Run(store.root / trial.run)
        if waits_for_nobody(run):
            # Fresh again: a queued run nobody has picked up for a while reads interrupted.
            run.update_status(state=QUEUED, message="Waiting for a free training slot.")
            executor.launch(run)
            report(f"Queued {run.name} ({run.id}), launched before the driver was stopped")
        if run.status()["state"] in LIVE_STATES:
            live[run.id] = (run, trial.point)
            report(f"Watching {run.name} ({run.id}), launched before")
        else:
            ended += 1
            end_point_run(trial.point, test_accuracy(run))

    # A resumed sweep: the points launched before are asked again, in order, with the values
    # they were launched with; only their missing repeats are launched.
    recorded = {(t.point, t.repeat): t for t in [*sweep.trials(), *sweep.adopt_untracked()]}
    known = {point: trial.params for (point, _), trial in recorded.items()}
    while known and sampler.asked <= max(known) and sampler.has_more():
        number, params = sampler.ask(known.get(sampler.asked))
        outstanding[number] = []
        for repeat in range(definition.repeats):
            if (number, repeat) in recorded:
                adopt(recorded[(number, repeat)])
            else:
                pending.append((number, params, repeat))
    if recorded:
        report(f"Resumed: {len(recorded)} trial(s) launched before, {len(live)} still training.")

    try:
        while True:
            if not cancelled and sweep.cancel_requested():
                cancelled = True
                report(f"Cancelling: stopping {len(live)} live trial(s), launching no more.")
                for run, _ in live.values():
                    run.request_stop()
            # Asked each round: a cluster's CPUs come and go with its nodes.
            while not cancelled and len(live) < trials_at_once(definition, executor):
                if not pending:
                    if not sampler.has_more():
                        break
                    number, params = sampler.ask()
                    outstanding[number] = []
                    pending.extend((number, params, r) for r in range(definition.repeats))
                number, params, repeat = pending.popleft()
                try:
                    config = definition.trial_config(params, repeat, sweep.id, number)
                except ValueError as error:
                    ended += 1
                    report(f"Trial #{number + 1} skipped: {error}")
                    end_point_run(number, None)
                    continue
                name = trial_name(sweep, number, params, repeat, definition.repeats)
                # Every trial trains: a sweep measures its points, it never reuses a run.
                run = launch(
                    store,
                    config,
                    name=name,
                    owner=definition.owner,
                    force=True,
                    executor=executor,
                    # Recorded before it is queued, so the sweep never misses a trial that trains.
                    prepare=lambda run, point=(number, repeat, params): sweep.add_trial(
                        Trial(run.id, *point)
                    ),
                ).run
                live[run.id] = (run, number)
                report(f"Launched {name} ({run.id})")
            for run_id, (run, number) in list(live.items()):
                status = run.status()
                if status["state"] in LIVE_STATES:
                    others = [r for r in sweep.runs() if r.id != run_id]
                    if (
                        definition.median_stop
                        and not run.stop_requested()
                        and below_median(run, others)
                    ):
                        run.request_stop()
                        sweep.mark_pruned(run_id)
                        report(f"Stopping {run.name}: below the median of the other trials")
                    continue
                del live[run_id]
                ended += 1
                accuracy = test_accuracy(run)
                end_point_run(number, accuracy)
                shown = "-" if accuracy is None else f"{accuracy:.4f}"
                report(f"[{ended}/{total}] {status['state']}: {run.name} (test accuracy {shown})")
                sweep.update(message=f"{ended} of {total} trials ended, {len(live)} training.")
            if not live and (cancelled or (not pending and not sampler.has_more())):
                break
            try:
                time.sleep(poll_s)
            except KeyboardInterrupt:
                sweep.request_cancel()
    except Exception as error:
        traceback.print_exc()
        for run, _ in live.values():
            run.request_stop()
        sweep.update(state="failed", message=f"{type(error).__name__}: {error}", ended=now_iso())
        raise
    state = "cancelled" if cancelled else "finished"
    done = f"{ended} of {total} trials ended" + (" (cancelled)." if cancelled else ".")
    sweep.update(state=state, message=done, ended=now_iso())
    return state


def start_sweep_driver(sweep: Sweep) -> int:
    """Drive ``sweep`` in a detached process (``python -m mnist_lab sweep-driver ID``).

    It outlives the Streamlit server that started it, as a run's worker does.

    Returns
    -------
    int
        The driver's pid.
    """
    env = {RUNS_DIR_ENV: str(sweep.run_store.root)}
    return start_detached(["sweep-driver", sweep.id], sweep.file(DRIVER_LOG), env)
