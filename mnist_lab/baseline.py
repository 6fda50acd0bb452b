"""The baseline: multinomial logistic regression (scikit-learn), trained as a run like any other.

It answers the question every network on the Evaluate and Compare pages has to face: how much
better is it than a linear model? Its ten weight vectors, reshaped to 28x28, are the
"templates" a linear classifier matches each digit against.

The fit runs in chunks of L-BFGS iterations with ``warm_start=True``, so the worker can report
progress, write ``metrics.jsonl`` and honour a stop request between chunks. Nothing is
pickled: the model is ``weights.npz`` (coefficients, intercepts) plus ``normalizer.json``.
"""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from mnist_lab.data import EMBEDDED_SHA256, load_mnist, random_subset
from mnist_lab.evaluation import cross_entropy, write_evaluation
from mnist_lab.preprocess import (
    NORMALIZATIONS,
    Normalizer,
    fit_normalizer,
    load_normalizer,
    save_normalizer,
)
from mnist_lab.runs import DamagedRunError, Run, RunOutcome, RunStore, atomic_write_bytes

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

ENGINE = "sklearn"
LABEL = "logreg-baseline"
WEIGHTS_FILE = "weights.npz"
N_TRAIN = 60_000
C_RANGE = (1e-4, 1e4)
TOL_RANGE = (1e-8, 1e-1)
MAX_ITER_RANGE = (1, 10_000)
MIN_SUBSET = 100


