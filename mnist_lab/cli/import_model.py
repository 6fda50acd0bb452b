"""``import-model FILE.keras --name NAME``: a model trained elsewhere as a finished run."""

from __future__ import annotations

import argparse

from mnist_lab.data import EMBEDDED_NAME
from mnist_lab.engines import get_engine
from mnist_lab.preprocess import NORMALIZATIONS
from mnist_lab.runs import RunStore


def add_import_model_parser(subparsers: argparse._SubParsersAction) -> None:
    """``import-model FILE``: evaluate a saved Keras model and keep it as a run."""
    parser = subparsers.add_parser(
        "import-model",
        help="bring a trained Keras model (.keras or .h5) into the lab as a finished run",
    )
    parser.add_argument("file", help="the model file (loaded with safe_mode=True, at most 64 MB)")
    parser.add_argument("--name", required=True, help="the run's name")
    parser.add_argument(
        "--normalization",
        choices=list(NORMALIZATIONS),
        default="scale",
        help="how the model's inputs were made from 0-255 pixels (default scale: /255)",
    )
    parser.add_argument(
        "--dataset",
        default=EMBEDDED_NAME,
        help=f"the dataset whose test split judges it (default {EMBEDDED_NAME})",
    )
    parser.add_argument("--owner", help="who trained it (default $MNIST_LAB_USER)")
    parser.set_defaults(handler=cmd_import_model)


def cmd_import_model(args: argparse.Namespace) -> int:
    """Import the file, print the run's id and test accuracy; return 0."""
    run = get_engine("external").import_file(
        RunStore(),
        args.file,
        name=args.name,
        normalization=args.normalization,
        dataset=args.dataset,
        owner=args.owner,
    )
    accuracy = run.evaluation()["test_accuracy"]
    print(f"Imported {args.file} as run {run.id}: test accuracy {accuracy:.2%}.")
    return 0
