"""Hints that teach, read from a run's own records: overfitting, validation above training,
and a network stuck at chance level with its likely cause.

They read only the ``metrics.jsonl`` records (`mnist_lab.records`) and the run's config, so
every engine's runs get them, live while training and after. The Train and Lessons pages
show them under a run's status; the worker stores their text in ``status.json`` (``hint``)
when a run ends, where the CLI prints it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mnist_lab import records
from mnist_lab.evaluation import CHANCE_LEVEL_ACCURACY, CHANCE_LOSS
from mnist_lab.inspection import VANISHING_RATIO, gradient_flow_table, gradient_ratios

# Epochs the validation loss must have been above its lowest before it counts as overfitting.
OVERFITTING_EPOCHS = 3
# ...and by this much (relative), so that noise around a plateau is not called overfitting.
OVERFITTING_RISE = 0.02
# Validation accuracy this far above training accuracy (in share) deserves an explanation.
VALIDATION_ABOVE_MARGIN = 0.005


@dataclass(frozen=True)
class Hint:
    """One observation about a run, in plain words.

    Attributes
    ----------
    kind : str
        ``"overfitting"``, ``"validation-above-training"`` or ``"chance-level"``.
    text : str
        What the numbers show and what to do about it.
    warning : bool
        Whether something went wrong (shown in yellow) rather than merely explained.
    """

    kind: str
    text: str
    warning: bool


def run_hints(metrics: list[dict], config: dict) -> list[Hint]:
    """Every hint that a run's records support, most important first.

    Parameters
    ----------
    metrics : list of dict
        The run's ``metrics.jsonl`` records.
    config : dict
        Its ``config.json`` (only ``normalization`` is read).

    Returns
    -------
    list of Hint

    Examples
    --------
    >>> epochs = [{"kind": "epoch", "epoch": e, "loss": 0.5 / e, "accuracy": 0.9,
    ...            "val_loss": v, "val_accuracy": 0.9} for e, v in enumerate(
    ...            [0.40, 0.30, 0.35, 0.40, 0.45], start=1)]
    >>> [hint.kind for hint in run_hints(epochs, {})]
    ['overfitting']
    """
    summaries = [r for r in records.summary(metrics).records if not records.is_partial(r)]
    stuck = chance_level(metrics, summaries, config)
    if stuck is not None:
        # At chance level, how validation compares with training says nothing worth reading.
        return [stuck]
    found = [overfitting(summaries), validation_above_training(summaries)]
    return [hint for hint in found if hint is not None]


def overfitting(epochs: list[dict]) -> Hint | None:
    """The validation loss has risen for `OVERFITTING_EPOCHS` epochs while training loss fell."""
    scored = [r for r in epochs if _finite(r.get("val_loss")) and _finite(r.get("loss"))]
    if len(scored) <= OVERFITTING_EPOCHS:
        return None
    best = min(scored, key=lambda r: r["val_loss"])
    last = scored[-1]
    since = last["epoch"] - best["epoch"]
    rose = last["val_loss"] > best["val_loss"] * (1 + OVERFITTING_RISE)
    if since < OVERFITTING_EPOCHS or not rose or last["loss"] >= best["loss"]:
        return None
    return Hint(
        "overfitting",
        f"Overfitting: the validation loss has risen for {since} epochs, from "
        f"{best['val_loss']:.3f} at epoch {best['epoch']} to {last['val_loss']:.3f}, while "
        f"the training loss kept falling ({best['loss']:.3f} to {last['loss']:.3f}). The "
        "network is memorizing its training digits rather than learning what carries over to "
        "new ones. Stop at the lowest validation loss (early stopping), add dropout, or train "
        "on more digits.",
        warning=True,
    )


def validation_above_training(epochs: list[dict]) -> Hint | None:
    """The last epoch's validation accuracy is above its training accuracy: say why."""
    scored = [r for r in epochs if _finite(r.get("val_accuracy")) and _finite(r.get("accuracy"))]
    if not scored:
        return None
    last = scored[-1]
    if last["val_accuracy"] - last["accuracy"] <= VALIDATION_ABOVE_MARGIN:
        return None
    return Hint(
        "validation-above-training",
        f"Validation accuracy ({last['val_accuracy']:.1%}) is above training accuracy "
        f"({last['accuracy']:.1%}) in epoch {last['epoch']}. That is normal, not a bug: the "
        "training accuracy is averaged over the whole epoch while the weights were still "
        "improving, and dropout, where the network has it, switches units off only while "
        "training. Validation is measured once, at the end of the epoch, with every unit on.",
        warning=False,
    )


def chance_level(metrics: list[dict], summaries: list[dict], config: dict) -> Hint | None:
    """The network is no better than guessing after a whole epoch: say the likely cause."""
    scored = [r for r in summaries if _finite(r.get("accuracy")) and _finite(r.get("loss"))]
    if not scored:
        return None
    last = scored[-1]
    if last["accuracy"] >= CHANCE_LEVEL_ACCURACY or last["loss"] < 0.9 * CHANCE_LOSS:
        return None
    where = f"epoch {last['epoch']}" if "epoch" in last else f"{last['iterations']} iterations"
    return Hint(
        "chance-level",
        f"At chance level after {where}: accuracy {last['accuracy']:.1%}, loss "
        f"{last['loss']:.2f} (guessing gives 10% and ln 10 = {CHANCE_LOSS:.2f}). "
        f"{_likely_cause(metrics, config)}",
        warning=True,
    )


def _likely_cause(metrics: list[dict], config: dict) -> str:
    """Why a run sits at chance level, from its inputs, gradients and loss curve."""
    if config.get("normalization") == "raw":
        return (
            "The inputs are raw pixels 0-255: normalize them (scale or standardize), or lower "
            "the learning rate."
        )
    table = gradient_flow_table(metrics)
    if not table.empty and table["depth"].nunique() >= 2:
        ratio = float(gradient_ratios(table).max())
        if ratio >= VANISHING_RATIO:
            return (
                f"The earliest layers get {ratio:,.0f}x less gradient than the last one: the "
                "gradients vanish on their way back, so those layers stay random (see Inside, "
                "Gradient flow). ReLU units or fewer layers let them learn."
            )
    losses = records.loss_trend(metrics)
    falling = all(after < before for before, after in zip(losses, losses[1:], strict=False))
    if len(losses) >= 2 and falling:
        return (
            f"The loss falls, but slowly ({losses[0]:.3f} to {losses[-1]:.3f}): the learning "
            "rate is probably too small. Try it 10x higher."
        )
    return (
        "The loss does not fall below ln 10: the learning rate is probably too large (steps "
        "jump past every valley, or switch units off for good). Try it 10x lower."
    )


def hint_text(hints: list[Hint]) -> str:
    """The hints as one paragraph for ``status.json`` and the command line ("" if none)."""
    return " ".join(hint.text for hint in hints)


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
