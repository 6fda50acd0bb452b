"""Many runs: how the pages that list runs cope with a class's afternoon of runs.

Builds N realistic finished runs in a temporary runs directory, through the lab's own
writers (`RunStore.create`, `Run.append_metrics` with `records.epoch_record`,
`evaluation.write_evaluation` on the 10,000 test digits, `Run.update_status`), owned by
thirty students. Then, for each page, a fresh Python process (a fresh server: cold caches)
opens the page with AppTest, reruns it a few times, and reports the first open, the median
rerun (wall seconds, and CPU seconds in brackets: steadier on a shared machine) and its
resident memory. Asserts nothing.

    .venv/bin/python -m benchmarks.bench_many_runs [--runs 500 2000] [--pages compare classroom]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("compare", "classroom", "home", "evaluate")
RERUNS = 5
STUDENTS = 30
TEACHER_KEY = "bench-key"
# What students train (engine, settings): a few presets of the network engine, the baseline.
CHOICES = (
    ("keras", {"preset": "mlp-relu", "optimizer": "adam", "learning_rate": 0.001}),
    ("keras", {"preset": "mlp-sigmoid", "optimizer": "sgd", "learning_rate": 0.1}),
    ("keras", {"preset": "simple-cnn", "optimizer": "adam", "learning_rate": 0.003}),
    ("sklearn", {}),
)
EPOCHS = 3


def fake_probabilities(y_true: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Probabilities right on all but a random 2-15% of the digits."""
    wrong = rng.random(len(y_true)) < rng.uniform(0.02, 0.15)
    predicted = np.where(wrong, (y_true + 1) % 10, y_true)
    confidence = rng.uniform(0.4, 0.99, len(y_true))
    probabilities = np.repeat(((1 - confidence) / 9)[:, None], 10, axis=1)
    probabilities[np.arange(len(y_true)), predicted] = confidence
    return probabilities


def build_runs(root: Path, n_runs: int, seed: int = 0) -> None:
    """Write ``n_runs`` finished runs of thirty students into ``root``."""
    from mnist_lab import records
    from mnist_lab.data import load_mnist
    from mnist_lab.engines import get_engine
    from mnist_lab.evaluation import write_evaluation
    from mnist_lab.runs import RunStore

    store, rng = RunStore(root), np.random.default_rng(seed)
    y_test = load_mnist().y_test
    configs = [
        get_engine(engine).settings_class.from_dict(chosen).to_dict()
        | ({"epochs": EPOCHS} if engine == "keras" else {})
        for engine, chosen in CHOICES
    ]
    for index in range(n_runs):
        config = configs[index % len(configs)]
        owner = f"student-{index % STUDENTS:02d}"
        run = store.create(config, name=f"run {index}", owner=owner)
        for epoch in range(1, EPOCHS + 1):
            run.append_metrics(
                records.epoch_record(
                    epoch=epoch,
                    step=epoch * 430,
                    loss=1 / epoch,
                    accuracy=1 - 0.1 / epoch,
                    val_loss=1.1 / epoch,
                    val_accuracy=1 - 0.12 / epoch,
                    lr=0.001,
                    samples_per_s=5000.0,
                    elapsed_s=11.0 * epoch,
                )
            )
        write_evaluation(run, y_test, fake_probabilities(y_test, rng))
        run.update_status(
            state="finished",
            started="2026-01-01T10:00:00+00:00",
            ended="2026-01-01T10:00:40+00:00",
            message="Done.",
        )


def rss_mib() -> float:
    """This process's resident memory now, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_page(page: str) -> dict:
    """Open ``pages/<page>.py`` once and rerun it `RERUNS` times (in this process)."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=600)
    app.session_state["identity_teacher"] = True
    first, first_cpu = timed(app.run)
    reruns = [timed(app.run) for _ in range(RERUNS)]
    errors = [str(error.value)[:200] for error in app.exception]
    return {
        "first_s": first,
        "first_cpu_s": first_cpu,
        "rerun_s": statistics.median(wall for wall, _ in reruns),
        "rerun_cpu_s": statistics.median(cpu for _, cpu in reruns),
        "rss_mib": rss_mib(),
        "errors": errors,
    }


def timed(action) -> tuple[float, float]:
    """Wall and CPU seconds of ``action()``: on a shared machine the CPU time is the steadier.

    AppTest runs the page in a thread of this process, so the process's CPU time counts it.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure_in_fresh_process(runs_dir: Path, page: str) -> dict:
    """`measure_page` in a new interpreter, so every page starts with cold caches."""
    environment = dict(os.environ, MNIST_LAB_RUNS_DIR=str(runs_dir), PYTHONPATH=str(ROOT))
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_many_runs", "--measure", page],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES))
    parser.add_argument("--measure", choices=PAGES, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure_page(arguments.measure)))
        return
    print(
        f"{'runs':>5}  {'page':<10}  {'first open s (CPU)':>18}  {'per rerun s (CPU)':>17}"
        f"  {'RSS MiB':>8}"
    )
    for n_runs in arguments.runs:
        with tempfile.TemporaryDirectory(prefix="bench-many-runs-") as runs_dir:
            start = time.perf_counter()
            build_runs(Path(runs_dir), n_runs)
            built_s = time.perf_counter() - start
            for page in arguments.pages:
                row = measure_in_fresh_process(Path(runs_dir), page)
                first = f"{row['first_s']:.2f} ({row['first_cpu_s']:.2f})"
                rerun = f"{row['rerun_s']:.2f} ({row['rerun_cpu_s']:.2f})"
                print(
                    f"{n_runs:>5}  {page:<10}  {first:>18}  {rerun:>17}  {row['rss_mib']:>8.0f}"
                    + (f"  errors: {row['errors']}" if row["errors"] else ""),
                    flush=True,
                )
            print(f"({n_runs} runs built in {built_s:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
