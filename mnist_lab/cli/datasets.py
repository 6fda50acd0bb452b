"""``dataset add`` and ``dataset list``: users' own datasets, beside MNIST."""

from __future__ import annotations

import argparse
import shlex

from mnist_lab.data import EMBEDDED_NAME as MNIST
from mnist_lab.data import EMBEDDED_SHA256
from mnist_lab.datasets import DatasetStore
from mnist_lab.runs import RunStore


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
