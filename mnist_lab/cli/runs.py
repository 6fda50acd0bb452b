"""``runs``: the runs of the runs directory, one line each."""

from __future__ import annotations

import argparse

from mnist_lab.execution.dispatcher import resume_queue
from mnist_lab.runs import RunStore
from mnist_lab.status import DAMAGED


def add_runs_parser(subparsers: argparse._SubParsersAction) -> None:
    """``runs``: list the runs in the runs directory."""
    parser = subparsers.add_parser("runs", help="list runs, newest first")
    parser.set_defaults(handler=cmd_runs)


def cmd_runs(args: argparse.Namespace) -> int:
    """Print one line per run: id, state, engine/label, test accuracy; why, if damaged.

    Runs waiting in the local queue are started again if no dispatcher runs (one was killed).
    """
    store = RunStore()
    resume_queue(store)
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
