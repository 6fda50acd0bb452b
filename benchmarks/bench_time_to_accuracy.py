"""Benchmark: how fast each preset's recipe reaches 97 / 98 / 99 / 99.2 / 99.5% test accuracy.

Every preset trains with its recipe (``KerasSettings.recommended``) on all 60,000 digits, with
each of the seeds asked (seed 0 unless ``--seeds`` says otherwise), the way the engine compiles
it; after each epoch the test accuracy is measured and the clock is paused while it is. Over
several seeds a second table gives every seed's test accuracy, the median and the worst, and
how many seeds reach the accuracy the preset's description promises (`MARKS`); the
time-to-accuracy table then shows the median seed's curve. Beside the presets, in the same
run: the keras.io ``mnist_convnet`` example as published (scaled inputs, batch 128, 15 epochs,
10% validation split), and a plain ``model.fit`` of the fast CNN's recipe (no
``steps_per_execution``, default threads).

A last table compares the engine's real run (``run_worker``: live records, status,
checkpoints, TensorBoard, optionally gradient recording) with a bare script that compiles the
same model the same way and calls ``fit`` without callbacks: the engine's own cost.

Every measurement runs in a fresh process, as a notebook or a worker would.

Usage::

    python -m benchmarks.bench_time_to_accuracy                       # every preset
    python -m benchmarks.bench_time_to_accuracy --presets fast-cnn strong-cnn
    python -m benchmarks.bench_time_to_accuracy --presets fast-cnn --repeats 3  # medians of 3
    python -m benchmarks.bench_time_to_accuracy --presets fast-cnn --seeds 0-9 --recipes-only
    python -m benchmarks.bench_time_to_accuracy --write-throughput    # also ship the speeds
    python -m benchmarks.bench_time_to_accuracy --cost-only           # only the engine's cost
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = (0.97, 0.98, 0.99, 0.992, 0.995)
FAST = "fast-cnn"
KERAS_IO_EPOCHS = 15
# The test accuracy each preset's description promises; the seeds table counts who reach it.
MARKS = {"fast-cnn": 0.992, "strong-cnn": 0.995}


def recipe_settings(preset: str, seed: int = 0, **changes):
    """The preset with its recipe on all the training digits, with ``seed``."""
    from mnist_lab.engines.keras_net.settings import KerasSettings

    values = {**KerasSettings.recommended({"preset": preset}), "seed": seed, **changes}
    return KerasSettings(preset=preset, **values).validate()


def accuracy_on(model, x_test, y_test) -> float:
    """The share of ``x_test`` that ``model`` predicts as its integer label in ``y_test``.

    From the predictions, not ``evaluate()``: a recipe with label smoothing trains on one-hot
    targets, which integer labels would not match.
    """
    predicted = model.predict(x_test, batch_size=2048, verbose=0).argmax(axis=1)
    return float((predicted == y_test).mean())


def accuracy_clock(x_test, y_test):
    """A Keras callback: test accuracy after every epoch, with the clock paused meanwhile.

    ``y_test`` holds the test labels as integers. Its ``points`` are ``(epoch, seconds of
    training so far, test accuracy)``.
    """
    import keras

    class AccuracyClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.paused, self.points = time.perf_counter(), 0.0, []

        def on_epoch_end(self, epoch, logs=None):
            pause = time.perf_counter()
            accuracy = accuracy_on(self.model, x_test, y_test)
            self.points.append((epoch + 1, pause - self.start - self.paused, accuracy))
            self.paused += time.perf_counter() - pause

    return AccuracyClock()


def curve_engine(preset: str, seed: int = 0, plain: bool = False) -> dict:
    """Train like the engine (or like a plain script) and return the per-epoch curve."""
    import keras

    from mnist_lab.engines.keras_net.models import build_model
    from mnist_lab.engines.keras_net.training import (
        compile_model,
        configure_threads,
        fit_targets,
        make_loss,
        make_optimizer,
        prepare_data,
    )

    settings = recipe_settings(preset, seed)
    if not plain:
        configure_threads(settings.model_layers())
    keras.utils.set_random_seed(settings.seed)
    data = prepare_data(settings)
    steps_per_epoch = math.ceil(len(data.x_train) / settings.batch_size)
    if plain:
        model = build_model(settings.model_layers())
        model.compile(
            optimizer=make_optimizer(settings, steps_per_epoch),
            loss=make_loss(settings),
            metrics=["accuracy"],
        )
    else:
        model = compile_model(settings, steps_per_epoch)
    clock = accuracy_clock(data.x_test, data.y_test)
    model.fit(
        data.x_train,
        fit_targets(settings, data.y_train),
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        verbose=0,
        callbacks=[clock],
    )
    return {"points": clock.points, "samples": len(data.x_train)}


def curve_keras_io(seed: int = 0) -> dict:
    """The keras.io ``mnist_convnet`` example, as published, with the same clock."""
    import keras
    import numpy as np

    from mnist_lab.data import load_mnist

    keras.utils.set_random_seed(seed)
    dataset = load_mnist()
    x_train = (dataset.x_train.astype("float32") / 255)[..., np.newaxis]
    x_test = (dataset.x_test.astype("float32") / 255)[..., np.newaxis]
    y_train = keras.utils.to_categorical(dataset.y_train, 10)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    clock = accuracy_clock(x_test, dataset.y_test)
    model.fit(
        x_train,
        y_train,
        batch_size=128,
        epochs=KERAS_IO_EPOCHS,
        validation_split=0.1,
        verbose=0,
        callbacks=[clock],
    )
    return {"points": clock.points, "samples": round(len(x_train) * 0.9)}


def engine_run(preset: str, record_gradients: bool) -> dict:
    """A real run through the worker; fit seconds from its own epoch records."""
    from mnist_lab.execution.worker import run_worker
    from mnist_lab.records import of_kind
    from mnist_lab.runs import RunStore

    settings = recipe_settings(preset, record_gradients=record_gradients)
    run = RunStore(tempfile.mkdtemp()).create(settings.to_dict())
    assert run_worker(run.path) == "finished", run.status()["message"]
    last = of_kind(run.metrics(), "epoch")[-1]
    return {"seconds": last["elapsed_s"], "accuracy": run.evaluation()["test_accuracy"]}


def bare_run(preset: str) -> dict:
    """The engine's compiled model and data, ``fit`` with nothing but a clock."""
    import keras

    from mnist_lab.engines.keras_net.training import (
        compile_model,
        configure_threads,
        fit_targets,
        prepare_data,
    )

    settings = recipe_settings(preset)
    configure_threads(settings.model_layers())
    keras.utils.set_random_seed(settings.seed)
    data = prepare_data(settings)
    model = compile_model(settings, math.ceil(len(data.x_train) / settings.batch_size))

    class SpanClock(keras.callbacks.Callback):
        """The span the engine's ``elapsed_s`` covers: training begins to the last epoch's end."""

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start

    clock = SpanClock()
    model.fit(
        data.x_train,
        fit_targets(settings, data.y_train),
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        verbose=0,
        callbacks=[clock],
    )
    return {"seconds": clock.seconds, "accuracy": accuracy_on(model, data.x_test, data.y_test)}


