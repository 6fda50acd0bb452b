"""Benchmark: MNIST Lab's Keras engine against a plain ``model.fit`` script.

Both train the same model on the same data with the same seed, optimizer (Adam, 1e-3) and
batch size (32). The plain script is ``model.fit(x, y, batch_size=32, epochs=E, verbose=0)``;
the engine is a real run (``run_worker``), with every live update it makes for the
dashboard and gradient recording forced on. The time spent inside each callback is
measured, so the cost of the live updates is reported as a share of the engine's training.
Each side trains in a fresh process of its own, as a notebook and a worker do, so neither
inherits the other's TensorFlow start-up or thread settings.

Usage::

    python -m benchmarks.bench_training                      # 3 epochs on all 60,000 digits
    python -m benchmarks.bench_training --epochs 3 --presets mlp-relu --repeats 5
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from mnist_lab.engines.keras_net import callbacks  # noqa: E402
from mnist_lab.engines.keras_net.models import build_model  # noqa: E402
from mnist_lab.engines.keras_net.settings import KerasSettings  # noqa: E402
from mnist_lab.engines.keras_net.training import prepare_data  # noqa: E402
from mnist_lab.execution.worker import run_worker  # noqa: E402
from mnist_lab.runs import RunStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
# Which callbacks make up each reported cost.
COSTS = {
    "gradients": [("LayerStatsLogger", "on_train_batch_end")],
    "live updates": [
        ("ReportToRun", None),
        ("HistoryWriter", None),
        ("TensorBoardScalars", None),
        ("LayerStatsLogger", "on_train_begin"),
        ("LayerStatsLogger", "on_epoch_end"),
    ],
    "checkpoints": [("EpochCheckpoint", None)],
}


def _timed(hook, key: tuple, spent: dict):
    """``hook`` wrapped so that each call adds its duration to ``spent[key]``."""

    @functools.wraps(hook)
    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return hook(self, *args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start

    return timed


def time_callback_hooks() -> dict:
    """Wrap every hook of the engine's callbacks to add up its time; return the totals.

    Keys are ``(class name, hook name)``; values are seconds, updated as training runs.
    """
    spent: dict = defaultdict(float)
    for class_name in {name for cost in COSTS.values() for name, _ in cost}:
        cls = getattr(callbacks, class_name)
        for hook in [name for name in vars(cls) if name.startswith("on_")]:
            setattr(cls, hook, _timed(getattr(cls, hook), (class_name, hook), spent))
    return spent


def bench_config(preset: str, samples: int, epochs: int, seed: int) -> KerasSettings:
    """The settings both sides train with (no validation split: the same training data)."""
    return KerasSettings(
        preset=preset,
        optimizer="adam",
        learning_rate=LEARNING_RATE,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        val_split=0.0,
        normalization="scale",
        seed=seed,
        subset=None if samples == 60_000 else samples,
        record_gradients=True,
    )


def plain_script(config: KerasSettings) -> tuple[float, float]:
    """Train as a notebook would, on the engine's own arrays; return (fit seconds, test acc)."""
    data = prepare_data(config)
    keras.utils.set_random_seed(config.seed)
    model = build_model(config.model_layers())
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(data.x_train, data.y_train, batch_size=BATCH_SIZE, epochs=config.epochs, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(data.x_test, data.y_test, batch_size=1024, verbose=0)
    return seconds, float(accuracy)


def engine(config: KerasSettings, spent: dict) -> tuple[float, float, dict]:
    """Train as a run; return (fit seconds, test accuracy, seconds spent in each cost)."""
    spent.clear()
    with tempfile.TemporaryDirectory() as root:
        run = RunStore(root).create(config.to_dict())
        state = run_worker(run.path)
        if state != "finished":
            raise RuntimeError(f"engine run ended {state}: {run.status()['message']}")
        last_epoch = [r for r in run.metrics() if r["kind"] == "epoch"][-1]
        accuracy = run.evaluation()["test_accuracy"]
    costs = {
        cost: sum(
            seconds
            for (class_name, hook), seconds in spent.items()
            if (class_name, None) in parts or (class_name, hook) in parts
        )
        for cost, parts in COSTS.items()
    }
    return last_epoch["elapsed_s"], accuracy, costs


def measure_side(args: argparse.Namespace) -> None:
    """Train one side for one preset in this process and print the result as JSON."""
    config = bench_config(args.side_preset, args.samples, args.epochs, args.seed)
    if args.side == "plain":
        seconds, accuracy = plain_script(config)
        result = {"seconds": seconds, "accuracy": accuracy}
    else:
        spent = time_callback_hooks()
        seconds, accuracy, costs = engine(config, spent)
        hooks = [[cls, hook, value] for (cls, hook), value in spent.items()]
        result = {"seconds": seconds, "accuracy": accuracy, "costs": costs, "hooks": hooks}
    print(json.dumps(result))


def run_side(side: str, preset: str, args: argparse.Namespace) -> dict:
    """Run `measure_side` ``args.repeats`` times, each in a fresh Python process.

    Returns the result of the run with the median time: single timings on a shared
    2-core machine swing by a quarter from one run to the next.
    """
    command = [sys.executable, "-m", "benchmarks.bench_training", "--side", side]
    command += ["--side-preset", preset]
    command += ["--epochs", str(args.epochs), "--samples", str(args.samples)]
    command += ["--seed", str(args.seed)]
    results = []
    for _ in range(args.repeats):
        output = subprocess.run(
            command, check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    return sorted(results, key=lambda result: result["seconds"])[len(results) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=60_000, help="training images used")
    parser.add_argument("--presets", nargs="+", default=["mlp-relu", "simple-cnn"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="median of this many runs")
    parser.add_argument("--side", choices=("plain", "engine"), help=argparse.SUPPRESS)
    parser.add_argument("--side-preset", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        measure_side(args)
        return

    samples = args.samples * args.epochs
    print(
        f"{args.samples:,} training images x {args.epochs} epoch(s), batch {BATCH_SIZE}, Adam; "
        f"median of {args.repeats} runs per side"
    )
    header = (
        f"{'model':<11} {'plain/s':>9} {'engine/s':>9} {'plain s':>8} {'engine s':>9} "
        f"{'speed-up':>8} {'plain acc':>9} {'engine acc':>10} {'gradients':>9} "
        f"{'live upd.':>9} {'checkpts':>8}"
    )
    print(header)
    print("-" * len(header))
    details = []
    for preset in args.presets:
        plain = run_side("plain", preset, args)
        engine_result = run_side("engine", preset, args)
        engine_s = engine_result["seconds"]
        details.append((preset, engine_s, engine_result["hooks"]))
        shares = [f"{engine_result['costs'][cost] / engine_s:>8.1%}" for cost in COSTS]
        print(
            f"{preset:<11} {samples / plain['seconds']:>9,.0f} {samples / engine_s:>9,.0f} "
            f"{plain['seconds']:>8.1f} {engine_s:>9.1f} {plain['seconds'] / engine_s:>7.2f}x "
            f"{plain['accuracy']:>9.4f} {engine_result['accuracy']:>10.4f} "
            f"{shares[0]:>9} {shares[1]:>9} {shares[2]:>8}",
            flush=True,
        )
    print(
        "\nplain: model.fit(x, y, batch_size=32, epochs=E, verbose=0); engine: a full run "
        "(live metrics, status, gradient flow, histograms, history, TensorBoard, checkpoints).\n"
        "gradients / live upd. / checkpts: time inside those callbacks, as a share of the "
        "engine's training time (the engine s column, which includes them)."
    )
    print("\nSeconds inside each callback hook:")
    for preset, engine_s, hooks in details:
        for class_name, hook, seconds in sorted(hooks, key=lambda item: -item[2]):
            print(
                f"  {preset:<11} {class_name + '.' + hook:<42} {seconds:7.3f} s "
                f"({seconds / engine_s:.1%})"
            )


if __name__ == "__main__":
    main()
