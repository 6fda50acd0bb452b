"""What does a sweep cost beyond its training? A 12-trial sweep, here and on a Ray cluster.

Prints one table::

    python -m benchmarks.bench_sweep                 # mlp-relu, 5,000 digits, 2 epochs
    python -m benchmarks.bench_sweep --where local   # skip the cluster

The sweep is a 4 x 3 grid (learning rate x batch size) of the mlp-relu preset, two trials at
once, run by the same driver as ``python -m mnist_lab sweep``: once on this machine, once on
a real two-node Ray cluster on loopback (two ``ray start`` processes, one CPU each; see
``tests/ray_loopback.py``). Each row runs in a fresh process. For each trial the overhead is
the time from its launch until the driver saw it end, minus the training time its own epoch
records report (``elapsed_s``): starting the worker (or the Ray task), importing TensorFlow,
loading MNIST, the test evaluation, mirroring the files and the polling. The driver's
memory is its peak resident size: the server's share when the Sweeps page starts it.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mnist_lab import records
from mnist_lab.engines import get_engine
from mnist_lab.runs import RunStore
from mnist_lab.sweeps.driver import run_sweep
from mnist_lab.sweeps.space import parse_parameter
from mnist_lab.sweeps.store import SweepDefinition, SweepStore

GRID = ("learning_rate=0.0003,0.001,0.003,0.01", "batch_size=32,64,128")


def sweep_row(parallel: int, subset: int, epochs: int, cluster: str | None = None) -> dict:
    """Run the 12-trial sweep ``parallel`` at a time; wall time, overheads, accuracy."""
    declared = get_engine("keras").settings_class.declared()
    definition = SweepDefinition(
        engine="keras",
        base={"preset": "mlp-relu", "subset": subset, "epochs": epochs},
        parameters=[parse_parameter(text, declared) for text in GRID],
        parallel=parallel,
        cluster=cluster,
        name=f"bench parallel {parallel}",
    ).validate()
    sweep = SweepStore(RunStore(tempfile.mkdtemp())).create(definition)
    launched, ended = {}, {}

    def note(line: str) -> None:
        # The driver reports a launch and an end as they happen: time them here.
        now = time.monotonic()
        if line.startswith("Launched"):
            launched[line.rsplit("(", 1)[1].rstrip(")")] = now
        elif line.startswith("["):
            ended[line.split(": ", 1)[1].rsplit(" (test accuracy", 1)[0]] = now

    start = time.monotonic()
    state = run_sweep(sweep, poll_s=0.2, report=note)
    wall = time.monotonic() - start
    overheads, accuracies = [], []
    for run in sweep.runs():
        epochs_logged = records.of_kind(run.metrics(), "epoch")
        overheads.append(ended[run.name] - launched[run.id] - epochs_logged[-1]["elapsed_s"])
        accuracies.append(run.evaluation()["test_accuracy"])
    return {
        "where": "two-node Ray cluster (loopback)" if cluster else "this machine",
        "parallel": parallel,
        "state": state,
        "wall_s": wall,
        "overhead_s": statistics.median(overheads),
        "overhead_max_s": max(overheads),
        "best": max(accuracies),
        "driver_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def one_row(where: str, parallel: int, subset: int, epochs: int) -> dict:
    """The row of ``where`` (``local`` or ``cluster``), starting the loopback cluster if needed."""
    if where == "local":
        return sweep_row(parallel, subset, epochs)
    from tests.ray_loopback import start_loopback_cluster, stop_loopback_cluster

    cluster = start_loopback_cluster(Path(tempfile.mkdtemp(prefix="bench-ray-")))
    try:
        return sweep_row(parallel, subset, epochs, cluster=cluster.address)
    finally:
        import ray

        ray.shutdown()
        stop_loopback_cluster(cluster)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--where", nargs="+", choices=["local", "cluster"], default=["local", "cluster"]
    )
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--subset", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--row", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.row:
        print(json.dumps(one_row(args.where[0], args.parallel, args.subset, args.epochs)))
        return
    print(
        "| where | trials at once | wall time | overhead per trial (median / worst) "
        "| best test accuracy | driver memory |"
    )
    print("|---|---|---|---|---|---|")
    for where in args.where:
        # A fresh process per row, so each peak memory is its own.
        flags = ["--where", where, "--parallel", str(args.parallel), "--subset", str(args.subset)]
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_sweep",
                "--row",
                *flags,
                "--epochs",
                str(args.epochs),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        row = json.loads(output.strip().splitlines()[-1])
        print(
            f"| {row['where']} | {row['parallel']} | {row['wall_s']:.1f} s "
            f"| {row['overhead_s']:.1f} s / {row['overhead_max_s']:.1f} s "
            f"| {row['best']:.2%} | {row['driver_mib']:.0f} MiB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
