"""``python -m mnist_lab``: train, list runs, and the worker the dashboard starts.

Each subcommand has an ``add_<name>_parser`` that declares its flags and a ``cmd_<name>``
that runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

from mnist_lab.runs import LIVE_STATES, Run, RunStore


def add_worker_parser(subparsers: argparse._SubParsersAction) -> None:
    """``worker --run-dir DIR``: train one run directory (started by the dashboard and CLI)."""
    parser = subparsers.add_parser("worker", help="train one run directory (used internally)")
    parser.add_argument("--run-dir", required=True, help="the run directory to train")
    parser.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the worker; exit 0 unless the run failed."""
    from mnist_lab.worker import run_worker

    return 1 if run_worker(args.run_dir) == "failed" else 0


def add_runs_parser(subparsers: argparse._SubParsersAction) -> None:
    """``runs``: list the runs in the runs directory."""
    parser = subparsers.add_parser("runs", help="list runs, newest first")
    parser.set_defaults(handler=cmd_runs)


def cmd_runs(args: argparse.Namespace) -> int:
    """Print one line per run: id, state, engine/label, test accuracy."""
    store = RunStore()
    runs = store.list()
    if not runs:
        print(f"No runs yet in {store.root}.")
        return 0
    print(f"{'id':<44} {'state':<12} {'what':<22} test acc")
    for run in runs:
        status = run.status()
        try:
            label = str(run.config().get("label", run.config().get("engine", "?")))
            evaluation = run.evaluation()
        except ValueError:
            label, evaluation = "?", None
        accuracy = f"{evaluation['test_accuracy']:.4f}" if evaluation else "-"
        print(f"{run.id:<44} {status['state']:<12} {label[:22]:<22} {accuracy}")
    return 0


def describe_epoch(record: dict) -> str:
    """One line for a ``metrics.jsonl`` epoch record: which epoch (or chunk) and its metrics."""
    if "iterations" in record:
        head = f"chunk {record['epoch']} ({record['iterations']} iterations)"
    else:
        head = f"epoch {record['epoch']}"
    names = ("loss", "accuracy", "val_loss", "val_accuracy")
    values = [f"{name} {record[name]:.4f}" for name in names if name in record]
    return ": ".join([head, ", ".join(values)]) if values else head


def add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    """``train``: train a Keras network as a run and follow its progress.

    Every flag defaults to None, so that a ``--config`` file's values hold unless a flag
    overrides them, and `TrainConfig` fills in the rest.
    """
    from mnist_lab.config import LR_SCHEDULES, OPTIMIZERS
    from mnist_lab.models import PRESETS
    from mnist_lab.preprocess import NORMALIZATIONS

    parser = subparsers.add_parser("train", help="train a Keras (or NumPy) network as a run")
    add = parser.add_argument
    add(
        "--engine",
        choices=["keras", "numpy"],
        help="keras (default), or numpy: the from-scratch 784-H-10 sigmoid network with plain "
        "SGD (takes --lr, --batch-size, --epochs, --val-split, --normalization, --seed, "
        "--subset, --hidden-units)",
    )
    add("--hidden-units", type=int, help="numpy engine: hidden sigmoid units (default 20)")
    add("--config", help="JSON file of TrainConfig fields (e.g. another run's config.json)")
    add("--preset", help=f"architecture: one of {', '.join(PRESETS)} (default mlp-relu)")
    add("--layers", help='custom hidden layers as JSON, e.g. \'[{"type": "Dense", "units": 50}]\'')
    add("--optimizer", help=f"one of {', '.join(OPTIMIZERS)} (default adam)")
    add("--lr", dest="learning_rate", type=float, help="learning rate (default 0.001)")
    add("--momentum", type=float, help="SGD momentum in [0, 1)")
    add("--nesterov", action="store_true", default=None, help="Nesterov momentum (SGD)")
    add("--lr-schedule", help=f"one of {', '.join(LR_SCHEDULES)}")
    add("--lr-decay-rate", type=float, help="exponential schedule: multiplier per epoch")
    add("--lr-min-fraction", type=float, help="cosine schedule: final rate / initial rate")
    add("--batch-size", type=int)
    add("--epochs", type=int)
    add("--val-split", type=float, help="share held out for validation, in [0, 0.5]")
    add("--normalization", help=f"one of {', '.join(NORMALIZATIONS)} (default scale)")
    add("--seed", type=int)
    add("--subset", type=int, help="train on this many randomly chosen images")
    add("--early-stopping", dest="early_stopping_patience", type=int, metavar="PATIENCE")
    add("--record-gradients", action=argparse.BooleanOptionalAction, default=None)
    add("--name", help="display name of the run")
    parser.set_defaults(handler=cmd_train)


