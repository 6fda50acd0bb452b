"""k-nearest neighbours: the stored digits, the distance search, the votes, and a run.

"Training" stores the (subsampled) training digits as uint8 pixels with their labels, and,
with PCA, the mean digit and the principal components, in ``neighbours.npz``: never pickled,
and about 10 MB compressed (47 MB of pixels) for all 60,000 digits whatever the PCA
dimensions, since the projections are recomputed when the model is loaded (under a second).
The slow part is predicting: every test digit is compared with every training digit, in
batches, one progress chunk per batch, so the run shows its progress and answers a stop
request between batches.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from mnist_lab.assignments.heldout import dataset_cut
from mnist_lab.data import IMAGE_SHAPE, random_subset
from mnist_lab.datasets import MAX_CLASSES, MIN_CLASSES, dataset_of
from mnist_lab.engines.knn.settings import DISTANCES, N_PIXELS, KnnSettings
from mnist_lab.evaluation import evaluated_words, write_evaluation
from mnist_lab.files import DamagedRunError, atomic_write_bytes, read_arrays
from mnist_lab.preprocess import Normalizer, fit_normalizer, load_normalizer, save_normalizer
from mnist_lab.reporter import TrainingReporter
from mnist_lab.runs import Run, RunOutcome

MODEL_FILE = "neighbours.npz"
MODEL_ARRAYS = ("pixels", "labels", "n_classes", "mean", "components")
# Floats of one batch's L2 distance matrix (128 MB): 559 test digits against 60,000.
L2_BATCH_FLOATS = 2**25
# Pixel comparisons of one L1 / L3 batch: 45 digits against 60,000 x 784 (seconds).
LP_BATCH_COMPARISONS = 2**31


@dataclass(frozen=True)
class NeighbourModel:
    """The stored digits, ready to search.

    Attributes
    ----------
    points : numpy.ndarray
        float32 ``(n, d)``: the normalized training digits, projected when PCA is used.
    squared_norms : numpy.ndarray
        float32 ``(n,)``: each point's squared length, for the L2 search.
    labels : numpy.ndarray
        int64 ``(n,)``.
    n_classes : int
    normalizer : Normalizer
    mean : numpy.ndarray
        float32 ``(784,)``: the mean normalized digit PCA centres on (zeros without PCA).
    components : numpy.ndarray
        float32 ``(d, 784)``: the principal components, ``(0, 784)`` without PCA.
    k : int
    p : int
        The Minkowski power: 1, 2 or 3.
    weights : {"uniform", "distance"}
    """

    points: np.ndarray
    squared_norms: np.ndarray
    labels: np.ndarray
    n_classes: int
    normalizer: Normalizer
    mean: np.ndarray
    components: np.ndarray
    k: int
    p: int
    weights: str

    def features(self, images: np.ndarray) -> np.ndarray:
        """uint8 images ``(m, 28, 28)`` as the float32 rows the training digits are stored as."""
        flat = self.normalizer.transform(images).reshape(len(images), -1)
        return (flat - self.mean) @ self.components.T if len(self.components) else flat

    def batch_rows(self) -> int:
        """Digits predicted per batch: bounded memory for L2, bounded work for L1 and L3."""
        n, dims = self.points.shape
        budget = L2_BATCH_FLOATS // n if self.p == 2 else LP_BATCH_COMPARISONS // (n * dims)
        return max(1, budget)


def principal_components(x: np.ndarray, dims: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The mean row and the ``dims`` principal components of ``x``, largest variance first.

    Parameters
    ----------
    x : numpy.ndarray
        Normalized, flattened training digits ``(n, 784)``.
    dims : int or None
        None: no PCA.

    Returns
    -------
    mean : numpy.ndarray
        float32 ``(784,)``, zeros without PCA.
    components : numpy.ndarray
        float32 ``(dims, 784)``, orthonormal rows; ``(0, 784)`` without PCA.

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [2.0, 2.0]], dtype=np.float32)
    >>> mean, components = principal_components(x, 1)
    >>> mean.tolist(), bool(np.allclose(np.abs(components), [[0.5**0.5, 0.5**0.5]]))
    ([1.0, 1.0], True)
    """
    if not dims:
        return np.zeros(x.shape[1], np.float32), np.zeros((0, x.shape[1]), np.float32)
    mean = x.mean(axis=0, dtype=np.float64)
    centred = (x - mean).astype(np.float32)
    # The 784 x 784 covariance is cheap to decompose; an SVD of 60,000 rows is not.
    _, vectors = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    return mean.astype(np.float32), vectors[:, ::-1][:, :dims].T.astype(np.float32)


