"""``table``: the MNIST table, published errors beside the lab's runs; ``--run`` trains it."""

from __future__ import annotations

import argparse
import time

from mnist_lab import mnist_table
from mnist_lab.cli.train import progress_bar
from mnist_lab.runs import Run, RunStore
from mnist_lab.status import LIVE_STATES


def add_table_parser(subparsers: argparse._SubParsersAction) -> None:
    """``table``: print the MNIST table; ``--run`` queues its missing rows and waits."""
    parser = subparsers.add_parser(
        "table", help="the MNIST table: published errors beside the lab's runs"
    )
    parser.add_argument(
        "--run",
        action="store_true",
        help="queue every row without a finished or live run, wait for them, then print",
    )
    parser.add_argument(
        "--subset",
        type=int,
        help="the recipes on this many training digits (a quick try) instead of all 60,000",
    )
    parser.add_argument(
        "--poll", type=float, default=2.0, help="seconds between two looks at the runs"
    )
    parser.set_defaults(handler=cmd_table)


def table_text(entries: list[mnist_table.TableEntry]) -> str:
    """The table as aligned text, one line per row, then each lab recipe's difference.

    Examples
    --------
    >>> print(table_text([]).splitlines()[0].split())  # doctest: +NORMALIZE_WHITESPACE
    ['method', 'preprocessing', 'published', 'source', 'lab', 'training', 'predict', '/',
     '1,000', 'model', 'size', 'run']
    """
    cells = [mnist_table.entry_cells(entry) for entry in entries]
    widths = {
        column: max([len(column), *(len(row[column]) for row in cells)])
        for column in mnist_table.COLUMNS
    }
    lines = [
        "  ".join(f"{text:<{widths[column]}}" for column, text in row.items()).rstrip()
        for row in [dict(zip(widths, widths, strict=True)), *cells]
    ]
    notes = [f"{entry.row.title}: {entry.row.note}" for entry in entries if entry.row.note]
    return "\n".join([*lines, "", *notes]) if notes else "\n".join(lines)


def cmd_table(args: argparse.Namespace) -> int:
    """Print the table; with ``--run``, first queue the missing rows and follow them.

    Returns 0, or 1 when a run it followed did not finish.
    """
    store = RunStore()
    state = 0
    if args.run:
        launched = mnist_table.queue_missing(store, subset=args.subset)
        live = [entry.live for entry in mnist_table.table(store, args.subset) if entry.live]
        runs = list({run.id: run for run in [*(item.run for item in launched), *live]}.values())
        print(f"Queued {len(launched)} row(s); waiting for {len(runs)} run(s).", flush=True)
        state = 0 if follow_runs(runs, args.poll) else 1
    print(table_text(mnist_table.table(store, args.subset)))
    return state


def follow_runs(runs: list[Run], poll_s: float) -> bool:
    """Print a line whenever a run's progress or state changes, until all have ended.

    Ctrl-C stops following (the runs go on training). Returns whether every run finished.
    """
    shown: dict[str, str] = {}
    try:
        while True:
            statuses = {run.id: run.status() for run in runs}
            for run in runs:
                line = f"{run.name}: {statuses[run.id]['state']} {progress_bar(statuses[run.id])}"
                if shown.get(run.id) != line:
                    print(line, flush=True)
                    shown[run.id] = line
            if all(status["state"] not in LIVE_STATES for status in statuses.values()):
                return all(status["state"] == "finished" for status in statuses.values())
            time.sleep(poll_s)
    except KeyboardInterrupt:
        print("Stopped following; the runs go on training (see `python -m mnist_lab runs`).")
        return False
