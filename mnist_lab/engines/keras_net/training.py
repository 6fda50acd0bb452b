"""Training a Keras network as a run, and loading its model back for predictions.

`train_run` is what the Keras engine's ``train`` runs in the worker. It is a plain ``model.fit`` on
NumPy arrays, made fast by running many optimizer steps per call into TensorFlow
(``steps_per_execution``), so Python only wakes up every few dozen steps to log.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from mnist_lab.data import (
    N_CLASSES,
    MnistDataset,
    load_mnist,
    random_subset,
    train_validation_split,
)
from mnist_lab.datasets import dataset_of
from mnist_lab.engines.keras_common import (
    load_model_file,
    predict_outputs,
    save_model_atomically,
)
from mnist_lab.engines.keras_net.callbacks import (
    EpochCheckpoint,
    HistoryWriter,
    LayerStatsLogger,
    TensorBoardScalars,
)
from mnist_lab.engines.keras_net.files import CHECKPOINT_FILE, MODEL_FILE
from mnist_lab.engines.keras_net.models import INPUT_SHAPE, build_model, has_convolutions
from mnist_lab.engines.keras_net.schedules import keras_one_cycle
from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.engines.keras_report import ReportToRun
from mnist_lab.evaluation import evaluated_words, write_timed_evaluation
from mnist_lab.preprocess import Normalizer, fit_normalizer, load_normalizer, save_normalizer
from mnist_lab.records import HISTORY_FILE
from mnist_lab.reporter import TrainingReporter, learning_rate_remedy
from mnist_lab.runs import TENSORBOARD_DIR, Run, RunOutcome

# Optimizer steps per call into TensorFlow: callbacks fire this often, Python overhead is paid once.
STEPS_PER_EXECUTION = 64
# Small runs call back more often, so their curves and progress still move within an epoch.
MIN_UPDATES_PER_EPOCH = 10
# Small enough that 6 probes per epoch cost about 3% of an epoch of an MLP on the full data.
PROBE_SIZE = 128
GRADIENT_RECORDS_PER_EPOCH = 6
PREDICT_BATCH_SIZE = 1024


@dataclass(frozen=True)
class PreparedData:
    """Normalized float32 images ``(n, 28, 28, 1)`` and int32 labels, plus the normalizer."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    normalizer: Normalizer
    n_classes: int = N_CLASSES


def prepare_data(config: KerasSettings, dataset: MnistDataset | None = None) -> PreparedData:
    """Subset, split and normalize the data as ``config`` says (normalizer fit on train only).

    Parameters
    ----------
    config : KerasSettings
    dataset : MnistDataset, optional
        Defaults to the embedded MNIST.

    Returns
    -------
    PreparedData
    """
    dataset = dataset or load_mnist()
    x, y = random_subset(dataset.x_train, dataset.y_train, config.subset, seed=config.seed)
    x_train, y_train, x_val, y_val = train_validation_split(
        x, y, config.val_split, seed=config.seed
    )
    normalizer = fit_normalizer(config.normalization, x_train)

    def images(array: np.ndarray) -> np.ndarray:
        return normalizer.transform(array)[..., np.newaxis]

    def labels(array: np.ndarray) -> np.ndarray:
        return np.asarray(array, dtype=np.int32)

    return PreparedData(
        images(x_train),
        labels(y_train),
        images(x_val),
        labels(y_val),
        images(dataset.x_test),
        labels(dataset.y_test),
        normalizer,
        dataset.n_classes,
    )


def make_optimizer(config: KerasSettings, steps_per_epoch: int):
    """The Keras optimizer of ``config``, with its learning-rate schedule (decayed per epoch)."""
    import keras

    schedules = keras.optimizers.schedules
    learning_rate = config.learning_rate
    if config.lr_schedule == "exponential":
        learning_rate = schedules.ExponentialDecay(
            learning_rate, steps_per_epoch, config.lr_decay_rate
        )
    elif config.lr_schedule == "cosine":
        learning_rate = schedules.CosineDecay(
            learning_rate, steps_per_epoch * config.epochs, alpha=config.lr_min_fraction
        )
    elif config.lr_schedule == "one-cycle":
        learning_rate = keras_one_cycle(
            steps_per_epoch * config.epochs, learning_rate, config.warmup_fraction
        )
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(
            learning_rate, momentum=config.momentum, nesterov=config.nesterov
        )
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    betas = {"beta_1": config.beta_1, "beta_2": config.beta_2}
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=config.weight_decay, **betas)
    return keras.optimizers.Adam(learning_rate, **betas)


