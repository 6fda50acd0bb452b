"""How long a run will train on this machine, from throughput measured on this machine.

Every finished run records its samples per second in its epoch records; the newest finished
run that trains the same model at the same batch size is the best guess for the next one.
Before any such run exists, a table measured by ``benchmarks/bench_time_to_accuracy.py`` on
the project's 2-core machine (``mnist_lab/data/throughput.json``) gives the presets' speeds,
and the multiply-adds per second the fastest of them trains at.

A run that would hold a training slot longer than ``$MNIST_LAB_MAX_RUN_MINUTES`` is refused
(`cost_refusal`): its expected time comes from an alike run when there is one, else from its
model's multiply-adds per image, the images and the epochs at the measured rate. That rate is
the fastest measured, so only runs that are surely too long are refused.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

from mnist_lab import records
from mnist_lab.datasets import DatasetStore
from mnist_lab.engines import get_engine
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import RunStore
from mnist_lab.settings import Settings

THROUGHPUT_FILE = Path(__file__).resolve().parent / "data" / "throughput.json"
# With the settings each engine declares `decides_speed`, what makes two runs equally fast.
SPEED_KEYS = ("engine", "label")
MAX_RUN_MINUTES_ENV = "MNIST_LAB_MAX_RUN_MINUTES"
# A run holds one of the class's few training slots: half an hour is most of a lesson.
DEFAULT_MAX_RUN_MINUTES = 30.0


@dataclass(frozen=True)
class Estimate:
    """An expected training time and where its throughput comes from.

    Attributes
    ----------
    seconds : float
        Expected seconds of training, all epochs (validation passes not counted).
    samples_per_s : float
    source : str
        In words: an earlier run's name, or the shipped measurement.
    """

    seconds: float
    samples_per_s: float
    source: str


def speed_key(config: dict) -> dict:
    """The part of a run's ``config.json`` that decides its speed per sample.

    That is its engine and label, and the settings its engine declares `decides_speed`
    (the model's layers, the batch size...).
    """
    try:
        declared = get_engine(config.get("engine")).settings_class.declared()
    except ValueError:
        declared = {}
    keys = [*SPEED_KEYS, *(name for name, s in declared.items() if s.decides_speed)]
    return {key: config.get(key) for key in keys if key in config}


def measured_throughput(store: RunStore, config: dict) -> tuple[float, str] | None:
    """Samples per second of the newest finished run of the same model and batch size."""
    wanted = speed_key(config)
    for run in store.list():
        try:
            if speed_key(run.config()) != wanted or run.status()["state"] != "finished":
                continue
        except DamagedRunError:
            continue
        # A record written elsewhere (a notebook, a hand edit) may lack the optional field.
        rates = [
            rate
            for r in records.of_kind(run.metrics(), "epoch")
            if isinstance(rate := r.get("samples_per_s"), int | float) and rate > 0
        ]
        if rates:
            return statistics.median(rates), f"run {run.name!r}"
    return None


def shipped_throughput(config: dict) -> tuple[float, str] | None:
    """Samples per second of a preset at its batch size, as measured for the project."""
    table = _shipped_table()
    rate = table.get("samples_per_s", {}).get(str(config.get("label")), {})
    rate = rate.get(str(config.get("batch_size")))
    return (float(rate), table.get("measured_on", "the project's machine")) if rate else None


def _shipped_table() -> dict:
    try:
        return json.loads(THROUGHPUT_FILE.read_text())
    except (OSError, ValueError):
        return {}


def expected_training(store: RunStore, settings: Settings) -> Estimate | None:
    """The expected training time of ``settings``, or None without a measurement to go by.

    Only for engines that train in epochs over the training images.
    """
    return expected_for_config(store, settings.to_dict())


def expected_for_config(
    store: RunStore, config: dict, throughputs: dict | None = None
) -> Estimate | None:
    """`expected_training` of a run's ``config.json`` (a queued run's, say).

    Parameters
    ----------
    store : RunStore
    config : dict
    throughputs : dict, optional
        Shared between calls (say, for every run of a queue): each model's throughput is
        then looked up once, not by reading every run again.
    """
    if "epochs" not in config:
        return None
    key = json.dumps(speed_key(config), sort_keys=True, default=str)
    if throughputs is not None and key in throughputs:
        found = throughputs[key]
    else:
        found = measured_throughput(store, config) or shipped_throughput(config)
        if throughputs is not None:
            throughputs[key] = found
    if found is None:
        return None
    samples_per_s, source = found
    images = training_images(store, config)
    if images is None:
        return None
    return Estimate(images * config["epochs"] / samples_per_s, samples_per_s, source)


def training_images(store: RunStore, config: dict) -> float | None:
    """How many images one epoch of ``config`` trains on; None if its dataset is unknown."""
    try:
        n_train = DatasetStore(store.root).n_train(config["dataset"]["name"])
    except ValueError:
        return None
    return min(config.get("subset") or n_train, n_train) * (1 - config.get("val_split", 0.0))


def max_run_minutes() -> float | None:
    """The longest run the lab trains, in minutes: ``$MNIST_LAB_MAX_RUN_MINUTES`` (0: any).

    Raises
    ------
    ValueError
        If the variable is not a number >= 0.
    """
    value = os.environ.get(MAX_RUN_MINUTES_ENV, "").strip() or str(DEFAULT_MAX_RUN_MINUTES)
    try:
        minutes = float(value)
    except ValueError:
        minutes = math.nan
    if not math.isfinite(minutes) or minutes < 0:
        raise ValueError(f"{MAX_RUN_MINUTES_ENV} must be a number of minutes >= 0, got {value!r}")
    return minutes or None


def cost_refusal(store: RunStore, settings: Settings) -> str | None:
    """Why a run of ``settings`` would hold a training slot too long; None if it would not.

    Parameters
    ----------
    store : RunStore
        Where alike runs and the datasets are looked up.
    settings : Settings

    Returns
    -------
    str or None
        In words: the expected time, what it comes from, and the limit with its variable.
    """
    limit = max_run_minutes()
    if limit is None:
        return None
    config = settings.to_dict()
    estimate = expected_training(store, settings)
    if estimate is not None:
        why = f"{estimate.samples_per_s:,.0f} samples/s, measured by {estimate.source}"
    else:
        estimate, why = _estimate_from_multiply_adds(store, settings, config)
    if estimate is None or estimate.seconds <= limit * 60:
        return None
    return (
        f"this run would take about {_duration(estimate.seconds)} on this machine ({why}); "
        f"the lab's limit is {_duration(limit * 60)} per run ({MAX_RUN_MINUTES_ENV}): use a "
        "smaller model (fewer filters or units, pooling sooner), fewer epochs or a subset"
    )


def _estimate_from_multiply_adds(
    store: RunStore, settings: Settings, config: dict
) -> tuple[Estimate | None, str]:
    """The time of ``settings`` at the fastest measured multiply-adds per second, and why."""
    table = _shipped_table()
    multiply_adds, rate = settings.multiply_adds_per_image(), table.get("multiply_adds_per_s")
    images = training_images(store, config)
    if not multiply_adds or not rate or images is None or "epochs" not in config:
        return None, ""
    measured_on = table.get("measured_on", "the project's machine")
    why = (
        f"{multiply_adds / 1e6:,.0f} million multiply-adds per image, {images:,.0f} images, "
        f"{config['epochs']} epochs, at the {rate / 1e9:.0f} billion a second measured on "
        f"{measured_on}"
    )
    seconds = images * config["epochs"] * multiply_adds / rate
    return Estimate(seconds, rate / multiply_adds, measured_on), why


def _duration(seconds: float) -> str:
    """Seconds in words, rounded as an estimate deserves.

    Examples
    --------
    >>> _duration(40), _duration(1800), _duration(3 * 3600 + 1000)
    ('1 min', '30 min', '3 h 17 min')
    """
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return (
        f"{hours} h {minutes} min"
        if hours and minutes
        else f"{hours} h"
        if hours
        else f"{minutes} min"
    )
