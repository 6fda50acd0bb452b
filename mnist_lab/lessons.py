"""Guided experiments: one click trains a few small runs side by side, then the numbers explain.

Each `Lesson` asks a question students meet in their first notebooks ("why is my network stuck
at 10%?"), names the runs that answer it, and says what to expect. The runs are ordinary runs
(they show up on Evaluate and Compare); each carries a ``lesson.json`` tag naming its lesson
and step, so reopening the page finds the last results. `explain` reads the runs' own numbers
(test accuracy, final training and validation metrics, gradient flow) and says what happened.

Settings are small on purpose: subsets of a few thousand digits and a few epochs, so a whole
lesson takes about a minute on a laptop CPU; ``tests/test_lessons.py`` checks that each one
still shows its effect.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mnist_lab import records
from mnist_lab.data import load_mnist
from mnist_lab.engines import engine_of
from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.evaluation import CHANCE_LEVEL_ACCURACY, CHANCE_LOSS
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.explain.adversarial import attack_study
from mnist_lab.explain.robustness import measure_robustness
from mnist_lab.inspection import gradient_flow_reading, gradient_flow_table, gradient_ratios
from mnist_lab.runs import LIVE_STATES, DamagedRunError, Run, RunStore, read_json

LESSON_FILE = "lesson.json"
SUBSET = 3000
BIG_MLP = [{"type": "Dense", "units": 512, "activation": "relu"}] * 2
# Dropout on the pixels too: on a few hundred digits hidden dropout alone barely narrows the gap.
BIG_MLP_DROPOUT = [
    {"type": "Dropout", "rate": 0.3},
    *[{"type": "Dense", "units": 512, "activation": "relu"}, {"type": "Dropout", "rate": 0.5}] * 2,
]
# A gap between training and validation accuracy larger than this is overfitting.
OVERFIT_GAP = 0.1
MODEL_LABELS = {"logreg": "Logistic regression", "mlp": "MLP", "cnn": "CNN"}
# The same models inside a sentence.
MODEL_NOUNS = {"logreg": "logistic regression", "mlp": "the MLP", "cnn": "the CNN"}
# Changes of a pixel up to this many grey levels (a quarter of the range) leave a digit
# plainly readable to a person.
SMALL_CHANGE = 64


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
        The engine config, as `KerasSettings.to_dict` or `LogregSettings.to_dict` writes it.
    """

    step: str
    name: str
    config: dict


@dataclass(frozen=True)
class Explanation:
    """What a lesson's runs showed.

    Attributes
    ----------
    as_expected : bool
        Whether the numbers show the effect the lesson promised.
    verdict : str
        One sentence with the key numbers.
    details : tuple of str
        One short paragraph per run or observation, built from the numbers.
    """

    as_expected: bool
    verdict: str
    details: tuple[str, ...]

    @property
    def text(self) -> str:
        """The verdict and the details as paragraphs of plain text."""
        return "\n\n".join((self.verdict, *self.details))


