"""Fitting the kernel SVM as a run: one binary SVM per pair of classes, one chunk each.

libsvm (scikit-learn's ``SVC``) solves a multi-class SVM as one binary SVM per pair of
classes, in one call that reports nothing until it is done. Here the same pairs are fitted
one ``SVC`` call at a time, so the reporter shows progress after each pair and a stop
request is honoured between pairs; the result is the machine ``SVC`` would build, exact,
not an approximation of its kernel.

What makes all 60,000 digits fit in minutes on two cores is the projection before the
kernel: on the first 50 principal components every kernel value costs 50 multiplications
instead of 784, and libsvm's kernel cache holds far more rows.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from mnist_lab.data import random_subset
from mnist_lab.datasets import dataset_of
from mnist_lab.engines.svm.model import KernelSvm, rbf_kernel, save_model
from mnist_lab.engines.svm.settings import SvmSettings
from mnist_lab.evaluation import evaluated_words, write_timed_evaluation
from mnist_lab.preprocess import fit_normalizer, save_normalizer
from mnist_lab.reporter import TrainingReporter, format_duration
from mnist_lab.runs import Run, RunOutcome

# The hinge loss of a fitted SVM stays near or below 1; a larger one means broken inputs.
REMEDY = "the inputs are too large for the kernel; normalize them or lower gamma"
# libsvm's kernel cache per pair, in MB: rows of the kernel matrix it need not recompute.
CACHE_MB = 500


def fit_projection(x: np.ndarray, dims: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The PCA mean and components of normalized flat digits ``(n, 784)``.

    Returns
    -------
    mean : numpy.ndarray
        ``(784,)``, zeros without PCA.
    components : numpy.ndarray
        ``(dims, 784)``, or ``(0, 784)`` when ``dims`` is None.
    """
    if dims is None:
        return np.zeros(x.shape[1]), np.zeros((0, x.shape[1]))
    from sklearn.decomposition import PCA

    pca = PCA(n_components=dims, random_state=seed).fit(x)
    return pca.mean_, pca.components_