@dataclass(frozen=True)
class BaselineConfig:
    """Settings of one logistic-regression baseline fit.

    Defaults come from ``benchmarks/bench_baseline.py``: the fastest settings that still
    converge and reach at least 92.5% test accuracy on the full training set.

    Attributes
    ----------
    C : float
        Inverse L2 regularization strength, in ``[1e-4, 1e4]``.
    max_iter : int
        Most L-BFGS iterations in total, in ``[1, 10000]``.
    tol : float
        Stop when the largest gradient entry falls below this, in ``[1e-8, 0.1]``.
    normalization : str
        One of `mnist_lab.preprocess.NORMALIZATIONS`.
    subset : int or None
        Train on this many randomly chosen training images (``>= 100``); None uses all 60,000.
    seed : int
        Seed of the subset's random choice.
    chunk_iterations : int
        Iterations between two progress reports (``>= 1``); the optimizer restarts from the
        current weights after each chunk.
    """

    C: float = 1.0
    max_iter: int = 500
    tol: float = 3e-4
    normalization: str = "scale"
    subset: int | None = None
    seed: int = 0
    chunk_iterations: int = 25

    def validate(self) -> BaselineConfig:
        """Return ``self`` if every setting is in range.

        Raises
        ------
        ValueError
            Naming the setting and its allowed range.
        """
        if not C_RANGE[0] <= self.C <= C_RANGE[1]:
            raise ValueError(f"C must be in [{C_RANGE[0]:g}, {C_RANGE[1]:g}], got {self.C}")
        if not isinstance(self.max_iter, int) or not (
            MAX_ITER_RANGE[0] <= self.max_iter <= MAX_ITER_RANGE[1]
        ):
            raise ValueError(
                f"max_iter must be a whole number in [{MAX_ITER_RANGE[0]}, {MAX_ITER_RANGE[1]}], "
                f"got {self.max_iter}"
            )
        if not TOL_RANGE[0] <= self.tol <= TOL_RANGE[1]:
            raise ValueError(f"tol must be in [{TOL_RANGE[0]:g}, {TOL_RANGE[1]:g}], got {self.tol}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {list(NORMALIZATIONS)}, got {self.normalization!r}"
            )
        if self.subset is not None and not (
            isinstance(self.subset, int) and MIN_SUBSET <= self.subset <= N_TRAIN
        ):
            raise ValueError(
                f"subset must be None (all images) or a whole number in [{MIN_SUBSET}, {N_TRAIN}], "
                f"got {self.subset}"
            )
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {self.seed}")
        if not isinstance(self.chunk_iterations, int) or self.chunk_iterations < 1:
            raise ValueError(
                f"chunk_iterations must be a whole number >= 1, got {self.chunk_iterations}"
            )
        return self

    def to_dict(self) -> dict:
        """The run's ``config.json`` content, also the key `RunStore.find_finished` matches on."""
        return {"engine": ENGINE, "label": LABEL, **asdict(self), "dataset_sha256": EMBEDDED_SHA256}

    @classmethod
    def from_dict(cls, data: dict) -> BaselineConfig:
        """Read the settings back from a run's config (other keys are ignored), validated."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data}).validate()


@dataclass
class FitResult:
    """What `fit_logistic` produced.

    Attributes
    ----------
    model : LogisticRegression
        The fitted estimator.
    iterations : int
        L-BFGS iterations over all chunks.
    converged : bool
        Whether the optimizer stopped on its own tolerance before ``max_iter``.
    stopped : bool
        Whether ``should_stop`` ended the fit early.
    warning : str
        The last chunk's ConvergenceWarning text, empty if there was none.
    """

    model: LogisticRegression
    iterations: int
    converged: bool
    stopped: bool
    warning: str = ""


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    config: BaselineConfig,
    on_chunk: Callable[[int, int, LogisticRegression], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> FitResult:
    """Fit multinomial logistic regression with L-BFGS, one chunk of iterations at a time.

    Parameters
    ----------
    x : numpy.ndarray
        Normalized inputs, shape ``(n, n_features)``.
    y : numpy.ndarray
        Labels, shape ``(n,)``.
    config : BaselineConfig
        ``C``, ``tol``, ``max_iter`` and ``chunk_iterations`` are used.
    on_chunk : callable, optional
        Called after every chunk as ``on_chunk(chunk, iterations_so_far, model)``.
    should_stop : callable, optional
        Checked between chunks; True ends the fit early (the weights so far are kept).

    Returns
    -------
    FitResult
    """
    # Imported here: scikit-learn takes seconds to import, and answering from a stored run,
    # predicting from weights.npz or listing runs must not wait for it.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    config.validate()
    model = LogisticRegression(C=config.C, tol=config.tol, warm_start=True)
    iterations, chunk, converged, message = 0, 0, False, ""
    while iterations < config.max_iter and not converged:
        if chunk and should_stop():
            return FitResult(model, iterations, False, True, message)
        chunk += 1
        model.max_iter = min(config.chunk_iterations, config.max_iter - iterations)
        with warnings.catch_warnings(record=True) as caught:
            # Every chunk but the last is cut off on purpose; only the last one's warning counts.
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(x, y)
        done = int(np.max(model.n_iter_))
        iterations += done
        message = next(
            (str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)), ""
        )
        converged = done < model.max_iter and not message
        if on_chunk is not None:
            on_chunk(chunk, iterations, model)
    return FitResult(model, iterations, converged, False, message)


def training_inputs(config: BaselineConfig, x_train: np.ndarray, y_train: np.ndarray):
    """The (optionally subsampled) training images, flattened and normalized.

    Returns
    -------
    x : numpy.ndarray
        float32 inputs of shape ``(n, 784)``.
    y : numpy.ndarray
        Their labels.
    normalizer : Normalizer
        Fitted on exactly these training images.
    """
    x_train, y_train = random_subset(x_train, y_train, config.subset, config.seed)
    normalizer = fit_normalizer(config.normalization, x_train)
    return normalizer.transform(x_train).reshape(len(x_train), -1), y_train, normalizer


def find_baseline(store: RunStore) -> Run | None:
    """The newest finished baseline with a readable evaluation, preferring full-data fits.

    It is the reference every network is measured against on the Evaluate and Compare pages.
    """
    candidates = []
    for run in store.list():
        try:
            config = run.config()
            usable = run.status()["state"] == "finished" and run.evaluation() is not None
        except DamagedRunError:
            continue
        if config.get("engine") == ENGINE and usable:
            candidates.append((config.get("subset") is not None, run))
    # min() keeps the newest among equals, since store.list() is newest first.
    return min(candidates, key=lambda pair: pair[0])[1] if candidates else None


def fit_run(run: Run) -> RunOutcome:
    """Train the baseline described by ``run``'s config; the worker's entry for engine "sklearn".

    Writes progress to ``status.json``, one ``metrics.jsonl`` record per chunk (``kind``
    "epoch", ``epoch`` = chunk, ``iterations``, training ``loss`` and ``accuracy``), then
    ``weights.npz`` and the evaluation on the test set.

    Parameters
    ----------
    run : Run
        A run directory whose config came from `BaselineConfig.to_dict`.

    Returns
    -------
    RunOutcome
        "finished" (converged or not, as its message says) or "stopped".
    """
    config = BaselineConfig.from_dict(run.config())
    dataset = load_mnist()
    x, y, normalizer = training_inputs(config, dataset.x_train, dataset.y_train)
    n_chunks = -(-config.max_iter // config.chunk_iterations)
    started = time.perf_counter()

    def report(chunk: int, iterations: int, model: LogisticRegression) -> None:
        probabilities = model.predict_proba(x)
        loss = cross_entropy(y, probabilities)
        accuracy = float(np.mean(probabilities.argmax(axis=1) == y))
        elapsed = time.perf_counter() - started
        run.append_metrics(
            {
                "kind": "epoch",
                "epoch": chunk,
                "iterations": iterations,
                "loss": loss,
                "accuracy": accuracy,
                "elapsed_s": round(elapsed, 3),
                "samples_per_s": round(len(x) * iterations / max(elapsed, 1e-9), 1),
            }
        )
        run.update_status(
            progress=min(iterations / config.max_iter, 1.0),
            epoch=chunk,
            epochs=n_chunks,
            iterations=iterations,
            message=f"Fitting: chunk {chunk}, {iterations} iterations, training loss {loss:.4f}.",
        )

    result = fit_logistic(x, y, config, on_chunk=report, should_stop=run.stop_requested)
    save_weights(run, result.model)
    save_normalizer(run, normalizer)
    x_test = normalizer.transform(dataset.x_test).reshape(len(dataset.x_test), -1)
    evaluation = write_evaluation(run, dataset.y_test, result.model.predict_proba(x_test))
    run.update_status(progress=1.0, iterations=result.iterations, converged=result.converged)
    return outcome_of(result, evaluation["test_accuracy"], config.max_iter)


def outcome_of(result: FitResult, test_accuracy: float, max_iter: int) -> RunOutcome:
    """The run's final state and a message that says plainly whether the fit converged."""
    summary = f"test accuracy {test_accuracy:.2%} after {result.iterations} iterations"
    if result.stopped:
        return RunOutcome("stopped", f"Stopped on request before converging; {summary}.")
    if result.converged:
        return RunOutcome("finished", f"Converged: {summary}.")
    warned = result.warning.splitlines()[0].rstrip(":") if result.warning else "no warning"
    return RunOutcome(
        "finished",
        f"Did NOT converge within max_iter={max_iter} (last chunk's ConvergenceWarning: "
        f"{warned}); {summary}. "
        "Raise max_iter or tol, or standardize the inputs.",
    )