def train_config_from_args(args: argparse.Namespace):
    """The validated `TrainConfig` of ``--config`` (if any) overridden by the given flags.

    Raises
    ------
    ValueError
        If the config file is unreadable, ``--layers`` is not JSON, or a value is invalid.
    """
    import dataclasses
    import json

    from mnist_lab.config import CUSTOM, TrainConfig
    from mnist_lab.runs import read_json

    values = read_json(args.config) if args.config else {}
    if (getattr(args, "engine", None) or values.get("engine")) == "numpy":
        return scratch_config_from_args(args, values)
    if getattr(args, "hidden_units", None) is not None:
        raise ValueError("--hidden-units is for --engine numpy; Keras networks take --layers")
    for field in dataclasses.fields(TrainConfig):
        if getattr(args, field.name, None) is not None:
            values[field.name] = getattr(args, field.name)
    if args.layers is not None:
        try:
            values.update(preset=CUSTOM, layers=json.loads(args.layers))
        except json.JSONDecodeError as error:
            raise ValueError(f"--layers is not valid JSON: {error}") from None
    return TrainConfig.from_dict(values)


def scratch_config_from_args(args: argparse.Namespace, values: dict):
    """The validated NumPy-engine `ScratchConfig` of ``values`` overridden by the given flags.

    Raises
    ------
    ValueError
        If a Keras-only flag is given, or a value is out of range.
    """
    import dataclasses

    from mnist_lab.scratch import ScratchConfig

    keras_only = [
        name
        for name in ("preset", "layers", "optimizer", "momentum", "nesterov", "lr_schedule")
        + ("lr_decay_rate", "lr_min_fraction", "early_stopping_patience", "record_gradients")
        if getattr(args, name, None) is not None
    ]
    if keras_only:
        raise ValueError(f"--engine numpy trains with plain SGD; not for it: {keras_only}")
    for field in dataclasses.fields(ScratchConfig):
        if getattr(args, field.name, None) is not None:
            values[field.name] = getattr(args, field.name)
    return ScratchConfig.from_dict(values)


def cmd_train(args: argparse.Namespace) -> int:
    """Launch the training worker, follow it, and print the test result and run directory.

    Returns 0 when the run finished or was stopped on request, 1 otherwise.
    """
    config = train_config_from_args(args)
    store = RunStore()
    run = store.create(config.to_dict(), name=args.name)
    store.launch(run)
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
    """Print a run's state changes and every epoch record it logs, until it ends.

    Epochs are read from ``metrics.jsonl``, so none is missed however fast they come.
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
            # Status first: once it says the run ended, every metric is already written.
            status = run.status()
            if redraw:
                print("\r\x1b[2K", end="")
            epochs = [r for r in run.metrics() if r.get("kind") == "epoch" and "epoch" in r]
            for record in epochs[printed:]:
                print(describe_epoch(record), flush=True)
            printed = len(epochs)
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


def add_baseline_parser(subparsers: argparse._SubParsersAction) -> None:
    """``baseline``: fit the logistic-regression baseline (answered from a stored run if any)."""
    from mnist_lab.baseline import BaselineConfig
    from mnist_lab.preprocess import NORMALIZATIONS

    defaults = BaselineConfig()
    parser = subparsers.add_parser(
        "baseline", help="fit the scikit-learn logistic-regression baseline as a run"
    )
    parser.add_argument(
        "--normalization", choices=list(NORMALIZATIONS), default=defaults.normalization
    )
    parser.add_argument("--C", type=float, default=defaults.C, help="inverse L2 strength")
    parser.add_argument("--max-iter", type=int, default=defaults.max_iter)
    parser.add_argument("--tol", type=float, default=defaults.tol)
    parser.add_argument("--subset", type=int, default=None, help="train on this many images")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the subset")
    parser.add_argument("--name", default=None, help="display name of the run")
    parser.add_argument("--force", action="store_true", help="retrain even if a run matches")
    parser.set_defaults(handler=cmd_baseline)


def cmd_baseline(args: argparse.Namespace) -> int:
    """Fit the baseline in a detached worker and follow it; exit 0 once it has finished."""
    from mnist_lab.baseline import BaselineConfig

    config = BaselineConfig(
        C=args.C,
        max_iter=args.max_iter,
        tol=args.tol,
        normalization=args.normalization,
        subset=args.subset,
        seed=args.seed,
    ).validate()
    store = RunStore()
    stored = None if args.force else store.find_finished(config.to_dict())
    if stored is not None:
        print(f"Answered from stored run {stored.id} with the same settings (--force retrains).")
        print(stored.status().get("message", ""))
        run, state = stored, "finished"
    else:
        run = store.create(config.to_dict(), name=args.name)
        store.launch(run)
        print(f"Fitting run {run.id} in {store.root} (Ctrl-C stops it).", flush=True)
        state = follow_run(run)
    evaluation = run.evaluation()
    if evaluation:
        accuracy, loss = evaluation["test_accuracy"], evaluation["test_loss"]
        print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f})")
    return 0 if state == "finished" else 1


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m mnist_lab",
        description="MNIST Lab: train and inspect models on MNIST from the command line.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add_parser in (add_runs_parser, add_train_parser, add_worker_parser, add_baseline_parser):
        add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; bad input exits 2 with a message."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
