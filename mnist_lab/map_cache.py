"""Slow 2-D maps of the digits (t-SNE, UMAP): computed once, in a child process, kept on disk.

A t-SNE map of a few thousand digits takes 20-90 s on two cores, too long to hold a page
(or a second session asking for the same map) in a spinner. `start_map_job` runs
`mnist_lab.stats.project_2d` in ``python -m mnist_lab.map_cache``, which writes its progress
to ``<map>.log`` (scikit-learn's own t-SNE iteration lines, read by `map_progress`) and the
map to ``<map>.npz`` (plain arrays, read back with ``allow_pickle=False``). Every later
request, from any session and after a restart of the server, reads the file. Maps live
under ``<runs directory>/.cache/maps``, one file per dataset, split, method, size and seed.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mnist_lab import stats
from mnist_lab.data import EMBEDDED_SHA256, load_mnist
from mnist_lab.datasets import DatasetStore
from mnist_lab.files import atomic_write_bytes, atomic_write_json
from mnist_lab.processes import process_alive, process_start_time, start_detached
from mnist_lab.runs import default_runs_dir

MAPS_DIR = Path(".cache") / "maps"
COLUMNS = ("index", "digit", "x", "y")
TSNE_ITERATION = re.compile(r"\[t-SNE\] Iteration (\d+)")


@dataclass(frozen=True)
class MapRequest:
    """Which map: of which dataset (its SHA-256), split, method, sample size and seed."""

    sha256: str
    split: str
    method: str
    n_samples: int
    seed: int = 0

    def path(self, root: Path | None = None) -> Path:
        """Where the map is kept under the runs directory ``root`` (the default one if None)."""
        root = Path(root) if root is not None else default_runs_dir()
        name = f"{self.sha256[:16]}-{self.split}-{self.method}-{self.n_samples}-{self.seed}"
        return root / MAPS_DIR / f"{name}.npz"


def load_map(path: Path) -> pd.DataFrame | None:
    """The map stored at ``path``, or None if there is none (or it cannot be read)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return pd.DataFrame({column: archive[column] for column in COLUMNS})
    except (OSError, ValueError, KeyError):
        return None


def save_map(path: Path, points: pd.DataFrame) -> None:
    """Write a map (the table of `mnist_lab.stats.project_2d`) atomically as ``.npz``."""
    buffer = io.BytesIO()
    np.savez(buffer, **{column: points[column].to_numpy() for column in COLUMNS})
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())


def log_path(path: Path) -> Path:
    """The child process's output: t-SNE's progress lines, or its traceback."""
    return path.with_suffix(".log")


def job_path(path: Path) -> Path:
    """The pid (and start time) of the child process computing the map."""
    return path.with_suffix(".job.json")


def map_job_running(path: Path) -> bool:
    """Whether a child process is computing the map at ``path`` right now."""
    try:
        job = json.loads(job_path(path).read_text())
    except (OSError, ValueError):
        return False
    return process_alive(job.get("pid"), job.get("pid_start"))


def map_progress(path: Path) -> tuple[float, str]:
    """How far the computation of the map at ``path`` is: a share done, and in words.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = log_path(folder / "m.npz").write_text("[t-SNE] Iteration 300: error = 1.2\\n")
    >>> map_progress(folder / "m.npz")
    (0.6, 'settling the map: iteration 300 of 500')
    """
    try:
        log = log_path(path).read_text(errors="replace")
    except OSError:
        return 0.0, "starting"
    iterations = [int(found) for found in TSNE_ITERATION.findall(log)]
    if not iterations:
        return 0.0, "finding each digit's nearest neighbours"
    done = max(iterations)
    stage = "pulling clusters apart" if done <= stats.TSNE_ITERATIONS // 2 else "settling the map"
    return (
        min(done / stats.TSNE_ITERATIONS, 1.0),
        f"{stage}: iteration {done} of {stats.TSNE_ITERATIONS}",
    )


def map_failure(path: Path) -> str:
    """The last line the child process wrote: why a map that is not being computed is missing."""
    try:
        lines = log_path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return "the process computing it did not start"
    return lines[-1] if lines else "the process computing it ended without a word"


def start_map_job(request: MapRequest, root: Path | None = None) -> int:
    """Start computing a map in a detached child process; return its pid.

    Its output (t-SNE's progress lines) goes to a fresh `log_path`.
    """
    root = Path(root) if root is not None else default_runs_dir()
    path = request.path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh log: the progress bar must not read an earlier attempt's iterations.
    log_path(path).unlink(missing_ok=True)
    arguments = [
        "--out",
        str(path),
        "--sha256",
        request.sha256,
        "--split",
        request.split,
        "--method",
        request.method,
        "--n-samples",
        str(request.n_samples),
        "--seed",
        str(request.seed),
        "--runs-dir",
        str(root),
    ]
    pid = start_detached(arguments, log_path(path), {}, module="mnist_lab.map_cache")
    atomic_write_json(job_path(path), {"pid": pid, "pid_start": process_start_time(pid)})
    return pid


def main(argv: list[str] | None = None) -> int:
    """``python -m mnist_lab.map_cache``: compute one map of MNIST or a stored dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sha256", required=True)
    parser.add_argument("--split", choices=("train", "test"), required=True)
    parser.add_argument("--method", choices=stats.PROJECTION_METHODS, required=True)
    parser.add_argument("--n-samples", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs-dir", type=Path, help="where users' datasets are stored")
    args = parser.parse_args(argv)
    try:
        if args.sha256 == EMBEDDED_SHA256:
            dataset = load_mnist()
        else:
            dataset = DatasetStore(args.runs_dir or default_runs_dir()).get(args.sha256)
    except (KeyError, ValueError):
        print(f"{args.sha256[:16]} is not the dataset of MNIST nor of a stored dataset")
        return 1
    images, labels = (
        (dataset.x_train, dataset.y_train)
        if args.split == "train"
        else (dataset.x_test, dataset.y_test)
    )
    points = stats.project_2d(
        images, labels, method=args.method, n_samples=args.n_samples, seed=args.seed, verbose=2
    )
    save_map(args.out, points)
    print(f"Saved the map of {len(points)} digits.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
