"""``python -m mnist_lab``: train, list runs, and the worker the dashboard starts.

Each subcommand has an ``add_<name>_parser`` that declares its flags and a ``cmd_<name>``
that runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys

from mnist_lab.runs import RunStore


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


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m mnist_lab",
        description="MNIST Lab: train and inspect models on MNIST from the command line.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add_parser in (add_runs_parser, add_worker_parser):
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