def save_weights(run: Run, model: LogisticRegression) -> None:
    """Write ``weights.npz``: ``coef`` (10x784) and ``intercept`` (10), plain float32 arrays."""
    buffer = io.BytesIO()
    np.savez(
        buffer, coef=model.coef_.astype(np.float32), intercept=model.intercept_.astype(np.float32)
    )
    atomic_write_bytes(run.file(WEIGHTS_FILE), buffer.getvalue())


def load_weights(run: Run) -> tuple[np.ndarray, np.ndarray, Normalizer]:
    """Read a baseline run's ``weights.npz`` (never unpickling) and its normalizer.

    Returns
    -------
    coef : numpy.ndarray
        Shape ``(10, 784)``; ``coef.reshape(10, 28, 28)`` are the digit templates.
    intercept : numpy.ndarray
        Shape ``(10,)``.
    normalizer : Normalizer
        The normalization the weights expect (``normalizer.json``).
    """
    with np.load(run.file(WEIGHTS_FILE), allow_pickle=False) as archive:
        coef, intercept = archive["coef"], archive["intercept"]
    return coef, intercept, load_normalizer(run)


def predict_proba_baseline(run: Run, x_uint8: np.ndarray) -> np.ndarray:
    """Class probabilities of a baseline run for uint8 images.

    Parameters
    ----------
    run : Run
        A baseline run holding ``weights.npz``.
    x_uint8 : numpy.ndarray
        Images of shape ``(n, 28, 28)`` or one ``(28, 28)`` image, values 0-255.

    Returns
    -------
    numpy.ndarray
        float64 probabilities of shape ``(n, 10)`` (``(1, 10)`` for a single image).
    """
    coef, intercept, normalizer = load_weights(run)
    x = normalizer.transform(np.asarray(x_uint8).reshape(-1, 28, 28)).reshape(-1, coef.shape[1])
    logits = x.astype(np.float64) @ coef.T.astype(np.float64) + intercept
    # Subtracting the row maximum keeps exp() from overflowing; softmax is unchanged.
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)
