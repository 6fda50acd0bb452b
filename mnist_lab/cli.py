"""``python -m mnist_lab``: train, list runs, and the worker the dashboard starts.

Each subcommand has an ``add_<name>_parser`` that declares its flags and a ``cmd_<name>``
that runs it and returns the exit code. The training flags are made from the engines'
declared settings (`mnist_lab.settings`), so a flag's default, range and help are the ones
the Train page shows.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mnist_lab import records
from mnist_lab.data import EMBEDDED_NAME as MNIST
from mnist_lab.data import EMBEDDED_SHA256
from mnist_lab.datasets import DatasetStore
from mnist_lab.engines import DEFAULT_ENGINE, ENGINES, Engine, all_engines, get_engine
from mnist_lab.engines.keras_net.settings import CUSTOM
from mnist_lab.export import EXPORT_FORMATS, NPZ_ENV, export_run
from mnist_lab.launch import CLUSTER_ENV, executor_for
from mnist_lab.runs import DAMAGED, LIVE_STATES, Run, RunStore, read_json
from mnist_lab.settings import Settings


def add_worker_parser(subparsers: argparse._SubParsersAction) -> None:
    """``worker --run-dir DIR``: train one run directory (started by the dashboard and CLI)."""
    parser = subparsers.add_parser("worker", help="train one run directory (used internally)")
    parser.add_argument("--run-dir", required=True, help="the run directory to train")
    parser.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the worker; exit 0 unless the run failed."""
    from mnist_lab.execution.worker import run_worker

    return 1 if run_worker(args.run_dir) == "failed" else 0


def add_dispatch_parser(subparsers: argparse._SubParsersAction) -> None:
    """``dispatch``: start queued runs' workers as slots free up (started by launches)."""
    parser = subparsers.add_parser("dispatch", help="run the local queue (used internally)")
    parser.set_defaults(handler=cmd_dispatch)


def cmd_dispatch(args: argparse.Namespace) -> int:
    """Run the dispatcher of the runs directory until nothing waits; exit 0."""
    from mnist_lab.execution.dispatcher import run_dispatcher

    run_dispatcher(RunStore())
    return 0


def add_runs_parser(subparsers: argparse._SubParsersAction) -> None:
    """``runs``: list the runs in the runs directory."""
    parser = subparsers.add_parser("runs", help="list runs, newest first")
    parser.set_defaults(handler=cmd_runs)


def cmd_runs(args: argparse.Namespace) -> int:
    """Print one line per run: id, state, engine/label, test accuracy; why, if damaged."""
    store = RunStore()
    runs = store.list()
    if not runs:
        print(f"No runs yet in {store.root}.")
        return 0
    print(f"{'id':<44} {'state':<12} {'what':<22} test acc")
    for run in runs:
        status = run.status()
        state, reason = status["state"], status.get("error")
        try:
            label = str(run.config().get("label", run.config().get("engine", "?")))
            evaluation = run.evaluation()
        except ValueError as error:
            label, evaluation = "?", None
            state, reason = DAMAGED, reason or str(error)
        accuracy = f"{evaluation['test_accuracy']:.4f}" if evaluation else "-"
        why = f"  ({reason})" if state == DAMAGED else ""
        print(f"{run.id:<44} {state:<12} {label[:22]:<22} {accuracy}{why}")
    return 0


def add_settings_flags(parser: argparse.ArgumentParser, engines: list[Engine]) -> None:
    """One flag per declared setting of ``engines`` (a setting they share gets one flag).

    Every flag defaults to None, so that a ``--config`` file's values hold unless a flag
    overrides them, and the engine's declared defaults fill in the rest.
    """
    seen = set()
    for engine in engines:
        for name, declaration in engine.settings_class.declared().items():
            if name in seen:
                continue
            seen.add(name)
            flags = [declaration.cli_flag]
            if declaration.cli_flag != "--" + name.replace("_", "-"):
                flags.append("--" + name.replace("_", "-"))
            # argparse formats help with %: a literal percent sign must be doubled.
            allowed = f"Allowed: {declaration.allowed()}. Default: {declaration.default}."
            text = f"{declaration.help} {allowed}".strip().replace("%", "%%")
            if declaration.kind is bool:
                parser.add_argument(
                    *flags, dest=name, action=argparse.BooleanOptionalAction, help=text
                )
            elif declaration.kind is list:
                parser.add_argument(*flags, dest=name, metavar="JSON", help=text)
            else:
                parser.add_argument(*flags, dest=name, type=declaration.kind, help=text)


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