def save_model(
    run: Run,
    pixels: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    mean: np.ndarray,
    components: np.ndarray,
) -> None:
    """Write ``neighbours.npz``: uint8 pixels, labels and the PCA, compressed, never pickled."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        pixels=np.asarray(pixels, np.uint8).reshape(len(pixels), -1),
        labels=np.asarray(labels, np.int64),
        n_classes=np.int64(n_classes),
        mean=mean,
        components=components,
    )
    atomic_write_bytes(run.file(MODEL_FILE), buffer.getvalue())


def load_model(run: Run, settings: KnnSettings) -> NeighbourModel:
    """Read ``neighbours.npz`` and the normalizer of ``run`` and prepare them for searching.

    Raises
    ------
    DamagedRunError
        If a file is unreadable or its arrays do not fit together.
    """
    arrays = read_arrays(run.file(MODEL_FILE), MODEL_ARRAYS)
    pixels, labels, mean, components = (
        arrays[name] for name in ("pixels", "labels", "mean", "components")
    )
    n_classes = int(arrays["n_classes"]) if arrays["n_classes"].shape == () else 0
    fits = (
        pixels.dtype == np.uint8
        and pixels.shape[1:] == (N_PIXELS,)
        and len(pixels) > 0
        and labels.shape == (len(pixels),)
        and labels.dtype.kind in "iu"
        and MIN_CLASSES <= n_classes <= MAX_CLASSES
        and labels.min() >= 0
        and labels.max() < n_classes
        and mean.shape == (N_PIXELS,)
        and components.ndim == 2
        and components.shape[1] == N_PIXELS
        and len(components) <= N_PIXELS
        and np.isfinite(mean).all()
        and np.isfinite(components).all()
    )
    if not fits:
        raise DamagedRunError(f"{MODEL_FILE} holds arrays that do not fit together")
    model = NeighbourModel(
        points=np.zeros((0, 0), np.float32),
        squared_norms=np.zeros(0, np.float32),
        labels=labels.astype(np.int64),
        n_classes=n_classes,
        normalizer=load_normalizer(run),
        mean=mean.astype(np.float32),
        components=components.astype(np.float32),
        k=min(settings.k, len(pixels)),
        p=DISTANCES[settings.distance],
        weights=settings.weights,
    )
    points = model.features(pixels.reshape(-1, *IMAGE_SHAPE))
    squared_norms = np.einsum("ij,ij->i", points, points)
    return dataclasses.replace(
        model, points=np.ascontiguousarray(points), squared_norms=squared_norms
    )


def nearest(model: NeighbourModel, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest stored digits of each query row, nearest first.

    Parameters
    ----------
    model : NeighbourModel
    queries : numpy.ndarray
        float32 rows ``(m, d)`` from `NeighbourModel.features`.

    Returns
    -------
    distances : numpy.ndarray
        float64 ``(m, k)``, exact Minkowski distances.
    indices : numpy.ndarray
        ``(m, k)`` rows of ``model.points``.
    """
    if model.p == 2:
        # |q - t|^2 = |q|^2 - 2 q.t + |t|^2: one matrix product (BLAS, every core) per batch.
        squared = model.squared_norms - 2 * queries @ model.points.T
        candidates = np.argpartition(squared, model.k - 1, axis=1)[:, : model.k]
        # Exact distances of the k chosen, free of the product's rounding: weights need them.
        differences = queries[:, None, :] - model.points[candidates]
        distances = np.sqrt((differences * differences).sum(axis=2, dtype=np.float64))
        order = np.argsort(distances, axis=1, kind="stable")
        return np.take_along_axis(distances, order, 1), np.take_along_axis(candidates, order, 1)
    # No matrix-product shortcut for L1 and L3, and a pow() per pixel pair is slow: measured
    # on 60,000 x 40, SciPy's C loop does L1 in 14 s per 10,000 digits (NumPy 31 s,
    # scikit-learn's search more), NumPy's |d| * d * d does L3 in 46 s (SciPy 326 s).
    if model.p == 1:
        from scipy.spatial.distance import cdist

        powered = cdist(queries, model.points, "cityblock")
    else:
        powered = np.empty((len(queries), len(model.points)))
        for row, query in enumerate(queries):
            differences = model.points - query
            np.abs(differences, out=differences)
            powered[row] = (differences * differences * differences).sum(axis=1, dtype=np.float64)
    candidates = np.argpartition(powered, model.k - 1, axis=1)[:, : model.k]
    order = np.argsort(np.take_along_axis(powered, candidates, 1), axis=1, kind="stable")
    candidates = np.take_along_axis(candidates, order, 1)
    return np.take_along_axis(powered, candidates, 1) ** (1 / model.p), candidates


