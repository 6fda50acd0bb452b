"""The MNIST data: the embedded copy, users' own MNIST-format files, and splits.

Nothing here unpickles: ``.npz`` files are read with ``allow_pickle=False`` and IDX
files are parsed byte by byte, so a malicious file can only raise ``ValueError``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EMBEDDED_PATH = Path(__file__).resolve().parent / "data" / "mnist.npz"
EMBEDDED_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
EMBEDDED_SOURCE = (
    "MNIST database of handwritten digits (LeCun, Cortes, Burges; CC BY-SA 3.0), "
    "embedded in mnist_lab/data/mnist.npz"
)
EMBEDDED_NAME = "MNIST"
# The embedded MNIST's training images: the whole set a subset is drawn from.
MNIST_N_TRAIN = 60_000
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10
CLASS_NAMES = tuple(str(digit) for digit in range(N_CLASSES))
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
# A .npz is a zip archive; anything else (a lone .npy, a pickle) would reach np.load's other paths.
ZIP_MAGIC = b"PK\x03\x04"

# IDX magic numbers: two zero bytes, the dtype code 0x08 (unsigned byte), the rank.
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
# Largest array a user file may unpack to: four times MNIST's training images. Checked from
# the headers before any data is read or inflated, so a small bomb cannot cost gigabytes.
MAX_ARRAY_BYTES = 200 * 2**20


@dataclass(frozen=True)
class MnistDataset:
    """An MNIST-format dataset: 28x28 uint8 images with digit labels 0-9.

    Attributes
    ----------
    x_train, x_test : numpy.ndarray
        Images of shape ``(n, 28, 28)``, dtype uint8, values 0-255, read-only.
    y_train, y_test : numpy.ndarray
        Labels of shape ``(n,)``, dtype uint8, values 0-9, read-only.
    class_names : tuple of str
        Display name of each class, indexed by label.
    name : str
        Short name of the dataset ("MNIST" for the embedded copy).
    source : str
        Where the data came from, for dataset cards and run configs.
    sha256 : str
        SHA-256 of the file(s) it was read from, recorded with every run.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] = CLASS_NAMES
    name: str = EMBEDDED_NAME
    source: str = EMBEDDED_SOURCE
    sha256: str = EMBEDDED_SHA256

    @property
    def n_train(self) -> int:
        """Number of training images."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test images."""
        return int(self.x_test.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes (the length of `class_names`)."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int]:
        """Height and width of one image."""
        return IMAGE_SHAPE


def file_sha256(path: str | Path) -> str:
    """Return the hex SHA-256 digest of a file, read in 1 MiB blocks.

    Parameters
    ----------
    path : str or Path
        The file to hash.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_mnist(path: str | Path | None = None) -> MnistDataset:
    """Load MNIST: the embedded copy by default, or a user's Keras-style ``.npz``.

    Parameters
    ----------
    path : str or Path, optional
        A ``.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test`` (the layout of
        ``keras.datasets.mnist.load_data()``). ``None`` loads the embedded MNIST after
        checking its SHA-256.

    Returns
    -------
    MnistDataset
        Read-only uint8 arrays.

    Raises
    ------
    ValueError
        If the embedded file fails its checksum, or the user's file is malformed.

    Examples
    --------
    >>> ds = load_mnist()
    >>> ds.x_train.shape, ds.y_test[:3].tolist()
    ((60000, 28, 28), [7, 2, 1])
    """
    if path is not None:
        return load_npz(path)
    digest = file_sha256(EMBEDDED_PATH)
    if digest != EMBEDDED_SHA256:
        raise ValueError(
            f"The embedded MNIST file {EMBEDDED_PATH} is damaged: its SHA-256 is {digest}, "
            f"expected {EMBEDDED_SHA256}. Reinstall MNIST Lab to restore it."
        )
    arrays = _read_npz_arrays(EMBEDDED_PATH)
    return _dataset_from_arrays(arrays, name=EMBEDDED_NAME, source=EMBEDDED_SOURCE, sha256=digest)


def load_npz(path: str | Path, name: str | None = None) -> MnistDataset:
    """Load a user's Keras-style MNIST ``.npz`` (Fashion-MNIST, KMNIST, a teacher's own set).

    Parameters
    ----------
    path : str or Path
        The ``.npz`` file, with arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``.
    name : str, optional
        Display name; the file name without extension by default.

    Returns
    -------
    MnistDataset

    Raises
    ------
    ValueError
        If the file is not a NumPy archive, holds pickled objects, lacks a key, or its
        arrays have the wrong shape, dtype or label range.
    """
    path = Path(path)
    arrays = _read_npz_arrays(path)
    return _dataset_from_arrays(
        arrays,
        name=name or path.stem,
        source=f"user file {path.name}",
        sha256=file_sha256(path),
    )


def load_idx_dataset(
    train_images: str | Path,
    train_labels: str | Path,
    test_images: str | Path,
    test_labels: str | Path,
    name: str = "IDX dataset",
) -> MnistDataset:
    """Load a dataset from the four original IDX files (``*-ubyte``, gzipped or not).

    Parameters
    ----------
    train_images, train_labels, test_images, test_labels : str or Path
        Paths such as ``train-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte``.
    name : str, default "IDX dataset"
        Display name.

    Returns
    -------
    MnistDataset

    Raises
    ------
    ValueError
        If a file has the wrong magic number, is truncated or too long, or the image and
        label counts disagree.
    """
    paths = [Path(p) for p in (train_images, train_labels, test_images, test_labels)]
    arrays = {
        "x_train": read_idx(paths[0], expect="images"),
        "y_train": read_idx(paths[1], expect="labels"),
        "x_test": read_idx(paths[2], expect="images"),
        "y_test": read_idx(paths[3], expect="labels"),
    }
    digest = hashlib.sha256("".join(file_sha256(p) for p in paths).encode()).hexdigest()
    source = "user IDX files " + ", ".join(p.name for p in paths)
    return _dataset_from_arrays(arrays, name=name, source=source, sha256=digest)


def read_idx(path: str | Path, expect: str) -> np.ndarray:
    """Read one IDX file of unsigned bytes (gzipped when its name ends in ``.gz``).

    Parameters
    ----------
    path : str or Path
        The IDX file.
    expect : {"images", "labels"}
        Which kind of file it must be: rank 3 (magic 2051) or rank 1 (magic 2049).

    Returns
    -------
    numpy.ndarray
        uint8 array of shape ``(n, rows, cols)`` or ``(n,)``.

    Raises
    ------
    ValueError
        If ``expect`` is unknown, the magic number is wrong, or the size does not match
        the header.
    """
    if expect not in ("images", "labels"):
        raise ValueError(f"expect must be 'images' or 'labels', got {expect!r}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path.name}: not a file")
    # Streamed, so a gzip is only ever inflated as far as its header says it reaches.
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            return _read_idx_stream(stream, path.name, expect)
    except (OSError, EOFError, zlib.error) as error:
        kind = "gzip" if path.suffix == ".gz" else "IDX"
        raise ValueError(f"{path.name}: not a valid {kind} file ({error})") from None


def _read_idx_stream(stream, name: str, expect: str) -> np.ndarray:
    """The body of `read_idx`: check the header, then read exactly what it announces."""
    magic_expected = IDX_IMAGES_MAGIC if expect == "images" else IDX_LABELS_MAGIC
    rank = 3 if expect == "images" else 1
    header_size = 4 + 4 * rank
    header = stream.read(header_size)
    if len(header) < header_size:
        raise ValueError(f"{name}: truncated IDX file ({len(header)} bytes, no full header)")
    magic = int.from_bytes(header[:4], "big")
    if magic != magic_expected:
        raise ValueError(
            f"{name}: wrong IDX magic number {magic} (0x{magic:08x}); an {expect} file "
            f"starts with {magic_expected} (0x{magic_expected:08x})"
        )
    dims = [int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    payload = int(np.prod(dims, dtype=np.int64))
    if payload > MAX_ARRAY_BYTES:
        raise ValueError(
            f"{name}: the header announces {dims} = {payload:,} bytes, more than the "
            f"{MAX_ARRAY_BYTES // 2**20} MB a dataset file may hold"
        )
    # One byte more than announced tells a file that goes on from one that ends in time.
    body = stream.read(payload + 1)
    if len(body) != payload:
        state = "truncated" if len(body) < payload else "longer than its header says"
        raise ValueError(
            f"{name}: file is {state}: header {dims} needs {header_size + payload} bytes, "
            f"found {header_size + len(body)}{' or more' if len(body) > payload else ''}"
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def train_validation_split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split a validation set off a training set, stratified by nothing, shuffled by ``seed``.

    Parameters
    ----------
    x, y : numpy.ndarray
        Images and labels with the same first dimension.
    fraction : float
        Share of the samples that go to validation, in ``[0, 1)``.
    seed : int, default 0
        Seed of the permutation, so the same seed gives the same split.

    Returns
    -------
    x_train, y_train, x_val, y_val : numpy.ndarray

    Raises
    ------
    ValueError
        If ``fraction`` is outside ``[0, 1)`` or ``x`` and ``y`` disagree in length.

    Examples
    --------
    >>> x, y = np.zeros((10, 2, 2)), np.arange(10)
    >>> [a.shape[0] for a in train_validation_split(x, y, 0.2, seed=1)]
    [8, 8, 2, 2]
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
    n_val = int(round(len(x) * fraction))
    order = np.random.default_rng(seed).permutation(len(x))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def random_subset(
    x: np.ndarray, y: np.ndarray, size: int | None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset of ``size`` samples, kept in their original order.

    Every engine draws its training subset here, so the same ``size`` and ``seed`` give a
    Keras network, the NumPy network and the baseline exactly the same images.

    Parameters
    ----------
    x, y : numpy.ndarray
        Images and labels with the same first dimension.
    size : int or None
        How many samples to keep; None keeps them all.
    seed : int, default 0
        Seed of the draw.

    Returns
    -------
    x_subset, y_subset : numpy.ndarray

    Raises
    ------
    ValueError
        If ``size`` is not in ``[1, len(x)]``.

    Examples
    --------
    >>> random_subset(np.arange(10), np.arange(10), 3, seed=0)[0].tolist()
    [2, 4, 6]
    """
    if size is None:
        return x, y
    if not 1 <= size <= len(x):
        raise ValueError(f"subset size must be in [1, {len(x)}], got {size}")
    chosen = np.sort(np.random.default_rng(seed).permutation(len(x))[:size])
    return x[chosen], y[chosen]


