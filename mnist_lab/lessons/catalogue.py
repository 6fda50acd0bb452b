"""The lessons: what each trains, asks and expects, and which explanation reads its runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mnist_lab.engines import get_engine
from mnist_lab.lessons.deep_learning import LABELS, STEPS, explain_deep_learning, measure_costs
from mnist_lab.lessons.explanations import (
    MODEL_LABELS,
    explain_adversarial,
    explain_depth,
    explain_learning_rate,
    explain_models,
    explain_normalization,
    explain_overfitting,
    explain_robustness,
)
from mnist_lab.lessons.measures import measure_attacks, measure_corruptions
from mnist_lab.lessons.results import Explanation, RunResult
from mnist_lab.mnist_table import ROW
from mnist_lab.runs import Run

SUBSET = 3000
BIG_MLP = [{"type": "Dense", "units": 512, "activation": "relu"}] * 2
# Dropout on the pixels too: on a few hundred digits hidden dropout alone barely narrows the gap.
BIG_MLP_DROPOUT = [
    {"type": "Dropout", "rate": 0.3},
    *[{"type": "Dense", "units": 512, "activation": "relu"}, {"type": "Dropout", "rate": 0.5}] * 2,
]


@dataclass(frozen=True)
class LessonRun:
    """One run of a lesson.

    Attributes
    ----------
    step : str
        Short key of the run within its lesson (``"raw"``, ``"standardized"``...).
    name : str
        The run's display name (on every page, Compare included).
    config : dict
        The run's config, as its engine's settings (`Settings.to_dict`) write it.
    """

    step: str
    name: str
    config: dict


@dataclass(frozen=True)
class Lesson:
    """A guided experiment.

    Attributes
    ----------
    id : str
        Stable key (stored in each run's ``lesson.json``).
    title, question, expect : str
        What the page shows before the runs: the title, the question it answers and
        what should happen.
    runs : tuple of LessonRun
        The runs to train, in the order they are shown.
    explainer : callable
        ``explainer(results)`` with ``results`` a dict step -> `RunResult`; call it through
        `mnist_lab.lessons.runner.explain`.
    measure : callable, optional
        ``measure(runs)``, step -> run: what to measure on the trained models beyond their
        records (robustness, attacks), step -> numbers, given to each `RunResult.measured`.
    """

    id: str
    title: str
    question: str
    expect: str
    runs: tuple[LessonRun, ...]
    explainer: Callable[[dict[str, RunResult]], Explanation]
    measure: Callable[[Mapping[str, Run]], dict[str, dict]] | None = None

    @property
    def steps(self) -> tuple[str, ...]:
        """The step keys of the lesson's runs, in order."""
        return tuple(lesson_run.step for lesson_run in self.runs)

    def name_of(self, step: str) -> str:
        """The display name of the run of ``step``."""
        return next(r.name for r in self.runs if r.step == step)


def _keras(**settings) -> dict:
    return get_engine("keras").settings_class(**settings).to_dict()


def _fast_cnn(**settings) -> dict:
    """The fast CNN with its recipe, in smaller batches and more epochs for a small subset.

    On 3,000 digits the recipe's two epochs of batch 256 are only 24 steps; batches of 64
    over five epochs give the one-cycle schedule enough steps, in a few seconds. Without the
    recipe's label smoothing: the lessons read the network's probabilities and gradients,
    which softened targets would shrink.
    """
    recipe = get_engine("keras").settings_class.recommended({"preset": "fast-cnn"})
    small = {"batch_size": 64, "epochs": 5, "val_split": 0.1, "label_smoothing": 0.0}
    return _keras(**{**recipe, **small, **settings}, preset="fast-cnn")


def _three_models(number: int, steps: tuple[str, ...] = tuple(MODEL_LABELS)) -> tuple:
    """Logistic regression, the MLP and the fast CNN on the same 3,000 digits, as lesson runs."""
    configs = {
        "logreg": get_engine("sklearn").settings_class(subset=SUBSET).validate().to_dict(),
        "mlp": _keras(preset="mlp-relu", epochs=5, subset=SUBSET),
        "cnn": _fast_cnn(subset=SUBSET),
    }
    return tuple(
        LessonRun(step, f"Lesson {number}: {MODEL_LABELS[step]}", configs[step]) for step in steps
    )


def _build_lessons() -> dict[str, Lesson]:
    sgd = {"optimizer": "sgd", "subset": SUBSET, "seed": 0}
    lessons = [
        Lesson(
            "stuck-at-10",
            "Why is my network stuck at 10%?",
            "The same MLP with SGD (learning rate 0.01, momentum 0.9), once on raw pixels "
            "0-255 and once on standardized pixels. Why does one learn and the other not?",
            "Raw pixels: the loss explodes (or accuracy stays at 10%, guessing). Standardized "
            "pixels: about 90% after 3 epochs on 3,000 digits.",
            (
                LessonRun(
                    "raw",
                    "Lesson 1: raw pixels",
                    _keras(
                        preset="mlp-relu",
                        learning_rate=0.01,
                        momentum=0.9,
                        epochs=3,
                        normalization="raw",
                        **sgd,
                    ),
                ),
                LessonRun(
                    "standardized",
                    "Lesson 1: standardized pixels",
                    _keras(
                        preset="mlp-relu",
                        learning_rate=0.01,
                        momentum=0.9,
                        epochs=3,
                        normalization="standardize",
                        **sgd,
                    ),
                ),
            ),
            explain_normalization,
        ),
        Lesson(
            "learning-rate",
            "Learning rate too large / too small",
            "The same MLP with plain SGD at three learning rates: 0.0001, 0.1 and 10.",
            "0.0001 barely moves the loss, 0.1 learns (about 89%), 10 diverges.",
            tuple(
                LessonRun(
                    step,
                    f"Lesson 2: learning rate {rate:g}",
                    _keras(
                        preset="mlp-relu",
                        learning_rate=rate,
                        epochs=3,
                        normalization="scale",
                        **sgd,
                    ),
                )
                for step, rate in (("small", 1e-4), ("good", 0.1), ("large", 10.0))
            ),
            explain_learning_rate,
        ),
        Lesson(
            "deep-sigmoid",
            "Why doesn't the deep sigmoid network learn?",
            "Five layers of 10 sigmoid units against the same five layers with ReLU, both "
            "trained with SGD (learning rate 0.05, momentum 0.9). Watch the gradient flow.",
            "Deep sigmoid stays at about 10% (guessing) with gradients vanishing towards the "
            "first layer; deep ReLU learns (about 60-65% with these tiny layers).",
            tuple(
                LessonRun(
                    step,
                    f"Lesson 3: deep {step}",
                    _keras(
                        preset=f"deep-{step}",
                        learning_rate=0.05,
                        momentum=0.9,
                        epochs=5,
                        normalization="standardize",
                        **sgd,
                    ),
                )
                for step in ("sigmoid", "relu")
            ),
            explain_depth,
        ),
        Lesson(
            "overfitting",
            "Overfitting",
            "A large MLP (two layers of 512 ReLU units) trained for 15 epochs on only 300 "
            "digits, then the same with dropout, then the same on 1,500 digits.",
            "On 300 digits training accuracy hits 100% while validation stays well behind and "
            "its loss climbs; dropout and more data narrow the gap.",
            (
                LessonRun(
                    "small",
                    "Lesson 4: 300 digits",
                    _keras(preset="custom", layers=BIG_MLP, subset=600, val_split=0.5, epochs=15),
                ),
                LessonRun(
                    "dropout",
                    "Lesson 4: 300 digits + dropout",
                    _keras(
                        preset="custom",
                        layers=BIG_MLP_DROPOUT,
                        subset=600,
                        val_split=0.5,
                        epochs=15,
                    ),
                ),
                LessonRun(
                    "more",
                    "Lesson 4: 1,500 digits",
                    _keras(preset="custom", layers=BIG_MLP, subset=3000, val_split=0.5, epochs=15),
                ),
            ),
            explain_overfitting,
        ),
        Lesson(
            "models",
            "Logistic regression vs MLP vs CNN",
            "Three models on the same 3,000 training digits: the logistic-regression baseline, "
            "an MLP with 100 hidden units and a small CNN.",
            "The CNN makes the fewest mistakes, then the MLP, then logistic regression.",
            _three_models(5),
            explain_models,
        ),
        Lesson(
            "adversarial",
            "Adversarial digits: fooled by a change you can barely see",
            "The three models of lesson 5, trained again. Twenty test digits that all three "
            "read correctly are changed, pixel by pixel, as little as possible until each "
            "model reads the next digit (a 7 as an 8). Does a change made for one model fool "
            "the others?",
            "Every model is fooled by changes of a few dozen grey levels per pixel (of 255) "
            "that leave the digit plainly readable; the smallest change made for one model "
            "seldom fools another.",
            _three_models(6),
            explain_adversarial,
            measure_attacks,
        ),
        Lesson(
            "robustness",
            "Shifted digits: why the CNN copes and the MLP does not",
            "An MLP and a CNN trained on the same 3,000 digits, then tested on 2,000 test "
            "digits shifted, rotated, scaled, thickened, blurred and made noisy.",
            "On unchanged digits the CNN is a little better; shifted by 2 or 3 pixels the MLP "
            "loses far more of its accuracy than the CNN; rotations hurt both.",
            _three_models(7, ("mlp", "cnn")),
            explain_robustness,
            measure_corruptions,
        ),
        Lesson(
            "deep-learning",
            "Do we need deep learning?",
            "Three rows of the MNIST table on the same 3,000 training digits: k-nearest "
            "neighbours, logistic regression and the convolutional network LeNet-5. How much "
            "better is the CNN, and what does it cost in training time and parameters?",
            "LeNet-5 makes the fewest mistakes, k-NN comes second without learning anything, "
            "logistic regression last; the CNN pays for it in training time and parameters.",
            tuple(
                LessonRun(step, f"Lesson 8: {LABELS[step]}", ROW[key].config(SUBSET))
                for step, key in STEPS.items()
            ),
            explain_deep_learning,
            measure_costs,
        ),
    ]
    return {lesson.id: lesson for lesson in lessons}


LESSONS: dict[str, Lesson] = _build_lessons()


def get_lesson(lesson_id: str) -> Lesson:
    """The lesson with id ``lesson_id``.

    Raises
    ------
    ValueError
        If there is no such lesson (the message lists the ids).
    """
    if lesson_id not in LESSONS:
        raise ValueError(f"unknown lesson {lesson_id!r}; choose one of {list(LESSONS)}")
    return LESSONS[lesson_id]
