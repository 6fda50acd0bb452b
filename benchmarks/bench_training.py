"""Benchmark: MNIST Lab's Keras engine against a plain ``model.fit`` script.

Both train the same model on the same data with the same seed, optimizer (Adam, 1e-3) and
batch size (32). The plain script is ``model.fit(x, y, batch_size=32, epochs=E, verbose=0)``;
the engine is a real run (``run_worker``), with every live update it makes for the
dashboard and gradient recording forced on. The time spent inside each callback is
measured, so the cost of the live updates is reported as a share of the engine's training.

Usage::

    python benchmarks/bench_training.py                      # 1 epoch on all 60,000 digits
    python benchmarks/bench_training.py --epochs 2 --presets mlp-relu
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from collections import defaultdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from mnist_lab import callbacks  # noqa: E402
from mnist_lab.config import TrainConfig  # noqa: E402
from mnist_lab.models import build_model  # noqa: E402
from mnist_lab.runs import RunStore  # noqa: E402
from mnist_lab.training import prepare_data  # noqa: E402
from mnist_lab.worker import run_worker  # noqa: E402

BATCH_SIZE = 32
LEARNING_RATE = 1e-3
# Which callbacks make up each reported cost.
COSTS = {
    "gradients": [("LayerStatsLogger", "on_train_batch_end")],
    "live updates": [
        ("RunLogger", None),
        ("StopOnRequest", None),
        ("DivergenceGuard", None),
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


def bench_config(preset: str, samples: int, epochs: int, seed: int) -> TrainConfig:
    """The settings both sides train with (no validation split: the same training data)."""
    return TrainConfig(
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


def plain_script(config: TrainConfig) -> tuple[float, float]:
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


def engine(config: TrainConfig, spent: dict) -> tuple[float, float, dict]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--samples", type=int, default=60_000, help="training images used")
    parser.add_argument("--presets", nargs="+", default=["mlp-relu", "simple-cnn"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    spent = time_callback_hooks()
    samples = args.samples * args.epochs

    print(f"{args.samples:,} training images x {args.epochs} epoch(s), batch {BATCH_SIZE}, Adam")
    header = (
        f"{'model':<11} {'plain/s':>9} {'engine/s':>9} {'plain s':>8} {'engine s':>9} "
        f"{'speed-up':>8} {'plain acc':>9} {'engine acc':>10} {'gradients':>9} "
        f"{'live upd.':>9} {'checkpts':>8}"
    )
    print(header)
    print("-" * len(header))
    details = []
    for preset in args.presets:
        config = bench_config(preset, args.samples, args.epochs, args.seed)
        plain_s, plain_acc = plain_script(config)
        engine_s, engine_acc, costs = engine(config, spent)
        details.append((preset, engine_s, dict(spent)))
        shares = [f"{costs[cost] / engine_s:>8.1%}" for cost in COSTS]
        print(
            f"{preset:<11} {samples / plain_s:>9,.0f} {samples / engine_s:>9,.0f} "
            f"{plain_s:>8.1f} {engine_s:>9.1f} {plain_s / engine_s:>7.2f}x "
            f"{plain_acc:>9.4f} {engine_acc:>10.4f} {shares[0]:>9} {shares[1]:>9} {shares[2]:>8}",
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
        for (class_name, hook), seconds in sorted(hooks.items(), key=lambda item: -item[1]):
            print(
                f"  {preset:<11} {class_name + '.' + hook:<42} {seconds:7.3f} s "
                f"({seconds / engine_s:.1%})"
            )


if __name__ == "__main__":
    main()