@dataclass(frozen=True)
class RunResult:
    """The numbers of one run that the explanations read.

    Accuracies and losses are of the last complete epoch (None where not logged, or where
    training was cut short inside its first epoch, as a diverged run is);
    ``peak_loss`` is the largest batch loss seen (inf if it became NaN or infinite);
    ``gradient_ratio`` how many times less gradient the weakest earlier layer got than the
    last layer (see `mnist_lab.inspection.gradient_ratios`), None without gradient records;
    ``measured`` what the lesson's own `Lesson.measure` found on the run's model.
    """

    state: str
    test_accuracy: float | None = None
    n_test: int = 10_000
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    first_loss: float | None = None
    best_val_loss: float | None = None
    best_val_epoch: int | None = None
    epochs: int = 0
    peak_loss: float | None = None
    gradient_ratio: float | None = None
    gradient_reading: str = ""
    message: str = ""
    measured: Mapping[str, Any] = field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        """Whether training blew up (stopped as diverged, or a loss became NaN/infinite)."""
        return self.state == "diverged" or (
            self.peak_loss is not None and not math.isfinite(self.peak_loss)
        )

    @property
    def gap(self) -> float | None:
        """Final training minus validation accuracy: how much the network memorized."""
        if self.train_accuracy is None or self.val_accuracy is None:
            return None
        return self.train_accuracy - self.val_accuracy

    @property
    def mistakes(self) -> int | None:
        """How many test digits the run got wrong."""
        if self.test_accuracy is None:
            return None
        return round((1 - self.test_accuracy) * self.n_test)

    @classmethod
    def from_run(cls, run: Run) -> RunResult:
        """Read a run's status, metrics, evaluation and gradient records (damage tolerated)."""
        status = run.status()
        try:
            evaluation = run.evaluation() or {}
        except DamagedRunError:
            evaluation = {}
        metrics = run.metrics()
        epochs = [r for r in records.summary(metrics).records if not records.is_partial(r)]
        losses = [
            r["loss"]
            for r in metrics
            if r.get("kind") in ("batch", "epoch", "chunk") and r.get("loss") is not None
        ]
        val_losses = [(r["val_loss"], r["epoch"]) for r in epochs if r.get("val_loss") is not None]
        last = epochs[-1] if epochs else {}
        table = gradient_flow_table(metrics)
        # How many times less gradient the weakest earlier layer gets than the last one.
        ratio = float(gradient_ratios(table).max()) if table["depth"].nunique() >= 2 else None
        best = min(val_losses) if val_losses else (None, None)
        return cls(
            state=status["state"],
            test_accuracy=evaluation.get("test_accuracy"),
            n_test=evaluation.get("n_test", 10_000),
            train_accuracy=last.get("accuracy"),
            val_accuracy=last.get("val_accuracy"),
            train_loss=last.get("loss"),
            val_loss=last.get("val_loss"),
            first_loss=losses[0] if losses else None,
            best_val_loss=best[0],
            best_val_epoch=best[1],
            epochs=len(epochs),
            peak_loss=max((_finite_or_inf(loss) for loss in losses), default=None),
            gradient_ratio=ratio,
            gradient_reading=gradient_flow_reading(table) if ratio is not None else "",
            message=status.get("message", ""),
        )


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
        ``explainer(results)`` with ``results`` a dict step -> `RunResult`; use `explain`.
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


