"""How fast is the from-scratch NumPy engine next to Keras, and what does gradient recording cost?

Prints one table::

    python -m benchmarks.bench_scratch               # all rows, 2 epochs on all 54,000 images
    python -m benchmarks.bench_scratch --epochs 1 --subset 20000

Rows:

* the NumPy engine's `train_run` (784-20-10 sigmoid, SGD, batch 32), logging included;
* plain ``model.fit`` of the same network in Keras, same batch size, one step per call, and
  with ``steps_per_execution=64`` as the Keras engine runs it (first epoch excluded: tracing);
* the Keras engine's `train_run` on the deep-sigmoid preset with gradient recording on and
  off, whose difference is the recording's share of the training time.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from mnist_lab.data import load_mnist, train_validation_split
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.engines.numpy_net.training import train_run
from mnist_lab.preprocess import fit_normalizer
from mnist_lab.runs import RunStore

BATCH_SIZE = 32
LEARNING_RATE = 0.5


def numpy_engine(epochs: int, subset: int | None) -> dict:
    """Train the NumPy engine as a run; throughput from its own epoch records."""
    config = NumpyNetSettings(
        epochs=epochs, subset=subset, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE
    )
    run = RunStore(tempfile.mkdtemp()).create(config.to_dict())
    outcome = train_run(run)
    last = [r for r in run.metrics() if r["kind"] == "epoch"][-1]
    return {
        "what": "NumPy engine train_run (784-20-10)",
        "samples_per_s": last["samples_per_s"],
        "note": f"{outcome.state}, test accuracy {run.evaluation()['test_accuracy']:.2%}",
    }


def keras_fit(epochs: int, subset: int | None, steps_per_execution: int) -> dict:
    """Plain ``model.fit`` of the same 784-20-10 sigmoid network; the first epoch is warm-up."""
    import keras

    dataset = load_mnist()
    x, y = dataset.x_train[:subset], dataset.y_train[:subset]
    x_train, y_train, _, _ = train_validation_split(x, y, 0.1, seed=0)
    x_train = fit_normalizer("scale", x_train).transform(x_train)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(20, activation="sigmoid"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, verbose=0)
    elapsed = time.perf_counter() - started
    return {
        "what": f"Keras model.fit, steps_per_execution={steps_per_execution}",
        "samples_per_s": len(x_train) * epochs / elapsed,
        "note": "same network and batch size",
    }


def keras_engine_seconds(record_gradients: bool, epochs: int, subset: int | None) -> float:
    """Wall time of the Keras engine's ``train_run`` on deep-sigmoid (build, fit, evaluate)."""
    from mnist_lab.engines.keras_net.settings import KerasSettings
    from mnist_lab.engines.keras_net.training import train_run as keras_train_run

    config = KerasSettings(
        preset="deep-sigmoid",
        optimizer="sgd",
        learning_rate=0.1,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        subset=subset,
        record_gradients=record_gradients,
    )
    run = RunStore(tempfile.mkdtemp()).create(config.to_dict())
    started = time.perf_counter()
    keras_train_run(run)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--subset", type=int, default=None, help="training images (all: 60,000)")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many engine runs")
    args = parser.parse_args()

    rows = [numpy_engine(args.epochs, args.subset)]
    rows += [keras_fit(args.epochs, args.subset, steps) for steps in (1, 64)]
    print(f"{'what':<45} {'samples/s':>10}  note")
    for row in rows:
        print(f"{row['what']:<45} {row['samples_per_s']:>10,.0f}  {row['note']}")

    # Best of a few repeats: the machine is shared, so the minimum is the least disturbed.
    on = min(keras_engine_seconds(True, args.epochs, args.subset) for _ in range(args.repeats))
    off = min(keras_engine_seconds(False, args.epochs, args.subset) for _ in range(args.repeats))
    print(
        f"\nKeras engine, deep-sigmoid, {args.epochs} epoch(s): gradient recording on {on:.1f} s, "
        f"off {off:.1f} s -> recording is {(on - off) / on:.1%} of the training time"
    )


if __name__ == "__main__":
    main()
