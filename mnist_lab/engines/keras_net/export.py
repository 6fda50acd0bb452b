"""A Keras run as plain Keras code, written like the keras.io ``mnist_convnet`` example.

The model is the one `models.build_model` builds from the run's layer spec (the automatic
``Flatten`` and the ``Dense(10, softmax)`` output included), compiled with the optimizer and
schedule of `training.make_optimizer`, trained with `training.train_run`'s ``model.fit``
arguments. Settings or layer types this module does not know are refused, never guessed.
"""

from __future__ import annotations

from mnist_lab.data import N_CLASSES
from mnist_lab.engines.code import (
    CodeStep,
    constants_step,
    data_steps,
    exportable,
    print_accuracy_code,
)
from mnist_lab.engines.keras_net.models import (
    INPUT_SHAPE,
    OUTPUT_LAYER,
    PRESETS,
    summarize_model,
    validate_layers,
)
from mnist_lab.engines.keras_net.schedules import END_DIVISOR, START_DIVISOR
from mnist_lab.engines.keras_net.settings import ADAM_FAMILY, KerasSettings
from mnist_lab.runs import Run

# Every setting the code below writes, or knows to change nothing the exported model learns.
EXPORTED_SETTINGS = {
    "preset",
    "layers",
    "optimizer",
    "learning_rate",
    "momentum",
    "nesterov",
    "beta_1",
    "beta_2",
    "weight_decay",
    "lr_schedule",
    "lr_decay_rate",
    "warmup_fraction",
    "lr_min_fraction",
    "batch_size",
    "epochs",
    "val_split",
    "normalization",
    "label_smoothing",
    "seed",
    "subset",
    "early_stopping_patience",
    "record_gradients",
}
OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
# The exported code's line length, as this project's ruff formats its own.
LINE_LENGTH = 100


def export_steps(run: Run) -> list[CodeStep]:
    """The steps of a plain Keras program that retrains ``run`` (see `mnist_lab.engines.code`).

    Raises
    ------
    ValueError
        If the run uses a setting, optimizer, schedule or layer type this exporter cannot
        write, or has not fitted its normalization yet.
    """
    settings, normalizer = exportable(run, KerasSettings, EXPORTED_SETTINGS)
    scheduled = settings.lr_schedule != "none"
    imports = "\n".join(
        [
            *(["import math"] if scheduled else []),
            "import os",
            "",
            "import keras",
            "import numpy as np",
            "from keras import layers",
        ]
    )
    return [
        CodeStep("Keras 3 and NumPy are all it needs.", imports),
        constants_step(run, settings, _constants(settings)),
        *data_steps(settings, normalizer, for_keras=True),
        *([_one_hot_step(settings)] if settings.label_smoothing else []),
        _model_step(settings),
        _compile_step(settings),
        _fit_step(settings),
        CodeStep(
            "Evaluate on the 10,000 test digits.",
            "test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)\n"
            + print_accuracy_code("test_accuracy"),
        ),
    ]


def _constants(settings: KerasSettings) -> dict:
    """The constants the model, compile and fit steps read."""
    values = {
        "BATCH_SIZE": settings.batch_size,
        "EPOCHS": settings.epochs,
        "LEARNING_RATE": settings.learning_rate,
    }
    if settings.momentum:
        values["MOMENTUM"] = settings.momentum
    if settings.optimizer in ADAM_FAMILY:
        values |= {"BETA_1": settings.beta_1, "BETA_2": settings.beta_2}
    if settings.optimizer == "adamw":
        values["WEIGHT_DECAY"] = settings.weight_decay
    if settings.lr_schedule == "exponential":
        values["LR_DECAY_RATE"] = settings.lr_decay_rate
    if settings.lr_schedule == "cosine":
        values["LR_MIN_FRACTION"] = settings.lr_min_fraction
    if settings.lr_schedule == "one-cycle":
        values["WARMUP_FRACTION"] = settings.warmup_fraction
    if settings.label_smoothing:
        values["LABEL_SMOOTHING"] = settings.label_smoothing
    if settings.early_stopping_patience is not None:
        values["PATIENCE"] = settings.early_stopping_patience
    return values


