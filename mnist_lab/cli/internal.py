"""What the lab starts in the background: ``worker``, ``dispatch`` and ``sweep-driver``."""

from __future__ import annotations

import argparse

from mnist_lab.runs import RunStore
from mnist_lab.sweeps.driver import run_sweep
from mnist_lab.sweeps.store import SweepStore


def add_worker_parser(subparsers: argparse._SubParsersAction) -> None:
    """``worker --run-dir DIR``: train one run directory (started by the dashboard and CLI)."""
    parser = subparsers.add_parser("worker", help="train one run directory (used internally)")
    parser.add_argument("--run-dir", required=True, help="the run directory to train")
    parser.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the worker; exit 0 unless the run failed (2 if another worker holds it)."""
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


def add_sweep_driver_parser(subparsers: argparse._SubParsersAction) -> None:
    """``sweep-driver SWEEP_ID``: drive a stored sweep (started by the Sweeps page)."""
    parser = subparsers.add_parser("sweep-driver", help="drive a stored sweep (used internally)")
    parser.add_argument("sweep_id")
    parser.set_defaults(handler=cmd_sweep_driver)


def cmd_sweep_driver(args: argparse.Namespace) -> int:
    """Drive the sweep; exit 0 once every trial ended."""
    try:
        sweep = SweepStore(RunStore()).get(args.sweep_id)
    except KeyError as error:
        raise ValueError(error.args[0]) from None
    return 0 if run_sweep(sweep, report=lambda line: print(line, flush=True)) == "finished" else 1
