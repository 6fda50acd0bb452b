"""Time every explanation view on full-data runs of each engine.

Run from the repository root: ``.venv/bin/python -m benchmarks.bench_explain``. Trains the
baseline, the NumPy network, an MLP and the fast CNN on all 60,000 digits (a minute or two),
or reuses the finished runs of ``--runs-dir``, then prints one table of seconds per view: what
a page waits for the first time (the pages cache every result afterwards). Models are loaded
once beforehand, as the pages' cache does.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mnist_lab.data import MnistDataset, load_mnist
from mnist_lab.engines import engine_of
from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.evaluation import load_predictions
from mnist_lab.execution.worker import run_worker
from mnist_lab.explain import adversarial, label_issues, robustness, saliency
from mnist_lab.explain.calibration import calibration
from mnist_lab.runs import Run, RunStore

DIGITS = 10
RUNS = {
    "baseline": LogregSettings(normalization="scale"),
    "numpy": NumpyNetSettings(epochs=5),
    "mlp": KerasSettings(preset="mlp-relu", epochs=5),
    "cnn": KerasSettings(preset="fast-cnn", **KerasSettings.recommended({"preset": "fast-cnn"})),
}


def median_seconds(action: Callable[[int], object], repeat: int = DIGITS) -> float:
    """Median wall time of ``action(i)`` for ``i`` in ``range(repeat)``."""
    times = []
    for index in range(repeat):
        start = time.perf_counter()
        action(index)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def view_seconds(run: Run, model, dataset: MnistDataset) -> dict[str, float]:
    """Seconds of each per-run view of ``run``: median over test digits where per digit."""
    digits, labels = dataset.x_test[:DIGITS], dataset.y_test[:DIGITS]
    # Warm up: the first call into TensorFlow traces and allocates.
    saliency.saliency(run, digits[0], 0, "gradient-x-input", model=model)
    timings = {}
    for method in saliency.available_methods(engine_of(run)):
        timings[f"saliency: {saliency.METHODS[method].title}"] = median_seconds(
            lambda i, method=method: saliency.saliency(
                run, digits[i], int(labels[i]), method, model=model
            )
        )
    timings["adversarial digit (smallest change)"] = median_seconds(
        lambda i: adversarial.smallest_attack(
            run, digits[i], (int(labels[i]) + 1) % 10, model=model
        )
    )
    timings["calibration (10,000 test predictions)"] = median_seconds(
        lambda i: calibration(*load_predictions(run)), repeat=3
    )
    images, sample_labels = robustness.robustness_sample(dataset)
    started = time.perf_counter()
    robustness.robustness_curves(run, images, sample_labels, model=model)
    timings[f"robustness curves ({len(images):,} digits, 26 settings)"] = (
        time.perf_counter() - started
    )
    return timings


def trained_runs(store: RunStore) -> dict:
    """The benchmark's runs by key: finished ones of ``store`` named ``bench <key>``, or new."""
    found = {run.name: run for run in store.list() if run.status()["state"] == "finished"}
    runs = {}
    for key, settings in RUNS.items():
        run = found.get(f"bench {key}")
        if run is None:
            run = store.create(settings.validate().to_dict(), name=f"bench {key}")
            started = time.perf_counter()
            outcome = run_worker(run.path)
            print(f"training {key}: {outcome} in {time.perf_counter() - started:.0f} s")
        runs[key] = run
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, help="reuse (or keep) the runs here")
    arguments = parser.parse_args()
    store = RunStore(arguments.runs_dir or tempfile.mkdtemp(prefix="bench-explain-"))
    runs = trained_runs(store)
    dataset = load_mnist()
    models = {key: engine_of(run).load_model(run) for key, run in runs.items()}
    rows = {key: view_seconds(run, models[key], dataset) for key, run in runs.items()}
    started = time.perf_counter()
    label_issues.label_issues_of_test_set(
        dataset.y_test, {key: load_predictions(run)[1] for key, run in runs.items()}
    )
    test_issues = time.perf_counter() - started
    baseline = runs["baseline"]
    baseline.file(label_issues.LABEL_ISSUES_FILE).unlink(missing_ok=True)
    started = time.perf_counter()
    found = label_issues.label_issues_of_training_set(baseline, dataset)
    training_issues = time.perf_counter() - started

    views = list(next(iter(rows.values())))
    print(f"\nSeconds per view, median over {DIGITS} test digits where per digit:\n")
    print("| view | " + " | ".join(rows) + " |")
    print("|---|" + "---|" * len(rows))
    for view in views:
        cells = [f"{rows[key][view]:.3f}" if view in rows[key] else "-" for key in rows]
        print(f"| {view} | " + " | ".join(cells) + " |")
    print(f"\nSuspicious test labels, judged by the {len(runs)} runs: {test_issues:.2f} s")
    print(
        f"Suspicious training labels, {label_issues.FOLDS}-fold cross-validation on "
        f"{found.n_checked:,} digits: {training_issues:.1f} s "
        f"(disputed: {found.n_disputed:,}, confidently: {found.n_confident:,})"
    )


if __name__ == "__main__":
    main()
