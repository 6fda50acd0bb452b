"""How fast can the logistic-regression baseline fit all 60,000 training images?

Compares scikit-learn's plain ``LogisticRegression(max_iter=1000).fit`` on scaled float64
inputs with faster settings, and with `LogregSettings`'s defaults fitted the way a run fits
them (chunks of iterations with progress reports), then prints one table::

    python -m benchmarks.bench_baseline            # every row
    python -m benchmarks.bench_baseline --chosen   # the plain fit and the defaults only

A setting qualifies when its fit converges and reaches at least 92.5% test accuracy. CPU time
is printed next to wall time because on a shared machine wall time depends on the neighbours.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from mnist_lab.data import load_mnist
from mnist_lab.engines.logreg.fit import fit_logistic, training_inputs
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.preprocess import fit_normalizer

TARGET_ACCURACY = 0.925
# (description, normalization, dtype, C, tol): single fits with no chunking.
CANDIDATES = [
    ("float32", "scale", np.float32, 1.0, 1e-4),
    ("float32, tol=1e-3", "scale", np.float32, 1.0, 1e-3),
    ("float32, tol=3e-4", "scale", np.float32, 1.0, 3e-4),
    ("float32, per-pixel standardized, tol=1e-3", "per-pixel", np.float32, 1.0, 1e-3),
]


def plain_fit(dataset, description, normalization, dtype, C, tol, max_iter=1000) -> dict:
    """Time one unchunked ``LogisticRegression.fit`` and score it on the test set."""
    normalizer = fit_normalizer(normalization, dataset.x_train)
    x_train = normalizer.transform(dataset.x_train).reshape(60_000, -1).astype(dtype)
    x_test = normalizer.transform(dataset.x_test).reshape(10_000, -1).astype(dtype)
    model = LogisticRegression(C=C, tol=tol, max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start, cpu_start = time.perf_counter(), time.process_time()
        model.fit(x_train, dataset.y_train)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "setting": description,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "accuracy": float(np.mean(model.predict(x_test) == dataset.y_test)),
        "iterations": int(np.max(model.n_iter_)),
        "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
    }


def chunked_fit(dataset, config: LogregSettings) -> dict:
    """Time `fit_logistic` exactly as a run uses it, with a progress computation per chunk."""
    x, y, normalizer = training_inputs(config, dataset.x_train, dataset.y_train)
    x_test = normalizer.transform(dataset.x_test).reshape(10_000, -1)
    start, cpu_start = time.perf_counter(), time.process_time()
    # A run predicts the training set after each chunk for its loss; that cost is timed too.
    result = fit_logistic(x, y, config, on_chunk=lambda chunk, done, model: model.predict_proba(x))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "setting": f"defaults (tol={config.tol:g}), chunks of {config.chunk_iterations}",
        "seconds": seconds,
        "cpu_seconds": cpu,
        "accuracy": float(np.mean(result.model.predict(x_test) == dataset.y_test)),
        "iterations": result.iterations,
        "converged": result.converged,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chosen", action="store_true", help="only the plain fit and defaults")
    args = parser.parse_args()
    dataset = load_mnist()
    rows = [
        plain_fit(
            dataset,
            "plain LogisticRegression(max_iter=1000), float64",
            "scale",
            np.float64,
            1.0,
            1e-4,
        )
    ]
    print(f"plain fit done in {rows[0]['seconds']:.1f} s", flush=True)
    for candidate in [] if args.chosen else CANDIDATES:
        rows.append(plain_fit(dataset, *candidate))
        print(f"{candidate[0]} done in {rows[-1]['seconds']:.1f} s", flush=True)
    rows.append(chunked_fit(dataset, LogregSettings()))
    wall, cpu = rows[0]["seconds"], rows[0]["cpu_seconds"]
    print(
        f"\n{'setting':<50} {'wall s':>7} {'cpu s':>7} {'test acc':>8} {'iters':>5} "
        f"{'conv':>5} {'ok':>3} {'speedup wall/cpu':>16}"
    )
    for row in rows:
        ok = row["converged"] and row["accuracy"] >= TARGET_ACCURACY
        print(
            f"{row['setting']:<50} {row['seconds']:7.1f} {row['cpu_seconds']:7.1f} "
            f"{row['accuracy']:8.4f} {row['iterations']:5d} {row['converged']!s:>5} "
            f"{'yes' if ok else 'no':>3} {wall / row['seconds']:7.2f}x/"
            f"{cpu / row['cpu_seconds']:.2f}x"
        )


if __name__ == "__main__":
    main()