def _read_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read the four MNIST arrays from a ``.npz`` without unpickling anything."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    with open(path, "rb") as handle:
        if handle.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
            raise ValueError(
                f"{path.name}: not a NumPy .npz archive (a zip of .npy arrays written by "
                "numpy.savez); pickles and other formats are never loaded"
            )
    try:
        _check_npz_members(path)
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise ValueError(
                    f"{path.name}: missing arrays {missing}; an MNIST .npz holds {list(NPZ_KEYS)}"
                )
            return {key: archive[key] for key in NPZ_KEYS}
    except ValueError as error:
        if "pickle" in str(error).lower():
            raise ValueError(
                f"{path.name}: holds object arrays (pickled data), which are never loaded; "
                "save plain uint8 arrays with numpy.savez"
            ) from None
        raise
    except (OSError, zipfile.BadZipFile, EOFError, io.UnsupportedOperation) as error:
        raise ValueError(f"{path.name}: not a readable NumPy .npz archive ({error})") from None


def _check_npz_members(path: Path) -> None:
    """Refuse an archive whose members are not ``.npy`` arrays or would unpack too large.

    Each member's ``.npy`` header (shape and dtype) is read before any data, so a header
    that claims a huge array costs nothing.
    """
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise ValueError(
                    f"{path.name}: member {info.filename!r} is not a .npy array; an .npz "
                    "written by numpy.savez holds only .npy arrays"
                )
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(member)
            if dtype.hasobject:
                raise ValueError(
                    f"{path.name}: holds object arrays (pickled data), which are never loaded; "
                    "save plain uint8 arrays with numpy.savez"
                )
            total += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if total > MAX_ARRAY_BYTES or info.file_size > MAX_ARRAY_BYTES:
                raise ValueError(
                    f"{path.name}: its arrays would take more than the "
                    f"{MAX_ARRAY_BYTES // 2**20} MB a dataset file may hold"
                )


def _dataset_from_arrays(
    arrays: dict[str, np.ndarray], name: str, source: str, sha256: str
) -> MnistDataset:
    """Validate shapes, dtypes and label ranges, then freeze the arrays read-only."""
    checked = {}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8:
            raise ValueError(f"x_{split} must be uint8 (0-255 pixels), got {x.dtype}")
        if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
            raise ValueError(f"x_{split} must have shape (n, 28, 28), got {x.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y_{split} must hold integer labels, got {y.dtype}")
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(
                f"y_{split} must have shape ({len(x)},) to match x_{split}, got {y.shape}"
            )
        if len(x) == 0:
            raise ValueError(f"x_{split} is empty")
        if y.min() < 0 or y.max() >= N_CLASSES:
            raise ValueError(
                f"y_{split} labels must be in 0..{N_CLASSES - 1}, found {y.min()}..{y.max()}"
            )
        for key, value in ((f"x_{split}", x), (f"y_{split}", y.astype(np.uint8))):
            value = np.ascontiguousarray(value)
            value.flags.writeable = False
            checked[key] = value
    return MnistDataset(**checked, name=name, source=source, sha256=sha256)