def make_loss(config: KerasSettings):
    """Cross-entropy, with label smoothing when asked (it needs one-hot targets)."""
    import keras

    if config.label_smoothing:
        return keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    return "sparse_categorical_crossentropy"


def fit_targets(
    config: KerasSettings, labels: np.ndarray, n_classes: int = N_CLASSES
) -> np.ndarray:
    """The labels as `make_loss` wants them: one-hot rows under label smoothing, else as is."""
    if config.label_smoothing:
        return np.eye(n_classes, dtype=np.float32)[labels]
    return labels


def compile_model(
    config: KerasSettings,
    steps_per_epoch: int,
    steps_per_execution: int = STEPS_PER_EXECUTION,
    n_classes: int = N_CLASSES,
):
    """Build and compile the model of ``config`` (seed the random state before calling)."""
    model = build_model(config.model_layers(), n_classes)
    model.compile(
        optimizer=make_optimizer(config, steps_per_epoch),
        loss=make_loss(config),
        metrics=["accuracy"],
        steps_per_execution=max(
            1, min(steps_per_execution, steps_per_epoch // MIN_UPDATES_PER_EPOCH)
        ),
    )
    _build_training_state(model, config, n_classes)
    return model


def _build_training_state(model, config: KerasSettings, n_classes: int) -> None:
    """Create the optimizer's and the metrics' variables now, outside any traced function.

    Keras on TensorFlow (without a distribution strategy) creates them inside the first
    trace of the train step, and TensorFlow then traces the step a second time: about half
    a second of the fast CNN's eight. Keras's own build from symbolic shapes does it here.
    """
    example = np.zeros((1, *INPUT_SHAPE), dtype=np.float32)
    target = fit_targets(config, np.zeros(1, dtype=np.int32), n_classes)
    try:
        model._symbolic_build(data_batch=(example, target))
    except (AttributeError, TypeError):
        pass  # A Keras without this private method (as of 3.15) only traces twice.


def configure_threads(layers: list[dict]) -> None:
    """Give small dense networks one thread per op and several ops at once.

    A dense step at batch 32 is too small to split across cores (splitting costs more than
    it saves), while running independent ops side by side pays: about 1.5x faster on two
    cores with identical results. Convolutions are big enough to use every core in each op,
    so they keep TensorFlow's defaults. Threads can only be set before TensorFlow starts: a
    process that already ran TensorFlow (a test, a notebook) keeps what it has.
    """
    import tensorflow as tf

    if has_convolutions(layers):
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(max(2, os.cpu_count() or 1))
    except RuntimeError:
        pass


def train_run(run: Run) -> RunOutcome:
    """Train the Keras run in ``run`` and leave a complete run directory.

    Writes ``normalizer.json``, ``metrics.jsonl``, ``status.json`` progress,
    ``history.csv``, ``checkpoint.keras`` (each epoch), ``model.keras``, ``tb/``, then
    ``evaluation.json`` and ``predictions.npz`` on the test set.

    Parameters
    ----------
    run : Run
        A run whose ``config.json`` was written from a `KerasSettings`.

    Returns
    -------
    RunOutcome
        ``finished``; ``stopped`` (on request: the model so far is saved and evaluated);
        or ``diverged`` (loss NaN or exploding: only the last good checkpoint is kept).
    """
    import keras

    config = KerasSettings.from_dict(run.config())
    configure_threads(config.model_layers())
    keras.utils.set_random_seed(config.seed)
    reporter = TrainingReporter(
        run, learning_rate_remedy(config.normalization != "raw"), batch_size=config.batch_size
    )
    reporter.stage("data")
    dataset = dataset_of(run)
    data = prepare_data(config, dataset)
    save_normalizer(run, data.normalizer)
    steps_per_epoch = math.ceil(len(data.x_train) / config.batch_size)
    reporter.stage("model")
    model = compile_model(config, steps_per_epoch, n_classes=data.n_classes)
    probe = np.random.default_rng(config.seed).choice(
        len(data.x_train), min(PROBE_SIZE, len(data.x_train)), replace=False
    )
    gradient_every = (
        max(1, steps_per_epoch // GRADIENT_RECORDS_PER_EPOCH) if config.gradients_recorded else None
    )
    callbacks = [
        ReportToRun(reporter),
        LayerStatsLogger(run, data.x_train[probe], data.y_train[probe], gradient_every),
        HistoryWriter(run.file(HISTORY_FILE)),
        EpochCheckpoint(run.file(CHECKPOINT_FILE)),
    ]
    early_stopping = None
    if config.early_stopping_patience is not None:
        early_stopping = keras.callbacks.EarlyStopping(
            patience=config.early_stopping_patience, restore_best_weights=True
        )
        callbacks.append(early_stopping)
    callbacks.append(TensorBoardScalars(run.file(TENSORBOARD_DIR)))
    validation = (
        (data.x_val, fit_targets(config, data.y_val, data.n_classes)) if len(data.x_val) else None
    )
    model.fit(
        data.x_train,
        fit_targets(config, data.y_train, data.n_classes),
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=validation,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    if reporter.divergence is not None:
        kept = (
            " The last good epoch's checkpoint is kept."
            if run.file(CHECKPOINT_FILE).exists()
            else ""
        )
        return RunOutcome("diverged", reporter.divergence + kept)

    save_model_atomically(model, run.file(MODEL_FILE))
    run.update_status(message=f"Evaluating on the {len(data.x_test):,} test images.")
    evaluation = write_timed_evaluation(
        run,
        data.y_test,
        lambda: model.predict(data.x_test, batch_size=PREDICT_BATCH_SIZE, verbose=0),
        class_names=dataset.class_names,
    )
    result = evaluated_words(evaluation)
    if reporter.stopped_at is not None:
        return RunOutcome(
            "stopped",
            f"Stopped at {reporter.stopped_at} as requested; the model so far is saved and "
            f"{result}.",
        )
    reporter.finish()
    if early_stopping is not None and early_stopping.stopped_epoch > 0:
        return RunOutcome(
            "finished",
            f"Stopped early after epoch {early_stopping.stopped_epoch + 1}: the validation loss "
            f"had not improved for {config.early_stopping_patience} epochs (best weights kept); "
            f"{result}.",
        )
    return RunOutcome("finished", f"Finished: trained {config.epochs} epochs, {result}.")


def load_trained_model(run: Run):
    """Load a run's model: the final ``model.keras``, else the last ``checkpoint.keras``.

    Loaded with ``safe_mode=True``, so a model file can never run arbitrary code.

    Raises
    ------
    FileNotFoundError
        If the run saved neither file.
    DamagedRunError
        If the file cannot be loaded: truncated, not a Keras model, or refused by
        ``safe_mode`` because it holds code.
    """
    for name in (MODEL_FILE, CHECKPOINT_FILE):
        if run.file(name).exists():
            return load_model_file(run.file(name))
    raise FileNotFoundError(f"run {run.id} has no {MODEL_FILE} or {CHECKPOINT_FILE}")


def predict_proba(run: Run, x_uint8: np.ndarray, model=None) -> np.ndarray:
    """Class probabilities of raw 0-255 images, normalized exactly as in training.

    Parameters
    ----------
    run : Run
        A Keras run with a saved model and ``normalizer.json``.
    x_uint8 : numpy.ndarray
        One image ``(28, 28)`` or a batch ``(n, 28, 28)`` of pixel values 0-255.
    model : keras.Model, optional
        The run's model if already loaded (pages cache it); loaded from the run if omitted.

    Returns
    -------
    numpy.ndarray
        float32 probabilities of shape ``(n, 10)`` (``n = 1`` for a single image).
    """
    images = np.asarray(x_uint8).reshape(-1, 28, 28)
    if model is None:
        model = load_trained_model(run)
    inputs = load_normalizer(run).transform(images)[..., np.newaxis]
    return np.asarray(predict_outputs(model, inputs, PREDICT_BATCH_SIZE), dtype=np.float32)