def layer_code(spec: dict) -> str:
    """The ``keras.layers`` call of one layer dict of a validated spec.

    Raises
    ------
    ValueError
        For a layer type this exporter does not know.

    Examples
    --------
    >>> layer_code({"type": "Dense", "units": 100, "activation": "relu"})
    'layers.Dense(100, activation="relu")'
    """
    kind = spec["type"]
    if kind == "Dense":
        return f'layers.Dense({spec["units"]}, activation="{spec["activation"]}")'
    if kind == "Conv2D":
        kernel = spec["kernel"]
        padding = ', padding="same"' if spec["padding"] == "same" else ""
        return (
            f"layers.Conv2D({spec['filters']}, kernel_size=({kernel}, {kernel}), "
            f'activation="{spec["activation"]}"{padding})'
        )
    if kind == "MaxPool":
        return f"layers.MaxPooling2D(pool_size=({spec['size']}, {spec['size']}))"
    if kind == "Dropout":
        return f"layers.Dropout({spec['rate']!r})"
    if kind == "BatchNormalization":
        return "layers.BatchNormalization()"
    if kind == "Flatten":
        return "layers.Flatten()"
    if kind == "RandomTranslation":
        fraction = spec["fraction"]
        return f'layers.RandomTranslation({fraction!r}, {fraction!r}, fill_mode="nearest")'
    if kind == "RandomRotation":
        return f'layers.RandomRotation({spec["degrees"]!r} / 360, fill_mode="nearest")'
    raise ValueError(f"layers of type {kind!r} cannot be exported as code yet")


def model_layer_specs(layers: list) -> list[dict]:
    """Every layer `models.build_model` builds from ``layers``, in order, output included.

    The hidden layers are matched against `models.summarize_model`'s rows; a row no hidden
    layer accounts for is the ``Flatten`` the model inserts before its first ``Dense``.

    Examples
    --------
    >>> [spec["type"] for spec in model_layer_specs([{"type": "Conv2D", "filters": 8}])]
    ['Conv2D', 'Flatten', 'Dense']
    """
    hidden = validate_layers(layers)
    rows = summarize_model(layers)
    specs, position = [], 0
    for row in rows[:-1]:
        if position < len(hidden) and hidden[position]["type"] == row["type"]:
            specs.append(hidden[position])
            position += 1
        else:
            specs.append({"type": row["type"]})
    return [*specs, dict(OUTPUT_LAYER)]


def _model_step(settings: KerasSettings) -> CodeStep:
    what = (
        f"the {PRESETS[settings.preset]['title']} preset"
        if settings.preset in PRESETS
        else "the run's own layers"
    )
    layers = ",\n".join(
        f"        {layer_code(spec)}" for spec in model_layer_specs(settings.model_layers())
    )
    code = f"""\
keras.utils.set_random_seed(SEED)
model = keras.Sequential(
    [
        keras.Input(shape={INPUT_SHAPE}),
{layers},
    ]
)
model.summary()"""
    return CodeStep(
        f"Build the network, {what}: the layers MNIST Lab built, with the same random "
        "starting weights (seeded with SEED).",
        code,
    )


