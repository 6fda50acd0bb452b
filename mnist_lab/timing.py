"""How long a run will train on this machine, from throughput measured on this machine.

Every finished run records its samples per second in its epoch records; the newest finished
run that trains the same model at the same batch size is the best guess for the next one.
Before any such run exists, a table measured by ``benchmarks/bench_time_to_accuracy.py`` on
the project's 2-core machine (``mnist_lab/data/throughput.json``) gives the presets' speeds.
"""

from __future__ import annotations

import json
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
        rates = [r["samples_per_s"] for r in records.of_kind(run.metrics(), "epoch")]
        if rates:
            return statistics.median(rates), f"run {run.name!r}"
    return None


def shipped_throughput(config: dict) -> tuple[float, str] | None:
    """Samples per second of a preset at its batch size, as measured for the project."""
    try:
        table = json.loads(THROUGHPUT_FILE.read_text())
    except (OSError, ValueError):
        return None
    rate = table.get("samples_per_s", {}).get(str(config.get("label")), {})
    rate = rate.get(str(config.get("batch_size")))
    return (float(rate), table.get("measured_on", "the project's machine")) if rate else None


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
    try:
        n_train = DatasetStore(store.root).n_train(config["dataset"]["name"])
    except ValueError:
        return None
    images = min(config.get("subset") or n_train, n_train) * (1 - config.get("val_split", 0.0))
    return Estimate(images * config["epochs"] / samples_per_s, samples_per_s, source)