def fit_pair(z: np.ndarray, positive: np.ndarray, settings: SvmSettings):
    """One binary kernel SVM: libsvm on inputs ``z``, ``positive`` marking the first class.

    Returns
    -------
    support : numpy.ndarray
        Indices of its support vectors in ``z``.
    coef : numpy.ndarray
        Their dual coefficients (positive side positive).
    intercept : float
    iterations : int
        libsvm's iterations.
    converged : bool
        False if it stopped at ``settings.max_iter``.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import SVC

    svc = SVC(
        C=settings.C,
        gamma=settings.gamma,
        cache_size=CACHE_MB,
        max_iter=settings.max_iter,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        svc.fit(z, positive.astype(np.int64))
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    # Classes are sorted (0, 1): SVC's decision is positive for label 1, the first class.
    return svc.support_, svc.dual_coef_[0], float(svc.intercept_[0]), int(svc.n_iter_[0]), converged


def fit_run(run: Run) -> RunOutcome:
    """Train the kernel SVM described by ``run``'s config; the worker's entry for this engine.

    Writes one ``chunk`` record per pair of classes, then ``model.npz``, ``normalizer.json``
    and the evaluation on the test digits.

    Parameters
    ----------
    run : Run
        A run directory whose config came from `SvmSettings.to_dict`.

    Returns
    -------
    RunOutcome
        "finished", "stopped" (between pairs; no model is saved, since every pair is needed
        to predict) or "diverged".
    """
    settings = SvmSettings.from_dict(run.config())
    dataset = dataset_of(run)
    images, y = random_subset(dataset.x_train, dataset.y_train, settings.subset, settings.seed)
    normalizer = fit_normalizer(settings.normalization, images)
    x = normalizer.transform(images).reshape(len(images), -1)
    classes = np.unique(y)
    pairs = [(a, b) for i, a in enumerate(classes) for b in classes[i + 1 :]]
    counts = {c: int(np.sum(y == c)) for c in classes}
    total = sum(counts[a] + counts[b] for a, b in pairs)
    reporter = TrainingReporter(run, REMEDY)
    reporter.begin(epochs=len(pairs))
    started = time.monotonic()
    mean, components = fit_projection(x, settings.pca_dims, settings.seed)
    z = (x - mean) @ components.T if len(components) else x.astype(np.float64)
    coef = np.zeros((len(z), len(pairs)))
    intercepts = np.zeros(len(pairs))
    done = iterations = fitted = 0
    unconverged = []
    for number, (a, b) in enumerate(pairs, start=1):
        if reporter.should_end:
            break
        rows = np.flatnonzero((y == a) | (y == b))
        support, dual, intercept, pair_iterations, converged = fit_pair(
            z[rows], y[rows] == a, settings
        )
        coef[rows[support], number - 1] = dual
        intercepts[number - 1] = intercept
        iterations += pair_iterations
        done += len(rows)
        unconverged += [] if converged else [f"{a} vs {b}"]
        reporter.trained(samples=done)
        loss, accuracy = pair_fit(
            z[rows], y[rows] == a, z[rows[support]], dual, intercept, settings.gamma
        )
        elapsed = time.monotonic() - started
        reporter.end_chunk(
            chunk=number,
            iterations=iterations,
            loss=loss,
            accuracy=accuracy,
            fraction=done / total,
            position=f"pair {number} of {len(pairs)}",
            message=(
                f"Fitted {a} vs {b}: {len(support)} support vectors of {len(rows)} digits, "
                f"training accuracy {accuracy:.2%}, hinge loss {loss:.3f} "
                f"({format_duration(elapsed)} so far)"
            ),
        )
        fitted = number
    if reporter.divergence is not None:
        return RunOutcome("diverged", reporter.divergence)
    if fitted < len(pairs):
        return RunOutcome(
            "stopped",
            f"Stopped on request after {fitted} of {len(pairs)} pairs of classes; a "
            "one-vs-one SVM needs every pair to predict, so no model was saved.",
        )
    used = np.flatnonzero(np.any(coef != 0, axis=1))
    model = KernelSvm(
        mean=mean,
        components=components,
        support_vectors=z[used],
        pair_coef=coef[used],
        pair_intercept=intercepts,
        pair_classes=np.array(pairs, dtype=np.int64).reshape(-1, 2),
        gamma=settings.gamma,
        n_classes=dataset.n_classes,
    )
    save_model(run, model)
    save_normalizer(run, normalizer)
    x_test = normalizer.transform(dataset.x_test).reshape(len(dataset.x_test), -1)
    evaluation = write_timed_evaluation(
        run, dataset.y_test, lambda: model.predict_proba(x_test), class_names=dataset.class_names
    )
    reporter.finish(iterations=iterations, position=f"{len(pairs)} pairs of classes")
    summary = f"{len(used):,} support vectors of {len(z):,} digits, {evaluated_words(evaluation)}"
    if unconverged:
        return RunOutcome(
            "finished",
            f"Did NOT converge within {settings.max_iter:,} iterations for "
            f"{', '.join(unconverged)}; {summary}. Raise max_iter, lower C or change gamma.",
        )
    return RunOutcome("finished", f"Fitted every pair of classes: {summary}.")


def pair_fit(
    z: np.ndarray,
    positive: np.ndarray,
    support_vectors: np.ndarray,
    dual: np.ndarray,
    intercept: float,
    gamma: float,
) -> tuple[float, float]:
    """A pair's mean hinge loss and accuracy on its training digits (for the chunk record)."""
    decisions = np.concatenate(
        [
            rbf_kernel(z[start : start + 2048], support_vectors, gamma) @ dual + intercept
            for start in range(0, len(z), 2048)
        ]
    )
    signs = np.where(positive, 1.0, -1.0)
    loss = float(np.maximum(0.0, 1 - signs * decisions).mean())
    return loss, float(np.mean((decisions > 0) == positive))
