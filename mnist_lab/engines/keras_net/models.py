"""Architectures: JSON-serializable layer specs (presets or custom) turned into Keras models.

A spec is a list of layer dicts such as ``{"type": "Dense", "units": 100, "activation":
"relu"}``. It holds the hidden layers only: a ``Flatten`` is inserted before the first
``Dense`` that follows image-shaped layers, and the output ``Dense(10, softmax)`` is always
appended, so every spec ends in ten class probabilities.

Shapes and parameter counts are worked out from the spec alone, so the Train page can show
them before launch without loading TensorFlow; `build_model` is the only function that does.
"""

from __future__ import annotations

import math
from typing import Any

from mnist_lab.architecture import LayerField
from mnist_lab.engines.keras_common import MAX_PARAMS

INPUT_SHAPE = (28, 28, 1)
N_CLASSES = 10
MAX_LAYERS = 30
MAX_UNITS = 4096
MAX_FILTERS = 512
MAX_KERNEL = 9
MAX_POOL = 4
# Bytes per weight while training with Adam: the weight, its gradient and two moments.
TRAINING_BYTES_PER_PARAM = 16
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "gelu", "linear")
PADDINGS = ("valid", "same")

MAX_SHIFT_FRACTION = 0.5
MAX_ROTATION_DEGREES = 90

# Each layer type's fields with their ranges, as `_normalize_layer` checks them; a default
# of None means the field is required (``start`` is where a form's widget begins then).
LAYER_TYPES: dict[str, tuple[LayerField, ...]] = {
    "Dense": (
        LayerField("units", low=1, high=MAX_UNITS, step=1, whole=True, start=64),
        LayerField("activation", "relu", choices=ACTIVATIONS),
    ),
    "Conv2D": (
        LayerField("filters", low=1, high=MAX_FILTERS, step=1, whole=True, start=16),
        LayerField("kernel", 3, low=1, high=MAX_KERNEL, step=1, whole=True),
        LayerField("activation", "relu", choices=ACTIVATIONS),
        LayerField("padding", "valid", choices=PADDINGS),
    ),
    "MaxPool": (LayerField("size", 2, low=2, high=MAX_POOL, step=1, whole=True),),
    "Dropout": (LayerField("rate", low=0.0, high=0.95, step=0.05, start=0.2),),
    "BatchNormalization": (),
    "Flatten": (),
    # Augmentation: random shifts and turns while training, switched off at inference.
    "RandomTranslation": (
        LayerField("fraction", 0.1, low=0.01, high=MAX_SHIFT_FRACTION, step=0.01),
    ),
    "RandomRotation": (
        LayerField("degrees", 10, low=1, high=MAX_ROTATION_DEGREES, step=1, whole=True),
    ),
}
# type -> {field: default}: what `_normalize_layer` fills in and requires.
LAYER_FIELDS: dict[str, dict[str, Any]] = {
    kind: {field.name: field.default for field in fields} for kind, fields in LAYER_TYPES.items()
}
# Layers that need image-shaped input, before any Flatten or Dense layer.
IMAGE_LAYERS = ("Conv2D", "MaxPool", "RandomTranslation", "RandomRotation")
OUTPUT_LAYER = {"type": "Dense", "units": N_CLASSES, "activation": "softmax"}


def _dense(units: int, activation: str) -> dict:
    return {"type": "Dense", "units": units, "activation": activation}


def _conv(filters: int, activation: str = "relu", padding: str = "valid", kernel: int = 3) -> dict:
    return {
        "type": "Conv2D",
        "filters": filters,
        "kernel": kernel,
        "activation": activation,
        "padding": padding,
    }


# A preset's "recipe" holds the training settings it is meant to be trained with; the Train
# page fills them in when the preset is picked and `train --preset` uses them unless flags say
# otherwise. Settings a recipe leaves out take their declared defaults.


