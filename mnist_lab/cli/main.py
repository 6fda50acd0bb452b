"""The ``python -m mnist_lab`` parser, with every subcommand, and `main`, which runs one."""

from __future__ import annotations

import argparse
import sys

from mnist_lab.cli.assignment import add_assignment_parser
from mnist_lab.cli.datasets import add_dataset_parser
from mnist_lab.cli.export import add_export_parser
from mnist_lab.cli.import_model import add_import_model_parser
from mnist_lab.cli.internal import (
    add_dispatch_parser,
    add_sweep_driver_parser,
    add_worker_parser,
)
from mnist_lab.cli.runs import add_runs_parser
from mnist_lab.cli.sweep import add_sweep_parser
from mnist_lab.cli.table import add_table_parser
from mnist_lab.cli.train import add_baseline_parser, add_train_parser


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m mnist_lab",
        description="MNIST Lab: train and inspect models on MNIST (or your own dataset) from "
        "the command line.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add_parser in (
        add_runs_parser,
        add_train_parser,
        add_worker_parser,
        add_dispatch_parser,
        add_baseline_parser,
        add_export_parser,
        add_import_model_parser,
        add_dataset_parser,
        add_sweep_parser,
        add_sweep_driver_parser,
        add_table_parser,
        add_assignment_parser,
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
