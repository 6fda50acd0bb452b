"""A small dataset of three drawn shapes (squares, crosses, circles), as four gzipped IDX files.

It stands for a teacher's own data: 28x28 grey images, white ink on black, a little noise,
easy enough that one epoch on 300 images learns it.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

CLASS_NAMES = ("square", "cross", "circle")
N_TRAIN = 300
N_TEST = 60
FILE_NAMES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


def draw(label: int, rng: np.random.Generator) -> np.ndarray:
    """One 28x28 uint8 image of shape ``label`` (0 square, 1 cross, 2 circle), jittered."""
    rows, cols = np.mgrid[:28, :28]
    centre_r, centre_c = 14 + rng.integers(-3, 4, size=2)
    size = rng.integers(6, 10)
    dr, dc = rows - centre_r, cols - centre_c
    if label == 0:
        ring = np.maximum(np.abs(dr), np.abs(dc))
        ink = (ring >= size - 1) & (ring <= size)
    elif label == 1:
        inside = (np.abs(dr) <= size) & (np.abs(dc) <= size)
        ink = inside & ((np.abs(dr - dc) <= 1) | (np.abs(dr + dc) <= 1))
    else:
        ink = np.abs(np.hypot(dr, dc) - size) <= 1.0
    image = ink * 230.0 + rng.normal(0, 12, size=(28, 28))
    return np.clip(image, 0, 255).astype(np.uint8)


def shapes_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """``x_train``, ``y_train``, ``x_test``, ``y_test`` of the shapes, classes taking turns."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, count in (("train", N_TRAIN), ("test", N_TEST)):
        labels = np.arange(count, dtype=np.uint8) % len(CLASS_NAMES)
        arrays[f"x_{split}"] = np.stack([draw(int(label), rng) for label in labels])
        arrays[f"y_{split}"] = labels
    return arrays


def idx_bytes(array: np.ndarray) -> bytes:
    """A uint8 array as IDX: magic (0x08 dtype, rank), big-endian dimensions, the bytes."""
    header = (0x0800 + array.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_shapes_idx(directory: Path, seed: int = 0) -> list[Path]:
    """Write the shapes as the four gzipped IDX files in ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays, paths = shapes_arrays(seed), []
    for key, file_name in FILE_NAMES.items():
        path = directory / file_name
        path.write_bytes(gzip.compress(idx_bytes(arrays[key])))
        paths.append(path)
    return paths