PRESETS: dict[str, dict[str, Any]] = {
    "softmax": {
        "title": "Softmax regression",
        "description": "Logistic regression as a network: one layer, 784 inputs to 10 classes.",
        "layers": [],
    },
    "shallow-sigmoid": {
        "title": "Shallow sigmoid network",
        "description": "One small hidden layer of 20 sigmoid units: a hidden layer already helps.",
        "layers": [_dense(20, "sigmoid")],
    },
    "mlp-sigmoid": {
        "title": "MLP, sigmoid",
        "description": "100 sigmoid hidden units, the classic network of the 1980s textbooks.",
        "layers": [_dense(100, "sigmoid")],
    },
    "mlp-relu": {
        "title": "MLP, ReLU",
        "description": "The same 100 hidden units with ReLU: learns faster than sigmoid.",
        "layers": [_dense(100, "relu")],
    },
    "deep-sigmoid": {
        "title": "Deep sigmoid network",
        "description": "Five sigmoid layers of 10 units: vanishing gradients, it barely learns.",
        "layers": [_dense(10, "sigmoid") for _ in range(5)],
    },
    "deep-relu": {
        "title": "Deep ReLU network",
        "description": "The same five layers with ReLU: gradients reach the first layers.",
        "layers": [_dense(10, "relu") for _ in range(5)],
    },
    "simple-cnn": {
        "title": "Simple CNN",
        "description": "One convolution and pooling: shared local filters beat dense layers.",
        "layers": [_conv(32), {"type": "MaxPool", "size": 2}, _dense(100, "relu")],
    },
    "fast-cnn": {
        "title": "Fast CNN",
        "description": "Two 5x5 convolutions and a small dense head, trained in two epochs with "
        "a one-cycle schedule and label smoothing: 99.2% or better on 10 of 10 seeds (99.38% "
        "at the median), in about nine seconds.",
        # LeNet-sized: about 1.1 million multiply-adds per digit, a quarter of the simple CNN.
        "layers": [
            _conv(16, kernel=5),
            {"type": "MaxPool", "size": 2},
            _conv(32, kernel=5),
            {"type": "MaxPool", "size": 2},
            _dense(128, "relu"),
        ],
        # A high peak rate with short Adam memories converges in two passes. Batches of 256
        # and label smoothing lift the seeds where batches of 512 sat on the edge (seed 3: 99.11%
        # -> 99.38%) for about 8% more time. Measured by bench_time_to_accuracy.py --seeds 0-9.
        "recipe": {
            "optimizer": "adam",
            "learning_rate": 0.01,
            "beta_1": 0.7,
            "beta_2": 0.9,
            "lr_schedule": "one-cycle",
            "warmup_fraction": 0.25,
            "label_smoothing": 0.1,
            "batch_size": 256,
            "epochs": 2,
            "normalization": "standardize",
            "val_split": 0.0,
        },
    },
    "strong-cnn": {
        "title": "Strong CNN",
        "description": "A 5x5 and two 3x3 convolutions with batch norm, dropout and random "
        "shifts and turns of the training digits, trained with label smoothing: 99.5% or better "
        "on 4 of 5 seeds (99.58% at the median, 99.48% at worst), in under two minutes.",
        # Augmentation keeps the network from memorising exact pixel positions; batch norm
        # lets the one-cycle schedule run at a high rate. Two 3x3 layers where one 5x5 was
        # lifted the median seed from 99.45% to 99.51%; batch norm after the first pooling
        # normalizes a quarter of the values (an epoch took 9.3 s, 12.5-20 s with it before).
        # Label smoothing 0.1 then lifted the median seed to 99.58% and 3 of 5 to 4 of 5 at 99.5%.
        # Measured by bench_time_to_accuracy.py --presets strong-cnn --seeds 0-4.
        "layers": [
            {"type": "RandomTranslation", "fraction": 0.1},
            {"type": "RandomRotation", "degrees": 10},
            _conv(24, kernel=5),
            {"type": "MaxPool", "size": 2},
            {"type": "BatchNormalization"},
            _conv(48),
            {"type": "BatchNormalization"},
            _conv(48),
            {"type": "MaxPool", "size": 2},
            {"type": "BatchNormalization"},
            _dense(192, "relu"),
            {"type": "Dropout", "rate": 0.4},
        ],
        "recipe": {
            "optimizer": "adam",
            "learning_rate": 0.01,
            "lr_schedule": "one-cycle",
            "warmup_fraction": 0.25,
            "label_smoothing": 0.1,
            "batch_size": 256,
            "epochs": 11,
            "normalization": "standardize",
            "val_split": 0.0,
        },
    },
    "mlp-300": {
        "title": "MLP 300 (LeCun et al. 1998)",
        "description": "784-300-10, the two-layer network of the MNIST table (published: "
        "4.7% test error); trained here with Adam and a one-cycle schedule.",
        "layers": [_dense(300, "relu")],
        "recipe": {
            "optimizer": "adam",
            "learning_rate": 0.003,
            "lr_schedule": "one-cycle",
            "batch_size": 128,
            "epochs": 10,
            "normalization": "standardize",
            "val_split": 0.0,
        },
    },
    "mlp-800": {
        "title": "MLP 800 (Simard et al. 2003)",
        "description": "784-800-10, the wider two-layer network of the MNIST table (published: "
        "1.6% with elastic distortions of the training digits; the lab applies dropout to the "
        "hidden layer instead).",
        "layers": [_dense(800, "relu"), {"type": "Dropout", "rate": 0.3}],
        "recipe": {
            "optimizer": "adam",
            "learning_rate": 0.003,
            "lr_schedule": "one-cycle",
            "batch_size": 128,
            "epochs": 10,
            "normalization": "standardize",
            "val_split": 0.0,
        },
    },
    "lenet-5": {
        "title": "LeNet-5 (LeCun et al. 1998)",
        "description": "6 5x5 tanh filters on the digit padded to 32x32, subsampling, 16 5x5 "
        "filters, subsampling, 120 and 84 tanh units (published: 0.95% test error). The lab's "
        "version pools by maximum instead of trainable averages, connects every C3 map to every "
        "S2 map, and ends in a softmax instead of RBF units.",
        # 'same' padding on 28x28 is the paper's valid 5x5 convolution of a 32x32-padded digit.
        "layers": [
            _conv(6, "tanh", padding="same", kernel=5),
            {"type": "MaxPool", "size": 2},
            _conv(16, "tanh", kernel=5),
            {"type": "MaxPool", "size": 2},
            _dense(120, "tanh"),
            _dense(84, "tanh"),
        ],
        "recipe": {
            "optimizer": "adam",
            "learning_rate": 0.005,
            "lr_schedule": "one-cycle",
            "batch_size": 128,
            "epochs": 8,
            "normalization": "standardize",
            "val_split": 0.0,
        },
    },
}


