"""Saliency: which pixels of one digit raised or lowered a model's score for a chosen class.

Three methods, each a 28x28 map where positive means "this pixel pushed the class's score up":

- gradient x input: each pixel's ink times how fast the class's logit rises with it. For a
  linear model (logistic regression) this is exactly weight x input, the pixel's share of the
  score.
- integrated gradients (Sundararajan et al., 2017): the same, with the gradient averaged along
  the straight path from a black image to the digit, so the map adds up to the logit's change
  from the black image to the digit.
- occlusion: paint a small patch black and watch the class's probability fall; needs nothing
  but predictions, so it works for every engine.

The gradient methods need an engine that is `differentiable` (see
`mnist_lab.engines.base.Engine.input_gradient`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mnist_lab.data import IMAGE_SHAPE
from mnist_lab.engines import Engine, engine_of
from mnist_lab.runs import Run

IG_STEPS = 32
OCCLUSION_PATCH = 4
OCCLUSION_STRIDE = 2


@dataclass(frozen=True)
class SaliencyMethod:
    """One way of computing a saliency map.

    Attributes
    ----------
    title : str
        What the page calls it.
    needs_gradient : bool
        Whether the engine must be `differentiable`.
    reading : str
        One sentence on how to read the map; ``{digit}`` stands for the chosen class.
    """

    title: str
    needs_gradient: bool
    reading: str


METHODS = {
    "gradient-x-input": SaliencyMethod(
        "Gradient × input",
        True,
        "Red pixels pushed the score of {digit} up, blue ones pushed it down: each pixel's "
        "ink times how fast the score rises with it (for a linear model, exactly the "
        "pixel's weight times its ink).",
    ),
    "integrated-gradients": SaliencyMethod(
        "Integrated gradients",
        True,
        "Red pixels raised the score of {digit}, blue ones lowered it, measured along the "
        "way from a blank image (no ink at all) to this digit: the colours add up to how much "
        "higher the score is for the digit than for a blank image.",
    ),
    "occlusion": SaliencyMethod(
        "Occlusion",
        False,
        "Red is where erasing the ink in a {patch}x{patch} square made {digit} less likely "
        "(the model relied on that ink), blue where erasing it made {digit} more likely; "
        "blank paper has no ink to erase and stays white.",
    ),
}


@dataclass(frozen=True)
class Saliency:
    """A saliency map of one digit for one class.

    Attributes
    ----------
    method : str
        A key of `METHODS`.
    class_index : int
        The class whose score is explained.
    attribution : numpy.ndarray
        float64 ``(28, 28)``; positive pixels raised the class's score. Gradient methods are
        in units of the logit, occlusion in units of probability.
    probability : float
        The model's probability of the class for the digit.
    reading : str
        One sentence on how to read the map.
    """

    method: str
    class_index: int
    attribution: np.ndarray
    probability: float
    reading: str


def available_methods(engine: Engine) -> list[str]:
    """The keys of `METHODS` that ``engine`` supports, gradient methods first.

    Examples
    --------
    >>> from mnist_lab.engines import get_engine
    >>> available_methods(get_engine("sklearn"))
    ['gradient-x-input', 'integrated-gradients', 'occlusion']
    """
    return [
        key for key, method in METHODS.items() if engine.differentiable or not method.needs_gradient
    ]


def saliency(
    run: Run, image: np.ndarray, class_index: int, method: str, model: Any = None
) -> Saliency:
    """Explain ``run``'s score of ``class_index`` for one digit with ``method``.

    Parameters
    ----------
    run : Run
        A run with a saved model.
    image : numpy.ndarray
        One 28x28 digit, pixel values 0-255, white ink on black.
    class_index : int
        The class to explain (often the prediction).
    method : str
        A key of `METHODS` that the run's engine supports (see `available_methods`).
    model : Any, optional
        The run's loaded model, if the caller cached it.

    Returns
    -------
    Saliency

    Raises
    ------
    ValueError
        For an unknown method, one the engine does not support, or an image that is not
        28x28.
    """
    engine = engine_of(run)
    if method not in available_methods(engine):
        raise ValueError(
            f"method must be one of {available_methods(engine)} for the {engine.title}, "
            f"got {method!r}"
        )
    image = _checked_image(image)
    compute = {
        "gradient-x-input": gradient_times_input,
        "integrated-gradients": integrated_gradients,
        "occlusion": occlusion,
    }[method]
    attribution = compute(run, image, class_index, model=model)
    probability = float(engine.predict_proba(run, image, model=model)[0, class_index])
    reading = METHODS[method].reading.format(digit=class_index, patch=OCCLUSION_PATCH)
    return Saliency(method, int(class_index), attribution, probability, reading)


def gradient_times_input(
    run: Run, image: np.ndarray, class_index: int, model: Any = None, score: str = "logit"
) -> np.ndarray:
    """Each pixel's value times the gradient of the class's score at the digit.

    Returns
    -------
    numpy.ndarray
        float64 ``(28, 28)``.
    """
    image = _checked_image(image)
    gradient, _ = engine_of(run).input_gradient(run, image, class_index, model=model, score=score)
    return gradient[0] * image


def integrated_gradients(
    run: Run,
    image: np.ndarray,
    class_index: int,
    model: Any = None,
    steps: int = IG_STEPS,
    score: str = "logit",
) -> np.ndarray:
    """The gradient averaged from a black image to the digit, times the digit.

    The average is a midpoint sum over ``steps`` images ``(k + 1/2) / steps * digit``, all
    asked in one batch. The map sums to ``score(digit) - score(black)`` up to that sum's error.

    Parameters
    ----------
    run : Run
    image : numpy.ndarray
        One 28x28 digit, 0-255.
    class_index : int
    model : Any, optional
    steps : int, default 32
        Points on the path (1-256).
    score : {"logit", "log_probability"}

    Returns
    -------
    numpy.ndarray
        float64 ``(28, 28)``.
    """
    if not 1 <= steps <= 256:
        raise ValueError(f"steps must be 1-256, got {steps}")
    image = _checked_image(image)
    alphas = (np.arange(steps) + 0.5) / steps
    path = alphas[:, None, None] * image
    gradient, _ = engine_of(run).input_gradient(run, path, class_index, model=model, score=score)
    return gradient.mean(axis=0) * image


def occlusion(
    run: Run,
    image: np.ndarray,
    class_index: int,
    model: Any = None,
    patch: int = OCCLUSION_PATCH,
    stride: int = OCCLUSION_STRIDE,
) -> np.ndarray:
    """How much the class's probability falls when a patch around each pixel is blacked out.

    Every ``patch`` x ``patch`` square at steps of ``stride`` is painted black in its own
    copy of the digit, all copies predicted in one batch; a pixel's value is the mean fall
    over the squares that cover it.

    Returns
    -------
    numpy.ndarray
        float64 ``(28, 28)``, in units of probability.
    """
    if not 1 <= patch <= 28 or not 1 <= stride <= patch:
        raise ValueError(f"patch must be 1-28 and stride 1-patch, got {patch} and {stride}")
    image = _checked_image(image)
    corners = range(0, IMAGE_SHAPE[0] - patch + 1, stride)
    squares = [(top, left) for top in corners for left in corners]
    copies = np.repeat(image[np.newaxis], len(squares) + 1, axis=0)
    for number, (top, left) in enumerate(squares, start=1):
        copies[number, top : top + patch, left : left + patch] = 0.0
    probabilities = engine_of(run).predict_proba(run, copies, model=model)[:, class_index]
    falls = probabilities[0] - probabilities[1:]
    total, cover = np.zeros(IMAGE_SHAPE), np.zeros(IMAGE_SHAPE)
    for fall, (top, left) in zip(falls, squares, strict=True):
        total[top : top + patch, left : left + patch] += fall
        cover[top : top + patch, left : left + patch] += 1
    return np.divide(total, cover, out=np.zeros(IMAGE_SHAPE), where=cover > 0)


def _checked_image(image: np.ndarray) -> np.ndarray:
    """One digit as float64 28x28 pixels, or a ``ValueError`` saying what is wrong."""
    image = np.asarray(image, dtype=np.float64)
    if image.shape != IMAGE_SHAPE:
        raise ValueError(f"the digit must be 28x28 pixels, got shape {image.shape}")
    return image