# kind -> what it measures, given the preset and the seed (the engine's cost runs seed 0).
MEASUREMENTS = {
    "engine": lambda preset, seed: curve_engine(preset, seed),
    "plain": lambda preset, seed: curve_engine(preset, seed, plain=True),
    "keras-io": lambda preset, seed: curve_keras_io(seed),
    "run": lambda preset, seed: engine_run(preset, record_gradients=False),
    "run-gradients": lambda preset, seed: engine_run(preset, record_gradients=True),
    "bare": lambda preset, seed: bare_run(preset),
}


def measure(kind: str, preset: str = "", seed: int = 0) -> dict:
    """Run one measurement in a fresh Python process and return its JSON result."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "benchmarks.bench_time_to_accuracy", "--one", kind]
    output = subprocess.run(
        [*command, preset, str(seed)], capture_output=True, text=True, env=env, cwd=ROOT
    )
    if output.returncode != 0:
        raise RuntimeError(f"{kind} {preset} seed {seed} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def parse_seeds(text: str) -> list[int]:
    """The seeds ``--seeds`` names: ``"0-9"`` is seeds 0 to 9, ``"3"`` seed 3 alone.

    Examples
    --------
    >>> parse_seeds("0-4"), parse_seeds("7")
    ([0, 1, 2, 3, 4], [7])
    """
    first, _, last = text.partition("-")
    seeds = []
    if first.isdigit() and (last or first).isdigit():
        seeds = list(range(int(first), int(last or first) + 1))
    if not seeds:
        raise argparse.ArgumentTypeError(
            f"seeds are FIRST-LAST (0-9) or one seed (3), not {text!r}"
        )
    return seeds


def reached(points: list, threshold: float) -> str:
    """``"e2 · 8.1 s"``: the first epoch at or above ``threshold``, or a dash."""
    for epoch, seconds, accuracy in points:
        if accuracy >= threshold:
            return f"e{epoch} · {seconds:.1f} s"
    return "—"


def median_curve(results: list[dict]) -> dict:
    """One curve from several tries: each epoch's median seconds and median accuracy."""
    by_epoch = zip(*(result["points"] for result in results), strict=True)
    points = [
        (
            epoch[0][0],
            statistics.median(p[1] for p in epoch),
            statistics.median(p[2] for p in epoch),
        )
        for epoch in by_epoch
    ]
    return {"points": points, "samples": results[0]["samples"]}