def preset_layers(name: str) -> list[dict]:
    """The hidden-layer spec of preset ``name`` (a fresh copy).

    Raises
    ------
    ValueError
        If ``name`` is not one of `PRESETS`.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {list(PRESETS)}")
    return [dict(layer) for layer in PRESETS[name]["layers"]]


def _check_int(position: str, key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(
            f"{position}: {key} must be a whole number in [{low}, {high}], got {value!r}"
        )
    return value


def _check_choice(position: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{position}: {key} must be one of {list(allowed)}, got {value!r}")
    return value


def _check_number(
    position: str,
    key: str,
    value: Any,
    low: float,
    high: float,
    interval: str,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    fits = not isinstance(value, bool) and isinstance(value, int | float)
    fits = fits and (low < value if low_open else low <= value)
    fits = fits and (value < high if high_open else value <= high)
    if not fits:
        raise ValueError(f"{position}: {key} must be a number in {interval}, got {value!r}")
    return value


def _normalize_layer(index: int, layer: Any) -> dict:
    """Check one layer dict's type, fields and value ranges; return it with defaults filled."""
    position = f"layer {index + 1}"
    kind = layer.get("type") if isinstance(layer, dict) else layer
    # A list or dict as the type is as unknown as a misspelt name (and cannot be looked up).
    if not isinstance(kind, str) or kind not in LAYER_FIELDS:
        raise ValueError(
            f"{position}: unknown layer type {kind!r}; choose one of {list(LAYER_FIELDS)}"
        )
    fields = LAYER_FIELDS[kind]
    unknown = sorted(set(layer) - set(fields) - {"type"})
    if unknown:
        raise ValueError(
            f"{position} ({kind}): unknown field(s) {unknown}; allowed: {list(fields)}"
        )
    spec = {"type": kind}
    for key, default in fields.items():
        if layer.get(key, default) is None:
            raise ValueError(f"{position} ({kind}): {key} is required")
        spec[key] = layer.get(key, default)
    position = f"{position} ({kind})"
    if kind == "Dense":
        _check_int(position, "units", spec["units"], 1, MAX_UNITS)
    if kind == "Conv2D":
        _check_int(position, "filters", spec["filters"], 1, MAX_FILTERS)
        _check_int(position, "kernel", spec["kernel"], 1, MAX_KERNEL)
        _check_choice(position, "padding", spec["padding"], PADDINGS)
    if kind in ("Dense", "Conv2D"):
        _check_choice(position, "activation", spec["activation"], ACTIVATIONS)
    if kind == "MaxPool":
        _check_int(position, "size", spec["size"], 2, MAX_POOL)
    if kind == "Dropout":
        _check_number(position, "rate", spec["rate"], 0, 1, "[0, 1)", high_open=True)
    if kind == "RandomTranslation":
        _check_number(
            position, "fraction", spec["fraction"], 0, MAX_SHIFT_FRACTION, "(0, 0.5]", low_open=True
        )
    if kind == "RandomRotation":
        _check_number(
            position, "degrees", spec["degrees"], 0, MAX_ROTATION_DEGREES, "(0, 90]", low_open=True
        )
    return spec


