"""What every engine whose models are Keras models shares: the size limit, saving, safe loading,
predicting.

The lab's own networks (`keras_net`) and models trained outside the lab (`external`) keep
their model in a ``.keras`` file; both save it atomically and load it with ``safe_mode=True``.
Keras itself is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mnist_lab.engines.base import Engine
from mnist_lab.files import DamagedRunError, open_regular
from mnist_lab.runs import Run

# Ten million weights train in minutes on a laptop CPU; a billion would stall a shared server.
MAX_PARAMS = 10_000_000
# The largest model file read: weights and Adam's two moments in float32 at MAX_PARAMS, and room.
MAX_MODEL_FILE_BYTES = 16 * MAX_PARAMS


def save_model_atomically(model: Any, path: str | Path) -> None:
    """Save ``model`` as a ``.keras`` file under a temporary name, then rename it to ``path``.

    A crash while saving leaves the previous file intact.
    """
    path = Path(path)
    # Keras insists on the .keras suffix, so the temporary name keeps it.
    temp_path = path.with_name(f".{path.stem}.tmp.keras")
    try:
        model.save(temp_path)
        os.replace(temp_path, path)
    except BaseException:
        # A half-written model on a full disk would keep it full: no status could be saved.
        temp_path.unlink(missing_ok=True)
        raise


def load_model_file(path: str | Path) -> Any:
    """Load a saved Keras model with ``safe_mode=True``, so the file can never run code.

    Raises
    ------
    DamagedRunError
        If the file cannot be loaded: truncated, not a Keras model, or refused by
        ``safe_mode`` because it holds code (a ``Lambda`` layer, a custom object).
    """
    import keras

    # Keras opens the file itself: first make sure it is a regular file of a bounded size
    # (a FIFO would hang the page, /dev/zero would never end).
    with open_regular(Path(path), MAX_MODEL_FILE_BYTES):
        pass
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:
        # Keras raises many kinds for a bad file; each one means the same to a page.
        raise DamagedRunError(f"{Path(path).name} cannot be loaded: {error}") from None


class KerasModelEngine(Engine):
    """An engine whose saved model is a Keras file: its parameters are Keras's own count."""

    def count_parameters(self, run: Run) -> int | None:
        """Every weight of the saved Keras model, as Keras counts them."""
        if self.model_file(run) is None:
            return None
        return int(self.load_model(run).count_params())


def predict_outputs(model: Any, inputs: Any, batch_size: int) -> Any:
    """``model``'s outputs for ``inputs``, in batches of ``batch_size``.

    Up to one batch (a digit explained or drawn on a page) goes through ``predict_on_batch``:
    ``predict`` builds a dataset, an iterator and callbacks on every call, some 0.04 s of CPU
    for one digit; its outputs are the same.
    """
    if len(inputs) <= batch_size:
        return model.predict_on_batch(inputs)
    return model.predict(inputs, batch_size=batch_size, verbose=0)
