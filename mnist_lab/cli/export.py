"""``export RUN_ID``: a run as a standalone script or notebook that retrains it."""

from __future__ import annotations

import argparse
from pathlib import Path

from mnist_lab.engines.code import NPZ_ENV
from mnist_lab.export import EXPORT_FORMATS, export_run
from mnist_lab.runs import RunStore


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
