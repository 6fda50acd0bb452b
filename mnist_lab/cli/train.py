"""``train`` and ``baseline``: launch a run of any engine and follow it to its result."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass

from mnist_lab import records
from mnist_lab.cli.settings_flags import add_settings_flags, requested_values
from mnist_lab.engines import DEFAULT_ENGINE, ENGINES, Engine, all_engines
from mnist_lab.launch import CLUSTER_ENV, RepeatedLaunchError, draws_fresh_seed, launch
from mnist_lab.ownership import OWNER_ENV
from mnist_lab.runs import Run, RunStore
from mnist_lab.settings import Settings, fresh_seed
from mnist_lab.status import LIVE_STATES


def add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    """``train``: train any engine's model as a run and follow its progress."""
    parser = subparsers.add_parser("train", help="train a model (any engine) as a run")
    parser.add_argument(
        "--engine",
        choices=list(ENGINES),
        help="; ".join(f"{engine.name}: {engine.title}" for engine in all_engines())
        + f" (default {DEFAULT_ENGINE}); each takes only its own settings",
    )
    add_launch_flags(parser, all_engines())


def add_baseline_parser(subparsers: argparse._SubParsersAction) -> None:
    """``baseline``: ``train --engine sklearn``, answered from a stored run if one matches."""
    baseline = next(engine for engine in all_engines() if engine.is_baseline)
    parser = subparsers.add_parser("baseline", help=f"fit the {baseline.title.lower()} as a run")
    add_launch_flags(parser, [baseline])
    parser.set_defaults(engine=baseline.name)


def add_launch_flags(parser: argparse.ArgumentParser, engines: list[Engine]) -> None:
    """The flags every launching subcommand shares: settings, config file, name, reuse."""
    parser.add_argument("--config", help="JSON file of settings (e.g. another run's config.json)")
    add_settings_flags(parser, engines)
    parser.add_argument("--name", help="display name of the run")
    parser.add_argument(
        "--owner", help=f"the student whose run it is (default ${OWNER_ENV}: nobody)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="train even if a finished run has the same settings, or the same run was "
        "launched seconds ago",
    )
    parser.add_argument(
        "--cluster", help=f"train on a Ray cluster's HOST:PORT (default ${CLUSTER_ENV}: none)"
    )
    parser.set_defaults(handler=cmd_train)


@dataclass(frozen=True)
class LaunchRequest:
    """What a ``train`` command asks for: the engine, its validated settings, the run's name
    and owner (``--owner``, else ``$MNIST_LAB_USER``)."""

    engine: Engine
    settings: Settings
    name: str | None
    fresh_seed: bool = False
    owner: str | None = None


def launch_request(args: argparse.Namespace) -> LaunchRequest:
    """The engine and validated settings of ``--config`` (if any) overridden by the flags.

    A preset's recipe fills what neither the file nor the flags chose. Without a seed in
    either, a fresh one is drawn (`mnist_lab.launch.draws_fresh_seed`).

    Raises
    ------
    ValueError
        As `mnist_lab.cli.settings_flags.requested_values`, or if a value is invalid.
    """
    engine, values = requested_values(args)
    fresh = "seed" not in values and draws_fresh_seed(engine)
    if fresh:
        values["seed"] = fresh_seed()
    settings = engine.settings_class.resolve(values)
    owner = args.owner or os.environ.get(OWNER_ENV) or None
    return LaunchRequest(engine, settings, args.name or values.get("name"), fresh, owner)


def cmd_train(args: argparse.Namespace) -> int:
    """Launch the training worker, follow it, and print the test result and run directory.

    A launch with the settings of a finished run of an engine that `reuses_finished_runs`
    is answered from that run (``--force`` trains anyway). Returns 0 when the run finished
    or was stopped on request, 1 otherwise.
    """
    request = launch_request(args)
    if request.fresh_seed:
        seed = request.settings.seed
        print(f"Seed {seed}, drawn for this run (--seed {seed} trains the same model again).")
    try:
        launched = launch(
            RunStore(),
            request.settings.to_dict(),
            name=request.name,
            owner=request.owner,
            force=args.force,
            cluster=args.cluster,
        )
    except RepeatedLaunchError as error:
        raise ValueError(f"{error} Add --force to launch it again.") from None
    run, reused = launched.run, launched.reused
    if reused:
        print(f"Answered from stored run {run.id} with the same settings (--force retrains).")
        print(run.status().get("message", ""))
        state = "finished"
    else:
        print(f"Training run {run.id} (Ctrl-C stops it and keeps the model so far).", flush=True)
        state = follow_run(run)
    status, evaluation = run.status(), run.evaluation()
    if status.get("hint"):
        print(f"Hint: {status['hint']}")
    if evaluation:
        accuracy, loss = evaluation["test_accuracy"], evaluation["test_loss"]
        print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f})")
    print(f"Run directory: {run.path}")
    return 0 if state in ("finished", "stopped") else 1


def progress_bar(status: dict, width: int = 20) -> str:
    """One line for a live run: a bar, the percentage done and the status message.

    Examples
    --------
    >>> progress_bar({"progress": 0.5, "message": "Epoch 1/2"}, width=10)
    '[#####     ]  50% Epoch 1/2'
    """
    progress = float(status.get("progress") or 0.0)
    return f"[{'#' * round(width * progress):<{width}}] {progress:4.0%} {status.get('message', '')}"


def follow_run(run: Run, poll_s: float = 0.5) -> str:
    """Print a run's state changes and every epoch (or chunk) record it logs, until it ends.

    They are read from ``metrics.jsonl``, so none is missed however fast they come.
    Ctrl-C asks the worker to stop (it keeps what it has) and goes on following it.

    Parameters
    ----------
    run : Run
        A launched run.
    poll_s : float, default 0.5
        Seconds between two reads of the run's files.

    Returns
    -------
    str
        The final state.
    """
    state, printed = None, 0
    # In a terminal a progress bar is redrawn under the lines; logs and pipes get lines only.
    redraw = sys.stdout.isatty()
    while True:
        try:
            # Status first: once it says the run ended, every record is already written.
            status = run.status()
            if redraw:
                print("\r\x1b[2K", end="")
            summaries = records.summary(run.metrics()).records
            for record in summaries[printed:]:
                print(records.describe(record), flush=True)
            printed = len(summaries)
            if status["state"] != state:
                state = status["state"]
                print(f"{state}: {status.get('message', '')}", flush=True)
            if state not in LIVE_STATES:
                return state
            if redraw and "progress" in status:
                width = shutil.get_terminal_size().columns - 1
                print(progress_bar(status)[:width], end="", flush=True)
            time.sleep(poll_s)
        except KeyboardInterrupt:
            print("Stopping the run (it keeps its weights and metrics so far)...", flush=True)
            run.request_stop()