def add_launch_flags(parser: argparse.ArgumentParser, engines: list[Engine]) -> None:
    """The flags every launching subcommand shares: settings, config file, name, reuse."""
    parser.add_argument("--config", help="JSON file of settings (e.g. another run's config.json)")
    add_settings_flags(parser, engines)
    parser.add_argument("--name", help="display name of the run")
    parser.add_argument(
        "--force", action="store_true", help="train even if a finished run has the same settings"
    )
    parser.add_argument(
        "--cluster", help=f"train on a Ray cluster's HOST:PORT (default ${CLUSTER_ENV}: none)"
    )
    parser.set_defaults(handler=cmd_train)


@dataclass(frozen=True)
class LaunchRequest:
    """What a ``train`` command asks for: the engine, its validated settings, the run name."""

    engine: Engine
    settings: Settings
    name: str | None


def _read_config_file(path: str) -> dict:
    """A ``--config`` file's JSON object, or a ``ValueError`` that says what is wrong."""
    try:
        return read_json(path)
    except OSError as error:
        raise ValueError(f"--config {path}: cannot read it ({error.strerror})") from None


def requested_values(args: argparse.Namespace) -> tuple[Engine, dict]:
    """The engine and the settings that ``--config`` (if any) and the flags give, unvalidated.

    Raises
    ------
    ValueError
        If the config file is unreadable, a flag is not a setting of the chosen engine, or
        ``--layers`` is not JSON or contradicts ``--preset``.
    """
    values = _read_config_file(args.config) if args.config else {}
    chosen = getattr(args, "engine", None)
    if chosen and values.get("engine", chosen) != chosen:
        raise ValueError(f"--engine {chosen} contradicts the config file's {values['engine']!r}")
    engine = get_engine(chosen or values.get("engine") or DEFAULT_ENGINE)
    declared = engine.settings_class.declared()
    flag_names = {n for e in all_engines() for n in e.settings_class.declared()}
    # A subcommand for one engine has only that engine's flags.
    given = {n: getattr(args, n) for n in flag_names if getattr(args, n, None) is not None}
    foreign = sorted(name for name in given if name not in declared)
    if foreign:
        flags = [f"--{name.replace('_', '-')}" for name in foreign]
        raise ValueError(
            f"{', '.join(flags)}: not a setting of engine {engine.name!r}. {engine.description} "
            f"It takes: {', '.join(d.cli_flag for d in declared.values())}"
        )
    if "layers" in given:
        if given.get("preset", CUSTOM) != CUSTOM:
            raise ValueError("give --preset or --layers, not both (--layers trains custom layers)")
        try:
            given.update(preset=CUSTOM, layers=json.loads(given["layers"]))
        except json.JSONDecodeError as error:
            raise ValueError(f"--layers is not valid JSON: {error}") from None
    values.update(given)
    return engine, values


def launch_request(args: argparse.Namespace) -> LaunchRequest:
    """The engine and validated settings of ``--config`` (if any) overridden by the flags.

    A preset's recipe fills what neither the file nor the flags chose.

    Raises
    ------
    ValueError
        As `requested_values`, or if a value is invalid.
    """
    engine, values = requested_values(args)
    settings = engine.settings_class.resolve(values)
    return LaunchRequest(engine, settings, args.name or values.get("name"))


def cmd_train(args: argparse.Namespace) -> int:
    """Launch the training worker, follow it, and print the test result and run directory.

    A launch with the settings of a finished run of an engine that `reuses_finished_runs`
    is answered from that run (``--force`` trains anyway). Returns 0 when the run finished
    or was stopped on request, 1 otherwise.
    """
    request = launch_request(args)
    config = request.settings.to_dict()
    store = RunStore()
    stored = None
    if request.engine.reuses_finished_runs and not args.force:
        stored = store.find_finished(config)
    if stored is not None:
        print(f"Answered from stored run {stored.id} with the same settings (--force retrains).")
        print(stored.status().get("message", ""))
        run, state = stored, "finished"
    else:
        # Connect first: an unreachable cluster is a message, and leaves no run behind.
        executor = executor_for(store, args.cluster)
        run = store.create(config, name=request.name)
        executor.launch(run)
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


