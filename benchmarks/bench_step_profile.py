"""Where does one training step's time go? TensorFlow's profiler on the engine's compiled step.

Trains one preset the way the Keras engine does (``compile_model``: many steps per call, the
engine's thread settings) under ``tf.profiler``, and prints the kernel time per step grouped
by what the kernels do. It then times a plain ``model.fit`` step of the same model, so the
table shows how much of the plain step is Python and dispatch overhead, the part that
``steps_per_execution`` removes, and how much is kernel arithmetic, which no engine change of
bookkeeping can remove.

Usage::

    python -m benchmarks.bench_step_profile                    # simple CNN, 400 steps
    python -m benchmarks.bench_step_profile --preset mlp-relu --steps 800
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from benchmarks.bench_training import BATCH_SIZE, LEARNING_RATE, bench_config  # noqa: E402
from mnist_lab.engines.keras_net.models import build_model  # noqa: E402
from mnist_lab.engines.keras_net.training import compile_model, configure_threads, prepare_data  # noqa: E402

# Kernel name fragments (TensorFlow and oneDNN spellings) -> what they do.
CATEGORIES = [
    ("convolution, backward", ("Conv2DBackprop",)),
    ("convolution, forward", ("Conv2D",)),
    ("dense matmul, forward", ("FusedMatMul",)),
    ("dense matmul, backward", ("MatMul",)),
    ("pooling", ("MaxPool", "AvgPool")),
    ("activation gradients", ("ReluGrad", "SigmoidGrad", "TanhGrad", "SoftmaxGrad")),
    ("optimizer update", ("adam/", "sgd/", "rmsprop/", "ApplyAdam", "AssignSub", "AssignAdd")),
    ("loss and metrics", ("crossentropy", "ArgMax", "Equal", "Softmax")),
]


def category(kernel_name: str) -> str:
    """The `CATEGORIES` label of a profiled kernel, or ``other``."""
    for label, fragments in CATEGORIES:
        if any(fragment in kernel_name for fragment in fragments):
            return label
    return "other"


def kernel_seconds(profile_dir: Path) -> collections.Counter:
    """Seconds spent in TensorFlow's compute threads per `category`, from a profiler trace."""
    trace = sorted(profile_dir.glob("**/*.xplane.pb"))[-1]
    space = xplane_pb2.XSpace()
    space.ParseFromString(trace.read_bytes())
    seconds: collections.Counter = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                # Executor bookkeeping spans enclose the kernels; counting both would double.
                if name.startswith(("ExecutorState", "ThreadpoolListener", "Memory")):
                    continue
                seconds[category(name)] += event.duration_ps / 1e12
    return seconds


def step_seconds(model, x, y, steps: int, repeats: int = 3) -> float:
    """Wall seconds per step of ``model.fit`` over ``steps`` batches, best of ``repeats``.

    The best, not the mean: on a shared 2-core machine a single epoch can run twice as slow
    as the next, and the best is what the code itself costs.
    """
    model.fit(x[: 8 * BATCH_SIZE], y[: 8 * BATCH_SIZE], batch_size=BATCH_SIZE, verbose=0)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, verbose=0)
        timings.append((time.perf_counter() - start) / steps)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="simple-cnn")
    parser.add_argument("--steps", type=int, default=400, help="profiled training steps")
    args = parser.parse_args()

    config = bench_config(args.preset, args.steps * BATCH_SIZE, epochs=1, seed=0)
    configure_threads(config.model_layers())
    data = prepare_data(config)
    x, y = data.x_train, data.y_train

    keras.utils.set_random_seed(0)
    engine_model = compile_model(config, steps_per_epoch=args.steps)
    engine_model.fit(x[: 8 * BATCH_SIZE], y[: 8 * BATCH_SIZE], batch_size=BATCH_SIZE, verbose=0)
    with tempfile.TemporaryDirectory() as profile_dir:
        tf.profiler.experimental.start(profile_dir)
        start = time.perf_counter()
        engine_model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, verbose=0)
        profiled_step = (time.perf_counter() - start) / args.steps
        tf.profiler.experimental.stop()
        seconds = kernel_seconds(Path(profile_dir))
    engine_step = step_seconds(engine_model, x, y, args.steps)

    keras.utils.set_random_seed(0)
    plain_model = build_model(config.model_layers())
    plain_model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    plain_step = step_seconds(plain_model, x, y, args.steps)

    kernels = sum(seconds.values()) / args.steps
    print(
        f"{args.preset}: {args.steps} steps of batch {BATCH_SIZE}, Adam, the engine's compiled "
        f"step under tf.profiler ({profiled_step * 1e3:.2f} ms per step while profiled)\n"
    )
    print(f"{'kernels':<26} {'ms/step':>8} {'share':>6}")
    print("-" * 42)
    for label, total in seconds.most_common():
        print(f"{label:<26} {total / args.steps * 1e3:>8.3f} {total / sum(seconds.values()):>6.1%}")
    print(f"{'all kernels':<26} {kernels * 1e3:>8.3f}")
    print(
        f"\nplain model.fit step (best)  {plain_step * 1e3:7.2f} ms"
        f"\nengine step (best)           {engine_step * 1e3:7.2f} ms   "
        f"({plain_step / engine_step:.2f}x)"
        f"\nplain overhead over engine   {(plain_step - engine_step) * 1e3:7.2f} ms"
        f"\nengine step needed for 3x    {plain_step / 3 * 1e3:7.2f} ms"
        "\n\nKernel time is summed over TensorFlow's compute threads; ops that run side by "
        "side add\nup to more than the step's wall time."
    )


if __name__ == "__main__":
    main()
