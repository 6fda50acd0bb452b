"""A NumPy-network run as a from-scratch NumPy program: the network's own functions, verbatim.

The maths is not rewritten: the functions of `network` that training calls are copied into
the program from their source, comments and all, so the exported code is the code that
trained the run. The training loop is `training`'s, without its records and progress.
"""

from __future__ import annotations

import inspect

from mnist_lab.engines.code import (
    CodeStep,
    constants_step,
    data_steps,
    exportable,
    print_accuracy_code,
    python_literal,
)
from mnist_lab.engines.numpy_net import network
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.runs import Run

EXPORTED_SETTINGS = {
    "epochs",
    "learning_rate",
    "batch_size",
    "hidden_units",
    "normalization",
    "seed",
    "subset",
    "val_split",
}
# What training calls, in the order a reader meets them.
NETWORK_FUNCTIONS = (
    network.init_weights,
    network.sigmoid,
    network.softmax,
    network.forward,
    network.gradients,
    network.sgd_step,
    network.evaluate,
)


def export_steps(run: Run) -> list[CodeStep]:
    """The steps of a NumPy-only program that retrains ``run`` (see `mnist_lab.engines.code`).

    Raises
    ------
    ValueError
        If the run uses a setting this exporter cannot write, or has not fitted its
        normalization yet.
    """
    settings, normalizer = exportable(run, NumpyNetSettings, EXPORTED_SETTINGS)
    constants = {
        "HIDDEN_UNITS": settings.hidden_units,
        "BATCH_SIZE": settings.batch_size,
        "EPOCHS": settings.epochs,
        "LEARNING_RATE": settings.learning_rate,
    }
    return [
        CodeStep(
            "NumPy is all it needs: every derivative below is worked out by hand.",
            "import os\nimport urllib.request\n\nimport numpy as np",
        ),
        constants_step(run, settings, constants),
        *data_steps(settings, normalizer, for_keras=False),
        CodeStep(
            f"A {network.N_INPUTS} -> HIDDEN_UNITS sigmoid -> {network.N_CLASSES} softmax "
            "network, written out below as MNIST Lab trains it. The constants it uses:",
            "\n".join(
                f"{name} = {python_literal(value)}" for name, value in _network_constants().items()
            ),
        ),
        *(CodeStep("", inspect.getsource(function)) for function in NETWORK_FUNCTIONS),
        _training_step(bool(settings.val_split)),
        CodeStep(
            "Evaluate on the 10,000 test digits.",
            "test_loss, test_accuracy = evaluate(weights, x_test, y_test)\n"
            + print_accuracy_code("test_accuracy"),
        ),
    ]


def _network_constants() -> dict:
    """The module constants of `network` (``N_INPUTS``...) that the copied functions read."""
    names = {name for function in NETWORK_FUNCTIONS for name in function.__code__.co_names}
    return {
        name: getattr(network, name)
        for name in sorted(names)
        if name.isupper() and hasattr(network, name)
    }


def _training_step(validated: bool) -> CodeStep:
    held_out = "x_val, y_val" if validated else "x_train, y_train"
    words = "validation" if validated else "training"
    return CodeStep(
        "Train: EPOCHS passes of plain mini-batch SGD over the training digits, shuffled "
        "every epoch by a generator seeded with SEED + 1, as MNIST Lab shuffled them.",
        f"""\
weights = init_weights(HIDDEN_UNITS, SEED)
rng = np.random.default_rng(SEED + 1)
for epoch in range(1, EPOCHS + 1):
    order = rng.permutation(len(x_train))
    for start in range(0, len(x_train), BATCH_SIZE):
        batch = order[start : start + BATCH_SIZE]
        loss, grads, _, _ = gradients(weights, x_train[batch], y_train[batch])
        sgd_step(weights, grads, LEARNING_RATE)
    loss, accuracy = evaluate(weights, {held_out})
    print(f"epoch {{epoch}}: {words} loss {{loss:.4f}}, accuracy {{accuracy:.4f}}")""",
    )