def median_seed(curves: dict[int, dict]) -> int:
    """The seed whose final test accuracy is the median (the lower middle of an even count).

    Examples
    --------
    >>> curve = lambda accuracy: {"points": [(1, 4.0, accuracy)]}
    >>> median_seed({0: curve(0.993), 1: curve(0.991), 2: curve(0.995), 3: curve(0.992)})
    3
    """
    finals = {seed: curve["points"][-1][2] for seed, curve in curves.items()}
    middle = statistics.median_low(finals.values())
    return next(seed for seed, accuracy in finals.items() if accuracy == middle)


def measure_rows(kinds: dict, seeds: list[int], repeats: int) -> dict[str, dict[int, list]]:
    """Every row's tries, by seed: ``{row: {seed: [curve, ...]}}``.

    Rounds of every row and seed in turn, so a slow spell of the machine falls on all rows
    alike.
    """
    tries = {name: {seed: [] for seed in seeds} for name in kinds}
    for round_ in range(repeats):
        for seed in seeds:
            for name, (kind, preset) in kinds.items():
                curve = measure(kind, preset, seed)
                tries[name][seed].append(curve)
                _, seconds, accuracy = curve["points"][-1]
                # Long runs of many seeds show each result as it comes.
                print(
                    f"measured {name}, seed {seed}, try {round_ + 1}: {accuracy:.2%} "
                    f"in {seconds:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    return tries


def print_curves(rows: dict, tries: dict) -> None:
    """The time-to-accuracy table, one row per model, with every try's total seconds.

    ``rows`` holds each model's curve (its median seed's), ``tries`` each model's tries.
    """
    header = ["model", "epochs", *[f"{t:.1%}" for t in THRESHOLDS], "final", "samples/s"]
    header.append("each try (s)")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, result in rows.items():
        points = result["points"]
        epochs, seconds, accuracy = points[-1]
        rate = result["samples"] * epochs / seconds
        cells = [reached(points, t) for t in THRESHOLDS]
        each = ", ".join(f"{result['points'][-1][1]:.1f}" for result in tries[name])
        print(
            f"| {name} | {epochs} | "
            + " | ".join(cells)
            + f" | {accuracy:.2%} in {seconds:.1f} s | {rate:,.0f} | {each} |"
        )


def print_seeds(curves: dict[str, dict[int, dict]], marks: dict[str, float | None]) -> None:
    """Each model's final test accuracy on every seed, the median, the worst, who reach the mark.

    ``curves`` holds ``{model: {seed: curve}}``, ``marks`` the accuracy each model promises
    (None where it promises none).
    """
    print("| model | each seed's test accuracy | median | worst | at the mark | median seconds |")
    print("|---|---|---|---|---|---|")
    for name, by_seed in curves.items():
        finals = {seed: curve["points"][-1][2] for seed, curve in by_seed.items()}
        each = ", ".join(f"{seed}: {accuracy:.2%}" for seed, accuracy in finals.items())
        mark = marks[name]
        reaching = (
            "—"
            if mark is None
            else f"{sum(a >= mark for a in finals.values())} of {len(finals)} at {mark:.1%}"
        )
        seconds = statistics.median(curve["points"][-1][1] for curve in by_seed.values())
        print(
            f"| {name} | {each} | {statistics.median(finals.values()):.2%} | "
            f"{min(finals.values()):.2%} | {reaching} | {seconds:.1f} |"
        )


def print_engine_cost(repeats: int) -> None:
    """The engine's own cost: bare ``fit`` against real runs, alternated, medians of ``repeats``."""
    kinds = {"bare script, same compile": "bare", "engine run": "run"}
    kinds["engine run + gradients"] = "run-gradients"
    results = {label: [] for label in kinds}
    # Alternated, so a burst of load elsewhere falls on every kind alike.
    for _ in range(repeats):
        for label, kind in kinds.items():
            results[label].append(measure(kind, FAST))
    print(
        f"\nThe engine's own cost on the {FAST} recipe (fit seconds, median of {repeats}; "
        "test accuracy):\n"
    )
    print("| training | seconds | all tries | test accuracy | cost |")
    print("|---|---|---|---|---|")
    bare = statistics.median(r["seconds"] for r in results["bare script, same compile"])
    for label, tries in results.items():
        seconds = statistics.median(r["seconds"] for r in tries)
        cost = "—" if kinds[label] == "bare" else f"{seconds / bare - 1:+.1%}"
        every = ", ".join(f"{r['seconds']:.1f}" for r in tries)
        print(f"| {label} | {seconds:.1f} | {every} | {tries[0]['accuracy']:.2%} | {cost} |")


def write_throughput(presets: list[str], rows: dict) -> None:
    """Ship each preset's samples/s (its median seed's), which ``mnist_lab.timing`` reads."""
    from mnist_lab.timing import THROUGHPUT_FILE

    table = {"measured_on": "the project's 2-core machine", "samples_per_s": {}}
    multiply_adds_per_s = []
    for preset in presets:
        result = rows[row_name(preset)]
        epochs, seconds, _ = result["points"][-1]
        batch = recipe_settings(preset).batch_size
        rate = round(result["samples"] * epochs / seconds)
        table["samples_per_s"][preset] = {str(batch): rate}
        multiply_adds_per_s.append(rate * recipe_settings(preset).multiply_adds_per_image())
    # The fastest rate: a run's cost bound refuses only runs surely too long (timing.py).
    table["multiply_adds_per_s"] = max(multiply_adds_per_s)
    THROUGHPUT_FILE.write_text(json.dumps(table, indent=2) + "\n")
    print(f"\nWrote {THROUGHPUT_FILE.relative_to(ROOT)}.")


def row_name(preset: str) -> str:
    """A preset's row in the tables."""
    return f"{preset} (recipe, engine's compile)"


def parse_args() -> argparse.Namespace:
    """The command line (see the module's usage)."""
    from mnist_lab.engines.keras_net.models import PRESETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument(
        "--seeds",
        type=parse_seeds,
        default=[0],
        metavar="FIRST-LAST",
        help="train every row with each seed of a range such as 0-9, or with one seed (default 0)",
    )
    parser.add_argument("--write-throughput", action="store_true", help="update the shipped table")
    parser.add_argument("--repeats", type=int, default=1, help="tries of each row and seed")
    parser.add_argument(
        "--cost-repeats", type=int, default=3, help="tries of each kind for the engine's cost"
    )
    parser.add_argument(
        "--cost-only", action="store_true", help="only the engine's cost, not the curves"
    )
    parser.add_argument(
        "--recipes-only",
        action="store_true",
        help="only the presets' rows: no keras.io or plain-fit rows, no engine's cost",
    )
    parser.add_argument(
        "--one", nargs=3, metavar=("KIND", "PRESET", "SEED"), help=argparse.SUPPRESS
    )
    return parser.parse_args()


def main() -> None:
    """Measure and print the tables (or, with ``--one``, one measurement as JSON)."""
    args = parse_args()
    if args.one:
        kind, preset, seed = args.one
        print(json.dumps(MEASUREMENTS[kind](preset, int(seed))))
        return
    if args.cost_only:
        print_engine_cost(args.cost_repeats)
        return
    kinds = {row_name(preset): ("engine", preset) for preset in args.presets}
    if not args.recipes_only:
        kinds[f"{FAST} recipe, plain model.fit"] = ("plain", FAST)
        kinds["keras.io mnist_convnet"] = ("keras-io", "")
    tries = measure_rows(kinds, args.seeds, args.repeats)
    curves = {
        name: {seed: median_curve(results) for seed, results in by_seed.items()}
        for name, by_seed in tries.items()
    }
    rows = {name: by_seed[median_seed(by_seed)] for name, by_seed in curves.items()}
    seeds = (
        f"seed {args.seeds[0]}" if len(args.seeds) == 1 else f"the median seed of {len(args.seeds)}"
    )
    print(
        f"\nTime to accuracy (all 60,000 digits, {seeds}, test accuracy after each epoch; "
        f"median seconds of {args.repeats} {'try' if args.repeats == 1 else 'tries'}):\n"
    )
    print_curves(rows, {name: sum(by_seed.values(), []) for name, by_seed in tries.items()})
    if len(args.seeds) > 1:
        print(
            f"\nEvery seed ({args.seeds[0]}-{args.seeds[-1]}), the mark its description promises:\n"
        )
        marks = {
            name: MARKS.get(preset) if kind == "engine" else None
            for name, (kind, preset) in kinds.items()
        }
        print_seeds(curves, marks)
    if not args.recipes_only:
        print_engine_cost(args.cost_repeats)
    if args.write_throughput:
        write_throughput(args.presets, rows)


if __name__ == "__main__":
    main()