def vote_shares(model: NeighbourModel, distances: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Each class's share of the (weighted) neighbours' votes, as scikit-learn counts them.

    With ``distance`` weights a vote weighs ``1 / distance``; a query with stored digits at
    distance 0 takes its votes from those alone.

    Returns
    -------
    numpy.ndarray
        ``(m, n_classes)``, rows summing to 1.
    """
    if model.weights == "uniform":
        weights = np.ones_like(distances)
    else:
        exact = distances == 0
        with np.errstate(divide="ignore"):
            weights = np.where(exact.any(axis=1, keepdims=True), exact, 1 / distances)
    votes = np.zeros((len(distances), model.n_classes))
    rows = np.repeat(np.arange(len(distances)), distances.shape[1])
    np.add.at(votes, (rows, model.labels[indices].ravel()), weights.ravel())
    return votes / votes.sum(axis=1, keepdims=True)


def predicted_batches(model: NeighbourModel, images: np.ndarray) -> Iterator[np.ndarray]:
    """Class probabilities of uint8 images ``(m, 28, 28)``, one batch at a time."""
    rows = model.batch_rows()
    for start in range(0, len(images), rows):
        queries = model.features(images[start : start + rows])
        yield vote_shares(model, *nearest(model, queries))


def fit_run(run: Run) -> RunOutcome:
    """Store the training digits of ``run`` and predict its test digits with progress.

    The worker's entry for engine "knn". Each batch of test digits is one ``chunk`` record:
    its accuracy is the accuracy so far on the test digits an assignment leaves visible
    (`mnist_lab.assignments.heldout.dataset_cut`: the live curve must not tell on a hidden
    part), its loss the share of neighbour votes cast there for a wrong class (a
    cross-entropy would call every unanimous mistake infinite).

    Returns
    -------
    RunOutcome
        "finished" with the test accuracy, or "stopped" (the model is kept, the evaluation of
        the digits not yet predicted is not written).
    """
    settings = KnnSettings.from_dict(run.config())
    dataset = dataset_of(run)
    # Its loss is a share of votes, at most 1: nothing here can diverge, so no remedy.
    reporter = TrainingReporter(run, remedy="")
    started = time.perf_counter()
    x, y = random_subset(dataset.x_train, dataset.y_train, settings.subset, settings.seed)
    normalizer = fit_normalizer(settings.normalization, x)
    mean, components = principal_components(
        normalizer.transform(x).reshape(len(x), -1), settings.pca
    )
    save_normalizer(run, normalizer)
    save_model(run, x, y, dataset.n_classes, mean, components)
    model = load_model(run, settings)
    stored_s = time.perf_counter() - started
    x_test, y_test = dataset.x_test, dataset.y_test
    visible = ~dataset_cut(dataset.sha256, len(y_test))
    n_batches = -(-len(x_test) // model.batch_rows())
    reporter.begin(epochs=n_batches)
    predicted, done, counted, correct, wrong_votes = [], 0, 0, 0, 0.0
    for batch, probabilities in enumerate(predicted_batches(model, x_test), start=1):
        rows = slice(done, done + len(probabilities))
        shown, labels = visible[rows], y_test[rows]
        predicted.append(probabilities)
        done += len(probabilities)
        reporter.trained(samples=done)
        counted += int(shown.sum())
        correct += int(((probabilities.argmax(axis=1) == labels) & shown).sum())
        right_votes = probabilities[np.arange(len(labels)), labels]
        wrong_votes += float(((1 - right_votes) * shown).sum())
        if reporter.end_chunk(
            chunk=batch,
            iterations=batch,
            loss=wrong_votes / max(counted, 1),
            accuracy=correct / max(counted, 1),
            fraction=done / len(x_test),
            position=f"{done:,} of {len(x_test):,} test digits predicted",
            message=f"Predicting: {done:,} of {len(x_test):,} test digits so far",
        ):
            break
    if done < len(x_test):
        return RunOutcome(
            "stopped",
            f"Stopped on request after predicting {done:,} of {len(x_test):,} test digits; "
            "the stored digits are kept.",
        )
    predict_s = time.perf_counter() - started - stored_s
    evaluation = write_evaluation(
        run,
        y_test,
        np.concatenate(predicted),
        class_names=dataset.class_names,
        predict_seconds=predict_s,
    )
    reporter.finish(position=f"{len(x_test):,} test digits predicted")
    return RunOutcome(
        "finished",
        f"The {settings.k} nearest of {len(x):,} digits by {settings.distance}, "
        f"{evaluated_words(evaluation)}: stored in {stored_s:.1f}s, predicted them in "
        f"{predict_s:.1f}s.",
    )