def add_baseline_parser(subparsers: argparse._SubParsersAction) -> None:
    """``baseline``: ``train --engine sklearn``, answered from a stored run if one matches."""
    baseline = next(engine for engine in all_engines() if engine.is_baseline)
    parser = subparsers.add_parser("baseline", help=f"fit the {baseline.title.lower()} as a run")
    add_launch_flags(parser, [baseline])
    parser.set_defaults(engine=baseline.name)


def add_dataset_parser(subparsers: argparse._SubParsersAction) -> None:
    """``dataset add FILE... --name NAME [--classes a,b,c]`` and ``dataset list``."""
    parser = subparsers.add_parser("dataset", help="add your own dataset, or list them")
    actions = parser.add_subparsers(dest="dataset_command", required=True)
    add = actions.add_parser(
        "add",
        help="check and store a Keras-style .npz or the four IDX files (gzipped or not)",
    )
    add.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="one .npz (x_train, y_train, x_test, y_test) or the four IDX files, named like "
        "train-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz",
    )
    add.add_argument("--name", required=True, help="the name to train on it with --dataset")
    add.add_argument(
        "--classes", help="class names in label order, separated by commas (default: the labels)"
    )
    add.set_defaults(handler=cmd_dataset_add)
    listing = actions.add_parser("list", help="list the datasets runs can train on")
    listing.set_defaults(handler=cmd_dataset_list)


def cmd_dataset_add(args: argparse.Namespace) -> int:
    """Store the dataset of ``args.files`` under ``args.name``; print what was stored; 0."""
    info = DatasetStore(RunStore().root).add_files(args.files, args.name, args.classes)
    print(
        f"Stored {info.name!r}: {info.n_train:,} training and {info.n_test:,} test images, "
        f"{info.n_classes} classes ({', '.join(info.class_names)}), SHA-256 {info.sha256[:12]}. "
        f"Train on it with: python -m mnist_lab train --dataset {shlex.quote(info.name)}"
    )
    return 0


def cmd_dataset_list(args: argparse.Namespace) -> int:
    """Print MNIST and every stored dataset: name, counts, classes, hash; return 0."""
    print(f"{'name':<40} {'train':>7} {'test':>7}  {'sha256':<12}  classes")
    print(f"{MNIST:<40} {60_000:>7,} {10_000:>7,}  {EMBEDDED_SHA256[:12]}  0-9 (embedded)")
    for info in DatasetStore(RunStore().root).list():
        print(
            f"{info.name:<40} {info.n_train:>7,} {info.n_test:>7,}  {info.sha256[:12]}  "
            + ", ".join(info.class_names)
        )
    return 0


def add_export_parser(subparsers: argparse._SubParsersAction) -> None:
    """``export RUN_ID``: a run as a standalone script or notebook that retrains it."""
    parser = subparsers.add_parser(
        "export", help="write a run as standalone Keras, NumPy or scikit-learn code"
    )
    parser.add_argument("run_id", help="the run's id (`python -m mnist_lab runs` lists them)")
    parser.add_argument(
        "--format",
        choices=list(EXPORT_FORMATS),
        default="script",
        help="a Python script (the default) or a Jupyter notebook",
    )
    parser.add_argument("-o", "--output", help="the file to write (default: print the code)")
    parser.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the run's code to ``--output``, or print it; return 0."""
    try:
        run = RunStore().get(args.run_id)
    except KeyError as error:
        raise ValueError(error.args[0]) from None
    text = export_run(run, args.format)
    if args.output is None:
        print(text, end="")
        return 0
    try:
        Path(args.output).write_text(text)
    except OSError as error:
        raise ValueError(f"cannot write {args.output}: {error.strerror}") from None
    print(
        f"Wrote run {run.id} as a {args.format} to {args.output}. It retrains the run and "
        f"prints its test accuracy; offline, set {NPZ_ENV} to a local mnist.npz."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m mnist_lab",
        description="MNIST Lab: train and inspect models on MNIST (or your own dataset) from "
        "the command line.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    from mnist_lab.sweeps.command import add_sweep_driver_parser, add_sweep_parser

    for add_parser in (
        add_runs_parser,
        add_train_parser,
        add_worker_parser,
        add_dispatch_parser,
        add_baseline_parser,
        add_export_parser,
        add_dataset_parser,
        add_sweep_parser,
        add_sweep_driver_parser,
    ):
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
    except OSError as error:
        from mnist_lab.execution.worker import describe_failure

        print(f"error: {describe_failure(error)}", file=sys.stderr)
        return 2
