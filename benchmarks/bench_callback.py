"""Benchmark: what `mnist_lab.LabCallback` costs a notebook's ``model.fit``.

The same fit (a small MLP, Adam, batch 32, the same seed) runs with and without
``callbacks=[LabCallback()]``, in one process, alternating which goes first, over several
seeds and repeats. The callback's overhead is reported as a share of the plain fit: per step
(records, progress, the stop check) and in all, with its fixed costs (at the start the model
checked and the run made, at the end the model saved and evaluated on the 10,000 test
digits), which a longer fit pays once. A warm-up fit first pays
TensorFlow's tracing, which both sides would otherwise share unevenly. Wall-clock seconds
are what a student waits; CPU seconds (every thread of this process) are what the callback
adds, and stay meaningful on a machine shared with other work, where wall times swing.

Usage::

    python -m benchmarks.bench_callback                       # 10,000 digits, 2 epochs, 3 seeds
    python -m benchmarks.bench_callback --subset 60000 --epochs 1 --seeds 5 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from mnist_lab import LabCallback  # noqa: E402
from mnist_lab.data import load_mnist  # noqa: E402

BATCH_SIZE = 32


def build(seed: int) -> keras.Model:
    """The classic MLP, with the same initial weights for a given seed."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def clocks() -> np.ndarray:
    """Wall-clock and CPU seconds now."""
    return np.array([time.perf_counter(), time.process_time()])


class TimedLabCallback(LabCallback):
    """LabCallback that also measures its fixed costs: its begin (the model checked, the run
    made) and its end (the model saved and evaluated)."""

    def on_train_begin(self, logs=None):
        started = clocks()
        super().on_train_begin(logs)
        self.fixed = clocks() - started

    def on_train_end(self, logs=None):
        started = clocks()
        super().on_train_end(logs)
        self.fixed += clocks() - started


def timed_fit(seed: int, x, y, epochs: int, runs_dir: str | None):
    """Wall and CPU seconds of one fit, and of the callback's begin and end (zeros without it)."""
    model = build(seed)
    callbacks = (
        [] if runs_dir is None else [TimedLabCallback(name=f"bench {seed}", runs_dir=runs_dir)]
    )
    started = clocks()
    model.fit(
        x,
        y,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        validation_split=0.1,
        verbose=0,
        callbacks=callbacks,
    )
    total = clocks() - started
    return total, callbacks[0].fixed if callbacks else np.zeros(2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subset", type=int, default=10_000, help="training digits")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    data = load_mnist()
    x = data.x_train[: args.subset].astype("float32") / 255
    y = data.y_train[: args.subset]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-callback-") as runs_dir:
        timed_fit(0, x[:1000], y[:1000], 1, runs_dir)  # warm-up: tracing, the test set's load
        for seed in range(args.seeds):
            for repeat in range(args.repeats):
                # Alternate the order, so a machine that speeds up or slows down favours neither.
                order = (None, runs_dir) if (seed + repeat) % 2 == 0 else (runs_dir, None)
                times = {where: timed_fit(seed, x, y, args.epochs, where) for where in order}
                plain = times[None][0]
                total, fixed = times[runs_dir]
                rows.append((seed, repeat, plain, total, fixed))

    print(
        f"LabCallback on model.fit: {args.subset:,} digits, {args.epochs} epochs, "
        f"batch {BATCH_SIZE}, MLP 784-128-10, {os.cpu_count()} CPUs; "
        "overhead = with / plain - 1; steps: without the fixed begin and end"
    )
    header = f"{'plain s':>8} {'with s':>7} {'fixed s':>7} {'steps':>7} {'in all':>7}"
    print(f"{'seed':>4} {'rep':>3}  wall: {header}  cpu: {header}")
    overheads = []
    for seed, repeat, plain, total, fixed in rows:
        steps, in_all = (total - fixed) / plain - 1, total / plain - 1
        overheads.append(np.concatenate([steps, in_all]))
        cells = [
            f"{plain[i]:8.2f} {total[i]:7.2f} {fixed[i]:7.2f} {steps[i]:+7.1%} {in_all[i]:+7.1%}"
            for i in (0, 1)
        ]
        print(f"{seed:>4} {repeat:>3}  wall: {cells[0]}  cpu: {cells[1]}")
    overheads = np.array(overheads)
    for what, values in (("median", np.median(overheads, 0)), ("worst", overheads.max(0))):
        print(
            f"{what:>8}  wall: {'':>24} {values[0]:+7.1%} {values[2]:+7.1%}  "
            f"cpu: {'':>24} {values[1]:+7.1%} {values[3]:+7.1%}"
        )


if __name__ == "__main__":
    main()