def _compile_step(settings: KerasSettings) -> CodeStep:
    if settings.optimizer not in OPTIMIZERS:
        raise ValueError(f"the optimizer {settings.optimizer!r} cannot be exported as code yet")
    lines, rate, schedule_words = [], "LEARNING_RATE", ""
    if settings.lr_schedule == "exponential":
        lines = [
            "steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)",
            "learning_rate = keras.optimizers.schedules.ExponentialDecay(",
            "    LEARNING_RATE, decay_steps=steps_per_epoch, decay_rate=LR_DECAY_RATE",
            ")",
        ]
        rate, schedule_words = "learning_rate", ", multiplied by LR_DECAY_RATE every epoch"
    elif settings.lr_schedule == "cosine":
        lines = [
            "steps_per_epoch = math.ceil(len(x_train) / BATCH_SIZE)",
            "learning_rate = keras.optimizers.schedules.CosineDecay(",
            "    LEARNING_RATE, decay_steps=steps_per_epoch * EPOCHS, alpha=LR_MIN_FRACTION",
            ")",
        ]
        rate = "learning_rate"
        schedule_words = ", annealed along a cosine to LR_MIN_FRACTION of it by the last step"
    elif settings.lr_schedule == "one-cycle":
        lines = [
            "total_steps = math.ceil(len(x_train) / BATCH_SIZE) * EPOCHS",
            "warmup_steps = max(1, round(WARMUP_FRACTION * total_steps))",
            "learning_rate = keras.optimizers.schedules.CosineDecay(",
            f"    LEARNING_RATE / {START_DIVISOR:g},",
            "    decay_steps=max(1, total_steps - warmup_steps),",
            f"    alpha={1 / END_DIVISOR!r},",
            "    warmup_target=LEARNING_RATE,",
            "    warmup_steps=warmup_steps,",
            ")",
        ]
        rate = "learning_rate"
        schedule_words = (
            f" after a linear climb from LEARNING_RATE / {START_DIVISOR:g} over the first "
            f"WARMUP_FRACTION of the steps, then annealed along a cosine to "
            f"LEARNING_RATE / {END_DIVISOR:,g} (one cycle)"
        )
    elif settings.lr_schedule != "none":
        raise ValueError(
            f"the learning-rate schedule {settings.lr_schedule!r} cannot be exported as code yet"
        )
    arguments = [rate]
    if settings.momentum:
        arguments += ["momentum=MOMENTUM", *(["nesterov=True"] if settings.nesterov else [])]
    if settings.optimizer == "adamw":
        arguments.append("weight_decay=WEIGHT_DECAY")
    if settings.optimizer in ADAM_FAMILY:
        arguments += ["beta_1=BETA_1", "beta_2=BETA_2"]
    lines.append(
        call_code(f"optimizer = keras.optimizers.{OPTIMIZERS[settings.optimizer]}", arguments)
    )
    if settings.label_smoothing:
        lines += [
            "loss = keras.losses.CategoricalCrossentropy(label_smoothing=LABEL_SMOOTHING)",
            'model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])',
        ]
        loss_words = "the cross-entropy against targets smoothed by LABEL_SMOOTHING"
    else:
        lines.append(
            'model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", '
            'metrics=["accuracy"])'
        )
        loss_words = "the cross-entropy of the labels"
    return CodeStep(
        f"Compile: {OPTIMIZERS[settings.optimizer]} at LEARNING_RATE{schedule_words}; the loss "
        f"is {loss_words}.",
        "\n".join(lines),
    )


def call_code(head: str, arguments: list[str]) -> str:
    """``head(arguments)`` laid out as ruff formats a call: one line, or the arguments below.

    Examples
    --------
    >>> print(call_code("f", ["a", "b=1"]))
    f(a, b=1)
    >>> print(call_code("optimizer = " + "x" * 80, ["learning_rate", "beta_1=BETA_1"]))
    ... # doctest: +ELLIPSIS
    optimizer = xxx...xxx(
        learning_rate, beta_1=BETA_1
    )
    """
    one_line = f"{head}({', '.join(arguments)})"
    if len(one_line) <= LINE_LENGTH:
        return one_line
    inner = "    " + ", ".join(arguments)
    if len(inner) <= LINE_LENGTH:
        return f"{head}(\n{inner}\n)"
    return f"{head}(\n" + "".join(f"    {argument},\n" for argument in arguments) + ")"


def _one_hot_step(settings: KerasSettings) -> CodeStep:
    labels = ["y_train", *(["y_val"] if settings.val_split else []), "y_test"]
    return CodeStep(
        "Label smoothing compares the predictions with one-hot rows (1 at the true digit), "
        "so the labels become those rows.",
        "\n".join(f'{y} = np.eye({N_CLASSES}, dtype="float32")[{y}]' for y in labels),
    )


def _fit_step(settings: KerasSettings) -> CodeStep:
    arguments = ["x_train", "y_train", "batch_size=BATCH_SIZE", "epochs=EPOCHS"]
    words = "Train: EPOCHS passes over the training digits in shuffled batches of BATCH_SIZE"
    if settings.val_split:
        arguments.append("validation_data=(x_val, y_val)")
        words += ", reporting the validation digits' loss and accuracy after each"
    arguments.append("shuffle=True")
    lines = []
    if settings.early_stopping_patience is not None:
        lines.append(
            "early_stopping = keras.callbacks.EarlyStopping(patience=PATIENCE, "
            "restore_best_weights=True)"
        )
        arguments.append("callbacks=[early_stopping]")
        words += (
            "; stop once the validation loss has not improved for PATIENCE epochs and keep "
            "the best weights"
        )
    lines.append("model.fit(\n    " + ",\n    ".join(arguments) + ",\n)")
    return CodeStep(words + ".", "\n".join(lines))
