"""Benchmark: every row of the MNIST table trained with the lab's recipe, beside the papers.

Each reproducible row of `mnist_lab.mnist_table.ROWS` trains as an ordinary run, in a fresh
worker process (``python -m mnist_lab worker``) as the queue would start it, on all 60,000
training digits; then one table is printed: the published test error, the measured one
(median and worst of the seeds), the training time (the worker's time less the test
predictions), the prediction time per 1,000 test digits and the model's size.

Usage::

    python -m benchmarks.bench_table                      # every row, all 60,000 digits
    python -m benchmarks.bench_table --subset 2000        # a smoke test in a few minutes
    python -m benchmarks.bench_table --rows svm lenet-5 --seeds 3   # median / worst of 3

The runs are kept in a temporary directory unless ``--runs-dir`` names one (then the table
page can read them too).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

from mnist_lab.mnist_table import (
    ROW,
    ROWS,
    Reproduction,
    format_bytes,
    format_error,
    format_seconds,
    reproduction_of,
)
from mnist_lab.runs import RunStore

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPRODUCIBLE = [row.key for row in ROWS if row.recipe is not None]


def train(store: RunStore, key: str, subset: int | None, seed: int) -> Reproduction | None:
    """Train row ``key`` with ``seed`` in a fresh worker process; its figures, None if it failed."""
    config = {**ROW[key].config(subset), "seed": seed}
    run = store.create(config, name=f"bench {key} seed {seed}")
    subprocess.run(
        [sys.executable, "-m", "mnist_lab", "worker", "--run-dir", str(run.path)],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    figures = reproduction_of(run)
    state = run.status()["state"]
    print(f"{key} seed {seed}: {state} ({run.status().get('message', '')})", flush=True)
    return figures


def median_of(values: list[float | None]) -> float | None:
    """The median of the known values; None if none is known."""
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def table_line(key: str, tries: list[Reproduction]) -> str:
    """One markdown row: published, measured (median / worst), times and size."""
    row = ROW[key]
    if not tries:
        return f"| {row.title} | {format_error(row.published_error)} | failed | | | |"
    errors = [r.test_error for r in tries]
    measured = format_error(statistics.median(errors))
    if len(tries) > 1:
        measured += f" / {format_error(max(errors))}"
    return (
        f"| {row.title} | {format_error(row.published_error)} | **{measured}** | "
        f"{format_seconds(median_of([r.training_s for r in tries]))} | "
        f"{format_seconds(median_of([r.predict_s_per_1000 for r in tries]))} | "
        f"{format_bytes(tries[0].model_bytes)} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Train the chosen rows, then print the table; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, help="train on this many digits (smoke test)")
    parser.add_argument("--rows", nargs="+", choices=REPRODUCIBLE, default=REPRODUCIBLE)
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0, 1, ... per row")
    parser.add_argument("--runs-dir", help="keep the runs here (default: a temporary directory)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        store = RunStore(args.runs_dir or temporary)
        results = {
            key: [
                figures
                for seed in range(args.seeds)
                if (figures := train(store, key, args.subset, seed)) is not None
            ]
            for key in args.rows
        }
    digits = f"{args.subset:,}" if args.subset else "all 60,000"
    seeds = "one seed" if args.seeds == 1 else f"median / worst of {args.seeds} seeds"
    print(f"\nThe MNIST table, the lab's recipes on {digits} training digits ({seeds}):\n")
    print("| row | published | measured | training | predicting 1,000 | model |")
    print("|---|---|---|---|---|---|")
    for key, tries in results.items():
        print(table_line(key, tries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