def _finite_or_inf(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def _relative_change(before: float, after: float) -> str:
    """How ``after`` compares with ``before``, in words: "35% lower", "0.4% higher".

    Examples
    --------
    >>> _relative_change(2.34, 2.35), _relative_change(2.0, 1.3), _relative_change(1.0, 1.0)
    ('0.4% higher', '35% lower', 'unchanged')
    """
    change = after / before - 1
    if abs(change) < 0.0005:
        return "unchanged"
    size = f"{abs(change):.0%}" if abs(change) >= 0.1 else f"{abs(change):.1%}"
    return f"{size} {'lower' if change < 0 else 'higher'}"


def _pct(value: float | None) -> str:
    return "no test accuracy" if value is None else f"{value:.1%}"


def _keras(**settings) -> dict:
    return KerasSettings(**settings).to_dict()


def _fast_cnn(**settings) -> dict:
    """The fast CNN with its recipe, in smaller batches and more epochs for a small subset.

    On 3,000 digits the recipe's two epochs of batch 256 are only 24 steps; batches of 64
    over five epochs give the one-cycle schedule enough steps, in a few seconds.
    """
    recipe = KerasSettings.recommended({"preset": "fast-cnn"})
    return _keras(
        **{**recipe, "batch_size": 64, "epochs": 5, "val_split": 0.1, **settings}, preset="fast-cnn"
    )


def _blow_up(result: RunResult) -> str:
    """How a diverged run ended, from its largest loss."""
    if result.peak_loss is None or not math.isfinite(result.peak_loss):
        return "the loss became NaN (not a number) and training was stopped"
    return (
        f"the loss exploded to {result.peak_loss:,.0f} (guessing costs ln 10 = "
        f"{CHANCE_LOSS:.2f}) and training was stopped"
    )


def _explain_normalization(results: dict[str, RunResult]) -> Explanation:
    raw, std = results["raw"], results["standardized"]
    raw_failed = raw.diverged or (raw.test_accuracy or 0.0) < CHANCE_LEVEL_ACCURACY
    if raw.diverged:
        raw_text = f"With raw pixels (0-255) {_blow_up(raw)}."
        raw_short = "diverged"
    elif raw_failed:
        raw_text = (
            f"With raw pixels (0-255) the network is stuck at {_pct(raw.test_accuracy)} test "
            f"accuracy, the 10% of guessing; its training loss ended at {raw.train_loss:.2f}, "
            f"right where guessing starts (ln 10 = {CHANCE_LOSS:.2f})."
        )
        raw_short = f"stuck at {_pct(raw.test_accuracy)}"
    else:
        raw_text = (
            f"With raw pixels (0-255) the network did learn this time, to "
            f"{_pct(raw.test_accuracy)}: it was lucky, or the learning rate is small enough."
        )
        raw_short = f"reached {_pct(raw.test_accuracy)}"
    std_text = (
        f"With standardized pixels (mean 0, std 1) the same network, optimizer and learning "
        f"rate reached {_pct(std.test_accuracy)} on the test set, its training loss down to "
        f"{std.train_loss:.2f} after {std.epochs} epochs."
    )
    ok = raw_failed and (std.test_accuracy or 0.0) >= 0.8
    details = [raw_text, std_text]
    if ok:
        details.append(
            "Only the scale of the inputs differs. Pixels up to 255 make the first layer's "
            "weighted sums about a hundred times larger than standardized ones, and so its "
            "gradients: every SGD step (with momentum 0.9) overshoots. Normalizing the inputs "
            "is the first thing to check when a network is stuck at 10% or its loss explodes."
        )
    verdict = f"Raw pixels {raw_short}; standardized pixels reached {_pct(std.test_accuracy)}."
    return Explanation(ok, verdict, tuple(details))


def _explain_learning_rate(results: dict[str, RunResult]) -> Explanation:
    names = {"small": "0.0001", "good": "0.1", "large": "10"}
    lines, failed = [], {}
    for step, rate in names.items():
        result = results[step]
        if result.diverged:
            lines.append(f"Learning rate {rate}: {_blow_up(result)}. The steps overshoot.")
            failed[step] = True
            continue
        if result.first_loss and result.train_loss is not None:
            lines.append(
                f"Learning rate {rate}: in {result.epochs} epochs the training loss went from "
                f"{result.first_loss:.2f} to {result.train_loss:.2f} "
                f"({_relative_change(result.first_loss, result.train_loss)}); test accuracy "
                f"{_pct(result.test_accuracy)}."
            )
        else:
            lines.append(f"Learning rate {rate}: test accuracy {_pct(result.test_accuracy)}.")
        failed[step] = (result.test_accuracy or 0.0) < 0.5
    best = results["good"].test_accuracy or 0.0
    ok = failed["small"] and failed["large"] and not failed["good"]
    if not failed["small"]:
        lines.append("The small rate learned too: train longer runs with it only if time is free.")
    if ok:
        lines.append(
            "A tiny rate takes tiny steps: the loss barely moves and the network stays near "
            "guessing. A huge rate jumps past every valley of the loss. In between the network "
            "learns; try factors of 3 or 10 around it."
        )
    small = "diverged" if results["small"].diverged else _pct(results["small"].test_accuracy)
    large = "diverged" if results["large"].diverged else _pct(results["large"].test_accuracy)
    verdict = f"Learning rate 0.0001: {small}; 0.1: {_pct(best)}; 10: {large}."
    return Explanation(ok, verdict, tuple(lines))


def _explain_depth(results: dict[str, RunResult]) -> Explanation:
    sigmoid, relu = results["sigmoid"], results["relu"]
    lines = []
    for label, result in (("Deep sigmoid", sigmoid), ("Deep ReLU", relu)):
        line = f"{label}: test accuracy {_pct(result.test_accuracy)}"
        if result.gradient_ratio is not None:
            line += (
                f"; near the end of training the weakest earlier layer got "
                f"{result.gradient_ratio:,.1f}x less gradient than the last layer. "
                f"{result.gradient_reading}"
            )
        lines.append(line + ("" if line.endswith(".") else "."))
    gap = (relu.test_accuracy or 0.0) - (sigmoid.test_accuracy or 0.0)
    ok = gap >= 0.3 and (sigmoid.test_accuracy or 0.0) < 0.5
    if ok:
        lines.append(
            "Both networks have the same five layers of 10 units and the same optimizer. A "
            "sigmoid's slope is at most 1/4, so each layer shrinks the gradient on its way "
            "back: the first layers get almost nothing and stay random. ReLU passes gradients "
            "through unchanged where it is active. (With only 10 units per layer even the ReLU "
            "network is limited; a wider one does far better.)"
        )
    verdict = (
        f"Deep sigmoid {_pct(sigmoid.test_accuracy)} vs deep ReLU {_pct(relu.test_accuracy)}: "
        f"{gap * 100:+.0f} points for ReLU."
    )
    return Explanation(ok, verdict, tuple(lines))


def _explain_overfitting(results: dict[str, RunResult]) -> Explanation:
    lines = []
    for step, label in (("small", "Small set"), ("dropout", "With dropout"), ("more", "More data")):
        result = results[step]
        if result.gap is None:
            lines.append(f"{label}: no training and validation accuracy recorded.")
            continue
        line = (
            f"{label}: training accuracy {result.train_accuracy:.1%}, validation "
            f"{result.val_accuracy:.1%}, a gap of {result.gap * 100:.1f} points"
        )
        if result.best_val_loss is not None and result.val_loss is not None:
            rise = result.val_loss - result.best_val_loss
            if rise > 0.05:
                line += (
                    f"; the validation loss was lowest at epoch {result.best_val_epoch} "
                    f"({result.best_val_loss:.2f}) and rose to {result.val_loss:.2f} since"
                )
        lines.append(line + ".")
    gaps = {step: results[step].gap for step in ("small", "dropout", "more")}
    ok = (
        None not in gaps.values()
        and gaps["small"] > OVERFIT_GAP
        and gaps["dropout"] < gaps["small"]
        and gaps["more"] < gaps["small"]
    )
    small, dropout = results["small"], results["dropout"]
    if None not in (small.val_accuracy, dropout.val_accuracy) and dropout.gap is not None:
        change = (dropout.val_accuracy - small.val_accuracy) * 100
        if change > 0:
            effect = "it generalizes better."
        elif dropout.gap < (small.gap or 0.0):
            effect = (
                "the gap narrowed because training got harder, not because validation "
                "improved; on so few digits, more data is the real cure."
            )
        else:
            effect = "it did not help here."
        lines.append(f"Dropout changed the validation accuracy by {change:+.1f} points: {effect}")
    if ok:
        lines.append(
            "On a few hundred digits the large network can memorize every training image: "
            "training accuracy reaches 100% while validation stays behind and its loss climbs. "
            "Dropout (switching off half the units at random while training) makes memorizing "
            "harder; more data makes it impossible. Stop at the lowest validation loss "
            "(early stopping) rather than at the last epoch."
        )
    verdict = (
        "Gap between training and validation accuracy: "
        + ", ".join(
            f"{step} {gap * 100:.1f} points" if gap is not None else f"{step} unknown"
            for step, gap in gaps.items()
        )
        + f" (above {OVERFIT_GAP * 100:.0f} points is overfitting)."
    )
    return Explanation(ok, verdict, tuple(lines))


def _explain_models(results: dict[str, RunResult]) -> Explanation:
    labels = MODEL_LABELS
    lines = [
        f"{labels[step]}: {_pct(results[step].test_accuracy)} test accuracy, "
        f"{results[step].mistakes if results[step].mistakes is not None else 'unknown'} mistakes "
        f"on {results[step].n_test:,} test digits."
        for step in labels
    ]
    accuracy = {step: results[step].test_accuracy or 0.0 for step in labels}
    ranking = sorted(labels, key=accuracy.get, reverse=True)
    ok = ranking == ["cnn", "mlp", "logreg"]
    cnn, mlp = results["cnn"].mistakes, results["mlp"].mistakes
    if ok and cnn is not None and mlp:
        lines.append(
            f"The CNN makes {mlp - cnn} fewer mistakes than the MLP ({1 - cnn / mlp:.0%} fewer). "
            "Logistic regression can only weigh each pixel once; the MLP's hidden layer combines "
            "pixels into strokes; the CNN's small shared filters find the same stroke anywhere "
            "in the image, which is why it wins on the same data."
        )
    verdict = (
        "Ranking on the test set: "
        + " > ".join(f"{labels[step]} ({_pct(results[step].test_accuracy)})" for step in ranking)
        + "."
    )
    return Explanation(ok, verdict, tuple(lines))


def _three_models(number: int, steps: tuple[str, ...] = tuple(MODEL_LABELS)) -> tuple:
    """Logistic regression, the MLP and the fast CNN on the same 3,000 digits, as lesson runs."""
    configs = {
        "logreg": LogregSettings(subset=SUBSET).validate().to_dict(),
        "mlp": _keras(preset="mlp-relu", epochs=5, subset=SUBSET),
        "cnn": _fast_cnn(subset=SUBSET),
    }
    return tuple(
        LessonRun(step, f"Lesson {number}: {MODEL_LABELS[step]}", configs[step]) for step in steps
    )


def _measure_attacks(runs: Mapping[str, Run]) -> dict[str, dict]:
    """The attacks of `mnist_lab.explain.adversarial.attack_study` on the first test digits."""
    dataset = load_mnist()
    return attack_study(runs, dataset.x_test[:200], dataset.y_test[:200])


def _measure_robustness(runs: Mapping[str, Run]) -> dict[str, dict]:
    """Each run's robustness curves (stored in the run), as corruption -> strength -> accuracy."""
    dataset = load_mnist()
    measured = {}
    for step, run in runs.items():
        curves = measure_robustness(run, dataset, model=engine_of(run).load_model(run))
        measured[step] = {
            name: dict(zip(group["strength"], group["accuracy"], strict=True))
            for name, group in curves.groupby("corruption")
        }
    return measured


def _explain_adversarial(results: dict[str, RunResult]) -> Explanation:
    studies = {step: results[step].measured for step in MODEL_LABELS}
    if not all(study.get("digits") for study in studies.values()):
        return Explanation(False, "The attacks could not be measured on every model.", ())
    lines = []
    for step, study in studies.items():
        median = study["median_epsilon"]
        size = "no change found" if median is None else f"a median change of ±{median:.0f}"
        lines.append(
            f"{MODEL_LABELS[step]}: {study['success']:.0%} of the {study['digits']} digits "
            f"turned into the next digit, with {size} grey levels per pixel (of 255)."
        )
    for step, study in studies.items():
        shares = ", ".join(
            f"{share:.0%} also fool {MODEL_NOUNS[other]}"
            for other, share in study["fooled"].items()
        )
        lines.append(f"Of the digits changed for {MODEL_NOUNS[step]}, {shares}.")
    medians = {step: study["median_epsilon"] or math.inf for step, study in studies.items()}
    ok = all(
        study["success"] >= 0.9 and medians[step] <= SMALL_CHANGE for step, study in studies.items()
    )
    hardest = max(medians, key=medians.get)
    if ok:
        lines.append(
            "Every pixel moves a little, each in the direction that helps the target digit "
            "most: hundreds of tiny pushes add up inside the model while a person still reads "
            "the same digit. Each model has blind spots of its own close to every digit, so "
            "the smallest change that fools one seldom fools another (changes made larger than "
            "needed, or aimed at several models at once, are known to transfer more often). "
            "See one for yourself on the Playground: under Why did it say that?, find the "
            "smallest change."
        )
    verdict = (
        "Every model reads another digit after changes that leave it plainly readable to a "
        "person: median "
        + ", ".join(f"±{medians[step]:.0f} ({MODEL_NOUNS[step]})" for step in MODEL_LABELS)
        + f" grey levels per pixel; {MODEL_NOUNS[hardest]} needs the largest change."
    )
    return Explanation(ok, verdict, tuple(lines))


def _explain_robustness(results: dict[str, RunResult]) -> Explanation:
    curves = {step: results[step].measured for step in ("mlp", "cnn")}
    if not all(curve.get("shift") for curve in curves.values()):
        return Explanation(False, "The robustness curves could not be measured.", ())
    lines = []
    for step, curve in curves.items():
        shift, rotation = curve["shift"], curve["rotation"]
        lines.append(
            f"{MODEL_LABELS[step]}: {shift[0.0]:.1%} on unchanged digits, {shift[2.0]:.1%} "
            f"shifted by 2 pixels, {shift[4.0]:.1%} by 4; {rotation[30.0]:.1%} rotated by "
            "30 degrees."
        )
    mlp, cnn = curves["mlp"]["shift"], curves["cnn"]["shift"]
    kept = {step: curve["shift"][2.0] / curve["shift"][0.0] for step, curve in curves.items()}
    ok = cnn[2.0] > mlp[2.0] + 0.1 and cnn[3.0] > mlp[3.0] + 0.1 and kept["cnn"] > kept["mlp"]
    if ok:
        lines.append(
            "Each of the MLP's hidden units weighs fixed pixel positions (see its first-layer "
            "weights on Inside the network): move the digit and the ink lands where other "
            "weights wait. The CNN's small filters slide over the whole image and find a "
            "stroke wherever it is, and max-pooling forgives an offset of a pixel or two, so "
            "shifts cost it far less. A rotation turns the strokes themselves, which sliding "
            "filters do not undo: it hurts both. Training on shifted and rotated copies "
            "(augmentation) is the usual cure. Both runs' curves for every corruption are on "
            "Compare, under Calibration and robustness."
        )
    verdict = (
        f"Shifted by 2 pixels, the CNN keeps {kept['cnn']:.0%} of its accuracy "
        f"({cnn[2.0]:.1%}), the MLP {kept['mlp']:.0%} ({mlp[2.0]:.1%})."
    )
    return Explanation(ok, verdict, tuple(lines))


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
            _explain_normalization,
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
            _explain_learning_rate,
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
            _explain_depth,
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
            _explain_overfitting,
        ),
        Lesson(
            "models",
            "Logistic regression vs MLP vs CNN",
            "Three models on the same 3,000 training digits: the logistic-regression baseline, "
            "an MLP with 100 hidden units and a small CNN.",
            "The CNN makes the fewest mistakes, then the MLP, then logistic regression.",
            _three_models(5),
            _explain_models,
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
            _explain_adversarial,
            _measure_attacks,
        ),
        Lesson(
            "robustness",
            "Shifted digits: why the CNN copes and the MLP does not",
            "An MLP and a CNN trained on the same 3,000 digits, then tested on 2,000 test "
            "digits shifted, rotated, scaled, thickened, blurred and made noisy.",
            "On unchanged digits the CNN is a little better; shifted by 2 or 3 pixels the MLP "
            "loses far more of its accuracy than the CNN; rotations hurt both.",
            _three_models(7, ("mlp", "cnn")),
            _explain_robustness,
            _measure_robustness,
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


def lesson_tag(run: Run) -> dict | None:
    """The run's ``lesson.json`` (``{"lesson": id, "step": key}``), or None if untagged."""
    if not run.file(LESSON_FILE).exists():
        return None
    try:
        return read_json(run.file(LESSON_FILE))
    except DamagedRunError:
        return None


def create_lesson_runs(store: RunStore, lesson: Lesson, owner: str | None = None) -> list[Run]:
    """Create (but do not launch) one tagged run per step of ``lesson``, in order.

    Parameters
    ----------
    store : RunStore
    lesson : Lesson
    owner : str, optional
        Who started the lesson, recorded as each run's owner.

    Returns
    -------
    list of Run
        Queued runs; launch each with ``LocalExecutor(store).launch(run)`` (they queue).
    """
    runs = []
    for lesson_run in lesson.runs:
        run = store.create(lesson_run.config, name=lesson_run.name, owner=owner)
        run.write_json(LESSON_FILE, {"lesson": lesson.id, "step": lesson_run.step})
        runs.append(run)
    return runs


def start_lesson(store: RunStore, lesson: Lesson, owner: str | None = None) -> list[Run]:
    """Create and launch the runs of ``lesson`` for ``owner``; they queue for the training slots.

    Returns
    -------
    list of Run
    """
    executor = LocalExecutor(store)
    runs = create_lesson_runs(store, lesson, owner)
    for run in runs:
        executor.launch(run)
    return runs


def lesson_runs(store: RunStore, lesson: Lesson) -> dict[str, Run]:
    """The newest run of each step of ``lesson`` (steps never run are left out)."""
    found: dict[str, Run] = {}
    for run in store.list():
        tag = lesson_tag(run)
        if tag and tag.get("lesson") == lesson.id and tag.get("step") in lesson.steps:
            found.setdefault(tag["step"], run)
    return {step: found[step] for step in lesson.steps if step in found}


def lesson_state(runs: Mapping[str, Run], lesson: Lesson) -> str:
    """``"new"`` (never run), ``"running"`` (a run is live) or ``"done"``."""
    if not runs:
        return "new"
    if len(runs) < len(lesson.runs) or any(
        run.status()["state"] in LIVE_STATES for run in runs.values()
    ):
        return "running"
    return "done"


def explain(lesson: Lesson, runs: Mapping[str, Run | RunResult]) -> Explanation:
    """Say what a lesson's runs showed, from their own numbers.

    Parameters
    ----------
    lesson : Lesson
    runs : mapping
        Step key -> `Run` (read with `RunResult.from_run`) or `RunResult`, one per step.

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        If a step of the lesson has no run.
    """
    missing = [step for step in lesson.steps if step not in runs]
    if missing:
        raise ValueError(f"lesson {lesson.id!r} has no run yet for step(s) {missing}")
    given = {step: value for step, value in runs.items() if isinstance(value, RunResult)}
    read = {step: value for step, value in runs.items() if step not in given}
    return lesson.explainer({**lesson_results(lesson, read), **given})


def lesson_results(
    lesson: Lesson, runs: Mapping[str, Run], measured: Mapping[str, dict] | None = None
) -> dict[str, RunResult]:
    """Each run's `RunResult`, with what the lesson measures on its model.

    Parameters
    ----------
    lesson : Lesson
    runs : mapping
        Step key -> finished run.
    measured : mapping, optional
        What ``lesson.measure(runs)`` returned, if the caller cached it; measured here
        when omitted (seconds: it asks the runs' models).

    Returns
    -------
    dict
        Step key -> `RunResult`.
    """
    if measured is None and lesson.measure is not None and runs:
        measured = lesson.measure(runs)
    return {
        step: replace(RunResult.from_run(run), measured=(measured or {}).get(step, {}))
        for step, run in runs.items()
    }
