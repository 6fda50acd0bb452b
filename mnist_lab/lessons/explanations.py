"""The lessons' explanations: each reads its runs' numbers and says what they showed.

Every explainer takes ``results``, step key -> `RunResult`, and returns an `Explanation`
whose ``as_expected`` says whether the numbers show the effect the lesson promised.
"""

from __future__ import annotations

import math

from mnist_lab.evaluation import CHANCE_LEVEL_ACCURACY, CHANCE_LOSS
from mnist_lab.lessons.results import Explanation, RunResult

# A gap between training and validation accuracy larger than this is overfitting.
OVERFIT_GAP = 0.1
MODEL_LABELS = {"logreg": "Logistic regression", "mlp": "MLP", "cnn": "CNN"}
# The same models inside a sentence.
MODEL_NOUNS = {"logreg": "logistic regression", "mlp": "the MLP", "cnn": "the CNN"}
# Changes of a pixel up to this many grey levels (a quarter of the range) leave a digit
# plainly readable to a person.
SMALL_CHANGE = 64


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


def _blow_up(result: RunResult) -> str:
    """How a diverged run ended, from its largest loss."""
    if result.peak_loss is None or not math.isfinite(result.peak_loss):
        return "the loss became NaN (not a number) and training was stopped"
    return (
        f"the loss exploded to {result.peak_loss:,.0f} (guessing costs ln 10 = "
        f"{CHANCE_LOSS:.2f}) and training was stopped"
    )


def explain_normalization(results: dict[str, RunResult]) -> Explanation:
    """Lesson "stuck-at-10": raw pixels fail (step ``raw``), ``standardized`` ones learn."""
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


def explain_learning_rate(results: dict[str, RunResult]) -> Explanation:
    """Lesson "learning-rate": ``small`` barely moves, ``good`` learns, ``large`` diverges."""
    names = {"small": "0.0001", "good": "0.1", "large": "10"}
    lines, failed = [], {}
    for step, rate in names.items():
        result = results[step]
        if result.diverged:
            lines.append(f"Learning rate {rate}: {_blow_up(result)}. The steps overshoot.")
            failed[step] = True
            continue
        if len(result.loss_trend) >= 2:
            first, last = result.loss_trend[0], result.loss_trend[-1]
            span = (
                f"from epoch 1 to epoch {len(result.loss_trend)}"
                if result.epochs >= 2
                else "from the first to the last third of its one epoch"
            )
            lines.append(
                f"Learning rate {rate}: {span} the training loss went from {first:.2f} to "
                f"{last:.2f} ({_relative_change(first, last)}); test accuracy "
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


def explain_depth(results: dict[str, RunResult]) -> Explanation:
    """Lesson "deep-sigmoid": gradients vanish through deep ``sigmoid`` layers, not ``relu``."""
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


def explain_overfitting(results: dict[str, RunResult]) -> Explanation:
    """Lesson "overfitting": the gap of the ``small`` set, narrowed by ``dropout`` and ``more``."""
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


def explain_models(results: dict[str, RunResult]) -> Explanation:
    """Lesson "models": ``cnn`` beats ``mlp``, which beats ``logreg`` (logistic regression)."""
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


def explain_adversarial(results: dict[str, RunResult]) -> Explanation:
    """Lesson "adversarial": small changes fool each of the three models, seldom the others."""
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


def explain_robustness(results: dict[str, RunResult]) -> Explanation:
    """Lesson "robustness": shifts cost the MLP far more than the CNN (steps ``mlp``, ``cnn``)."""
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
