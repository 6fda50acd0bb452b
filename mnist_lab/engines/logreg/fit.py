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
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mnist_lab.data import IMAGE_SHAPE, random_subset
from mnist_lab.datasets import dataset_of
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.evaluation import cross_entropy, evaluated_words, write_timed_evaluation
from mnist_lab.files import DamagedRunError, atomic_write_bytes, read_arrays
from mnist_lab.preprocess import (
    Normalizer,
    fit_normalizer,
    load_normalizer,
    save_normalizer,
)
from mnist_lab.reporter import TrainingReporter
from mnist_lab.runs import Run, RunOutcome

# The fitted coefficients: plain arrays, never pickled.
WEIGHTS_FILE = "weights.npz"

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

# L-BFGS with its line search cannot blow up on this convex loss; numbers can still overflow.
REMEDY = "the inputs are too large for the optimizer; normalize them or lower C"


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
    config: LogregSettings,
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
    config : LogregSettings
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


def largest_gradient(
    x: np.ndarray, y: np.ndarray, probabilities: np.ndarray, coef: np.ndarray, C: float
) -> float:
    """The largest entry of the fit's gradient: what L-BFGS stops on when it falls below tol.

    scikit-learn's objective is the mean cross-entropy plus ``||coef||^2 / (2 C n)``.

    Parameters
    ----------
    x : numpy.ndarray
        The training inputs ``(n, n_features)``.
    y : numpy.ndarray
        Their labels ``(n,)``.
    probabilities : numpy.ndarray
        The model's class probabilities for ``x``, ``(n, n_classes)``.
    coef : numpy.ndarray
        Its weights ``(n_classes, n_features)``.
    C : float
        Inverse regularization strength.

    Returns
    -------
    float
    """
    residual = probabilities.astype(np.float32)
    residual[np.arange(len(y)), y] -= 1
    coef_gradient = residual.T @ x / len(x) + coef / (C * len(x))
    return float(max(np.abs(coef_gradient).max(), np.abs(residual.mean(axis=0)).max()))


def iterations_needed(history: list[tuple[int, float]], tol: float, max_iter: int) -> int:
    """How many L-BFGS iterations the fit will need in all, extrapolated from its gradients.

    The largest gradient entry shrinks roughly geometrically; its rate is measured from the
    end of the first chunk (the start, before that) to the smallest gradient so far, since a
    restart between chunks can push it up for a while.

    Parameters
    ----------
    history : list of (int, float)
        ``(iterations, largest gradient)``: ``(0, g0)`` at the zero start, then one per chunk.
    tol : float
        The fit stops once the largest gradient entry is below this.
    max_iter : int
        It stops there in any case.

    Returns
    -------
    int
        Between the iterations done and ``max_iter``.

    Examples
    --------
    >>> iterations_needed([(0, 0.1), (25, 0.01)], tol=0.001, max_iter=500)
    50
    """
    done = history[-1][0]
    anchor = history[1] if len(history) > 2 else history[0]
    best = min(history[1:], key=lambda point: point[1])
    if best[1] <= tol:
        return done
    if best[0] <= anchor[0] or best[1] >= anchor[1]:
        return max_iter
    rate = np.log(best[1] / anchor[1]) / (best[0] - anchor[0])
    needed = best[0] + np.log(tol / best[1]) / rate
    return int(min(max(round(needed), done + 1), max_iter))


def training_inputs(config: LogregSettings, x_train: np.ndarray, y_train: np.ndarray):
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


def fit_run(run: Run) -> RunOutcome:
    """Train the baseline described by ``run``'s config; the worker's entry for engine "sklearn".

    Writes progress to ``status.json``, one ``chunk`` record per chunk of iterations (see
    `mnist_lab.records.chunk_record`), then ``weights.npz`` and the evaluation on the test set.

    Parameters
    ----------
    run : Run
        A run directory whose config came from `LogregSettings.to_dict`.

    Returns
    -------
    RunOutcome
        "finished" (converged or not, as its message says) or "stopped".
    """
    config = LogregSettings.from_dict(run.config())
    dataset = dataset_of(run)
    x, y, normalizer = training_inputs(config, dataset.x_train, dataset.y_train)
    # At the zero start every class gets the same probability.
    n_classes = len(np.unique(y))
    uniform = np.full((len(x), n_classes), 1 / n_classes, dtype=np.float32)
    start = largest_gradient(x, y, uniform, np.zeros((n_classes, x.shape[1])), config.C)
    gradients = [(0, start)]
    shown = {"progress": 0.0}
    reporter = TrainingReporter(run, REMEDY)
    reporter.begin(epochs=-(-config.max_iter // config.chunk_iterations))
    # Nothing is known until the first chunk ends (a minute on all 60,000 digits): say so.
    run.update_status(
        message=f"Fitting: first chunk of {config.chunk_iterations} L-BFGS iterations…"
    )

    def report(chunk: int, iterations: int, model: LogisticRegression) -> None:
        # One L-BFGS iteration evaluates the loss and its gradient on every sample.
        reporter.trained(samples=len(x) * iterations)
        probabilities = model.predict_proba(x)
        loss = cross_entropy(y, probabilities)
        gradient = largest_gradient(x, y, probabilities, model.coef_, config.C)
        gradients.append((iterations, gradient))
        needed = iterations_needed(gradients, config.tol, config.max_iter)
        # The estimate moves as the fit goes on; the bar never moves back.
        shown["progress"] = max(shown["progress"], min(iterations / needed, 0.99))
        reporter.end_chunk(
            chunk=chunk,
            iterations=iterations,
            loss=loss,
            accuracy=float(np.mean(probabilities.argmax(axis=1) == y)),
            fraction=shown["progress"],
            position=f"{iterations} of about {needed} L-BFGS iterations",
            message=(
                f"Fitting: chunk {chunk}, {iterations} iterations, training loss {loss:.4f}; "
                f"largest gradient {gradient:.1e}, it stops below {config.tol:.0e}"
            ),
        )

    result = fit_logistic(x, y, config, on_chunk=report, should_stop=lambda: reporter.should_end)
    if reporter.divergence is not None:
        return RunOutcome("diverged", reporter.divergence)
    save_weights(run, result.model)
    save_normalizer(run, normalizer)
    x_test = normalizer.transform(dataset.x_test).reshape(len(dataset.x_test), -1)
    evaluation = write_timed_evaluation(
        run,
        dataset.y_test,
        lambda: result.model.predict_proba(x_test),
        class_names=dataset.class_names,
    )
    reporter.finish(
        iterations=result.iterations,
        converged=result.converged,
        position=f"{result.iterations} L-BFGS iterations",
    )
    return outcome_of(result, evaluation, config.max_iter)


def outcome_of(result: FitResult, evaluation: dict, max_iter: int) -> RunOutcome:
    """The run's final state and a message that says plainly whether the fit converged."""
    summary = f"{result.iterations} iterations, {evaluated_words(evaluation)}"
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

    Raises
    ------
    DamagedRunError
        If the file is unreadable or its arrays do not have those shapes.
    """
    arrays = read_arrays(run.file(WEIGHTS_FILE), ("coef", "intercept"))
    coef, intercept = arrays["coef"], arrays["intercept"]
    if (
        coef.ndim != 2
        or coef.shape[1] != int(np.prod(IMAGE_SHAPE))
        or intercept.shape != (len(coef),)
        or len(coef) < 2
    ):
        raise DamagedRunError(
            f"{WEIGHTS_FILE} does not hold a model's weights (coef {coef.shape}, "
            f"intercept {intercept.shape})"
        )
    return coef, intercept, load_normalizer(run)