def _trace(layers: list, n_classes: int = N_CLASSES) -> list[dict]:
    """Validate ``layers`` and return the full spec, ``n_classes`` outputs, shapes and counts.

    Each returned dict has ``spec`` (the complete layer, Flatten and output included),
    ``name`` (the Keras layer name), ``output_shape`` (without the batch axis), ``params``,
    ``multiply_adds`` (per image, forward) and ``automatic`` (True for the inserted Flatten
    and the output layer).
    """
    if not isinstance(layers, list):
        raise ValueError(f"layers must be a list of layer dicts, got {type(layers).__name__}")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"at most {MAX_LAYERS} layers are allowed, got {len(layers)}")
    specs = [_normalize_layer(index, layer) for index, layer in enumerate(layers)]
    shape: tuple[int, ...] = INPUT_SHAPE
    counts: dict[str, int] = {}
    traced = []

    def add(
        spec: dict,
        out_shape: tuple[int, ...],
        params: int = 0,
        automatic: bool = False,
        multiply_adds: int = 0,
    ):
        counts[spec["type"]] = counts.get(spec["type"], 0) + 1
        name = "output" if spec is output else f"{spec['type'].lower()}_{counts[spec['type']]}"
        traced.append(
            {
                "spec": spec,
                "name": name,
                "output_shape": out_shape,
                "params": params,
                "multiply_adds": multiply_adds,
                "automatic": automatic or spec is output,
            }
        )

    output = dict(OUTPUT_LAYER, units=n_classes)
    for index, spec in enumerate([*specs, output]):
        position = f"layer {index + 1} ({spec['type']})" if index < len(specs) else "output layer"
        kind, is_image = spec["type"], len(shape) == 3
        if kind in IMAGE_LAYERS and not is_image:
            raise ValueError(
                f"{position}: needs image-shaped input but comes after a Flatten or Dense layer; "
                "put convolutions, pooling and augmentation before them"
            )
        if kind == "Flatten" and not is_image:
            raise ValueError(f"{position}: the input is already flat; remove this Flatten")
        if kind == "Dense" and is_image:
            add({"type": "Flatten"}, (math.prod(shape),), automatic=True)
            shape = (math.prod(shape),)
        if kind == "Dense":
            params = (shape[0] + 1) * spec["units"]
            multiply_adds = shape[0] * spec["units"]
            shape = (spec["units"],)
            add(spec, shape, params, multiply_adds=multiply_adds)
        elif kind == "Conv2D":
            height, width, channels = shape
            if spec["padding"] == "valid":
                height, width = height - spec["kernel"] + 1, width - spec["kernel"] + 1
            if height < 1 or width < 1:
                raise ValueError(
                    f"{position}: kernel {spec['kernel']} is larger than its "
                    f"{shape[0]}x{shape[1]} input; use a smaller kernel or padding 'same'"
                )
            params = (spec["kernel"] ** 2 * channels + 1) * spec["filters"]
            multiply_adds = spec["kernel"] ** 2 * channels * spec["filters"] * height * width
            shape = (height, width, spec["filters"])
            add(spec, shape, params, multiply_adds=multiply_adds)
        elif kind == "MaxPool":
            if shape[0] < spec["size"] or shape[1] < spec["size"]:
                raise ValueError(
                    f"{position}: pool size {spec['size']} is larger than its "
                    f"{shape[0]}x{shape[1]} input; remove a pooling layer"
                )
            shape = (shape[0] // spec["size"], shape[1] // spec["size"], shape[2])
            add(spec, shape)
        elif kind == "Flatten":
            shape = (math.prod(shape),)
            add(spec, shape)
        elif kind == "BatchNormalization":
            # gamma, beta, and the (untrained) moving mean and variance.
            add(spec, shape, 4 * shape[-1])
        else:
            add(spec, shape)
    total = sum(item["params"] for item in traced)
    if total > MAX_PARAMS:
        memory = total * TRAINING_BYTES_PER_PARAM / 2**30
        raise ValueError(
            f"this network has {total:,} parameters (about {memory:.1f} GB to train), more "
            f"than the lab's limit of {MAX_PARAMS:,}: use fewer units or filters, or pool "
            "before the dense layers"
        )
    return traced


def validate_layers(layers: list) -> list[dict]:
    """Check a custom hidden-layer spec and return it with every default filled in.

    Parameters
    ----------
    layers : list of dict
        Hidden layers, each ``{"type": ..., ...}`` with type one of ``Dense(units,
        activation)``, ``Conv2D(filters, kernel, activation, padding)``, ``MaxPool(size)``,
        ``Dropout(rate)``, ``BatchNormalization``, ``Flatten``, ``RandomTranslation(fraction)``
        or ``RandomRotation(degrees)`` (augmentation, active while training only).

    Returns
    -------
    list of dict
        The same layers with defaults (e.g. ``activation="relu"``) filled in.

    Raises
    ------
    ValueError
        Naming the layer and what is wrong: an unknown type or field, a value out of its
        range, a convolution after a Flatten or Dense layer, a kernel or pool larger than
        its input.

    Examples
    --------
    >>> validate_layers([{"type": "Dense", "units": 100}])
    [{'type': 'Dense', 'units': 100, 'activation': 'relu'}]
    >>> validate_layers([{"type": "Flatten"}, {"type": "Conv2D", "filters": 8}])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: layer 2 (Conv2D): needs image-shaped input but comes after a Flatten ...
    """
    return [item["spec"] for item in _trace(layers) if not item["automatic"]]


def summarize_model(layers: list, n_classes: int = N_CLASSES) -> list[dict]:
    """One row per layer of the model ``layers`` builds, without building it.

    Parameters
    ----------
    layers : list of dict
        A hidden-layer spec (see `validate_layers`).
    n_classes : int, default 10
        Units of the softmax output: the dataset's number of classes.

    Returns
    -------
    list of dict
        ``{"layer", "type", "activation", "output_shape", "params"}`` per layer in order,
        where ``layer`` is the Keras layer name (``dense_1``...), ``activation`` is empty for
        layers without one, and ``output_shape`` leaves out the batch axis, e.g.
        ``[26, 26, 32]``.

    Examples
    --------
    >>> [row["params"] for row in summarize_model(preset_layers("mlp-relu"))]
    [0, 78500, 1010]
    """
    return [
        {
            "layer": item["name"],
            "type": item["spec"]["type"],
            "activation": item["spec"].get("activation", ""),
            "output_shape": list(item["output_shape"]),
            "params": item["params"],
        }
        for item in _trace(layers, n_classes)
    ]


def count_params(layers: list) -> int:
    """Total number of parameters (trainable or not) of the model ``layers`` builds.

    Examples
    --------
    >>> count_params(preset_layers("softmax"))
    7850
    """
    return sum(item["params"] for item in _trace(layers))


def count_multiply_adds(layers: list) -> int:
    """Multiply-adds of one image's forward pass through the model ``layers`` builds.

    Dense and convolution layers only: the others cost little beside them.

    Examples
    --------
    >>> count_multiply_adds(preset_layers("softmax"))
    7840
    """
    return sum(item["multiply_adds"] for item in _trace(layers))


def has_convolutions(layers: list) -> bool:
    """Whether the spec holds a Conv2D layer (gradient recording is off by default then)."""
    return any(layer.get("type") == "Conv2D" for layer in layers)


def build_model(layers: list, n_classes: int = N_CLASSES) -> Any:
    """Build the (uncompiled) ``keras.Sequential`` model of a hidden-layer spec.

    Call ``keras.utils.set_random_seed`` first for reproducible initial weights.

    Parameters
    ----------
    layers : list of dict
        A hidden-layer spec (see `validate_layers`).
    n_classes : int, default 10
        Units of the softmax output layer: the dataset's number of classes.

    Returns
    -------
    keras.Sequential
        Input ``(28, 28, 1)`` float images, output ``n_classes`` softmax probabilities;
        layers are named as in `summarize_model`.
    """
    # Imported here so that presets, validation and summaries never load TensorFlow.
    import keras

    model_layers: list[Any] = [keras.Input(shape=INPUT_SHAPE)]
    for item in _trace(layers, n_classes):
        spec, name = item["spec"], item["name"]
        kind = spec["type"]
        if kind == "Dense":
            layer = keras.layers.Dense(spec["units"], activation=spec["activation"], name=name)
        elif kind == "Conv2D":
            layer = keras.layers.Conv2D(
                spec["filters"],
                spec["kernel"],
                activation=spec["activation"],
                padding=spec["padding"],
                name=name,
            )
        elif kind == "MaxPool":
            layer = keras.layers.MaxPooling2D(spec["size"], name=name)
        elif kind == "Dropout":
            layer = keras.layers.Dropout(spec["rate"], name=name)
        elif kind == "BatchNormalization":
            layer = keras.layers.BatchNormalization(name=name)
        elif kind == "RandomTranslation":
            # "nearest" repeats the border: background, whatever the normalization made of it.
            fraction = spec["fraction"]
            layer = keras.layers.RandomTranslation(
                fraction, fraction, fill_mode="nearest", name=name
            )
        elif kind == "RandomRotation":
            layer = keras.layers.RandomRotation(
                spec["degrees"] / 360, fill_mode="nearest", name=name
            )
        else:
            layer = keras.layers.Flatten(name=name)
        model_layers.append(layer)
    return keras.Sequential(model_layers, name="mnist_lab_model")
