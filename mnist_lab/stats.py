"""Descriptive statistics of MNIST-format images: classes, pixel values, average digits, maps.

Everything works on uint8 images of shape ``(n, height, width)`` and integer labels, returns
plain NumPy arrays, dataclasses or tidy pandas DataFrames, and never imports streamlit. Large
inputs are walked in chunks of :data:`CHUNK_IMAGES` images, so the 60 000 training digits never
need a full float64 copy (376 MB) in memory.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

N_VALUES = 256
CHUNK_IMAGES = 4096
PROJECTION_METHODS = ("pca", "tsne") + (
    ("umap",) if importlib.util.find_spec("umap") is not None else ()
)
# t-SNE first compresses the pixels to this many principal components, as its authors advise.
TSNE_PCA_COMPONENTS = 50
# Half scikit-learn's default: the map of a few thousand digits has settled by then.
TSNE_ITERATIONS = 500
DEFAULT_N_CLASSES = 10


@dataclass(frozen=True)
class PixelStatistics:
    """Per-pixel mean, variance and standard deviation over a set of images.

    Attributes
    ----------
    mean, variance, std : numpy.ndarray
        float64 images of shape ``(height, width)`` on the [0, 255] scale (population
        variance, ``ddof=0``).
    n_images : int
        How many images they summarise.
    """

    mean: np.ndarray
    variance: np.ndarray
    std: np.ndarray
    n_images: int


def class_counts(
    labels_by_split: Mapping[str, np.ndarray], n_classes: int = DEFAULT_N_CLASSES
) -> pd.DataFrame:
    """Count the images of each class in each split.

    Parameters
    ----------
    labels_by_split : mapping of str to numpy.ndarray
        Integer labels per split, e.g. ``{"train": y_train, "test": y_test}``.
    n_classes : int, default 10
        Labels must lie in ``0 .. n_classes - 1``.

    Returns
    -------
    pandas.DataFrame
        One row per (split, digit), in the mapping's order, with columns ``split``, ``digit``,
        ``count`` and ``share`` (the count over the split's size).

    Raises
    ------
    ValueError
        If a split is empty or holds a label outside ``0 .. n_classes - 1``.

    Examples
    --------
    >>> class_counts({"train": np.array([0, 1, 1])}, n_classes=2)["count"].tolist()
    [1, 2]
    """
    rows = []
    for split, labels in labels_by_split.items():
        labels = _check_labels(labels, n_classes, name=f"labels of split {split!r}")
        counts = np.bincount(labels, minlength=n_classes)
        rows.append(
            pd.DataFrame(
                {
                    "split": split,
                    "digit": np.arange(n_classes),
                    "count": counts,
                    "share": counts / len(labels),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def pixel_value_counts(
    images: np.ndarray, labels: np.ndarray | None = None, n_classes: int = DEFAULT_N_CLASSES
) -> np.ndarray:
    """Count how often each pixel value 0-255 occurs, overall or per class.

    Parameters
    ----------
    images : numpy.ndarray
        uint8 images of shape ``(n, height, width)``.
    labels : numpy.ndarray, optional
        Integer labels of shape ``(n,)``; when given, the counts are split by class.
    n_classes : int, default 10
        Number of classes when ``labels`` is given.

    Returns
    -------
    numpy.ndarray
        int64 counts of shape ``(256,)``, or ``(n_classes, 256)`` with labels.

    Raises
    ------
    ValueError
        If the images are not uint8 ``(n, h, w)`` or the labels do not match them.

    Examples
    --------
    >>> pixel_value_counts(np.array([[[0, 255]]], dtype=np.uint8))[[0, 1, 255]].tolist()
    [1, 0, 1]
    """
    images = _check_images(images)
    if labels is None:
        total = np.zeros(N_VALUES, dtype=np.int64)
        for start, stop in _chunks(len(images)):
            total += np.bincount(images[start:stop].ravel(), minlength=N_VALUES)
        return total
    labels = _check_labels(labels, n_classes, n_expected=len(images))
    pixels_per_image = images[0].size
    total = np.zeros(n_classes * N_VALUES, dtype=np.int64)
    for start, stop in _chunks(len(images)):
        # One bincount per chunk: bin = label * 256 + value, so all classes come out at once.
        offsets = np.repeat(labels[start:stop].astype(np.intp) * N_VALUES, pixels_per_image)
        bins = offsets + images[start:stop].ravel()
        total += np.bincount(bins, minlength=n_classes * N_VALUES)
    return total.reshape(n_classes, N_VALUES)


def pixel_histogram(value_counts: np.ndarray, nonzero_only: bool = False) -> pd.DataFrame:
    """Turn the 256 counts of :func:`pixel_value_counts` into a tidy histogram table.

    Parameters
    ----------
    value_counts : numpy.ndarray
        Counts of shape ``(256,)``; sum a per-class array over its first axis first.
    nonzero_only : bool, default False
        Drop the value 0 (the background, about 81 % of MNIST pixels), so the ink shows.

    Returns
    -------
    pandas.DataFrame
        Columns ``value`` (0-255 or 1-255), ``count`` and ``share`` (of the rows shown).

    Raises
    ------
    ValueError
        If ``value_counts`` does not have shape ``(256,)``.
    """
    value_counts = np.asarray(value_counts)
    if value_counts.shape != (N_VALUES,):
        raise ValueError(f"value_counts must have shape ({N_VALUES},), got {value_counts.shape}")
    first = 1 if nonzero_only else 0
    counts = value_counts[first:]
    total = counts.sum()
    shares = counts / total if total else np.zeros(len(counts))
    return pd.DataFrame({"value": np.arange(first, N_VALUES), "count": counts, "share": shares})


def standardization_constants(images: np.ndarray) -> pd.DataFrame:
    """Mean, variance and standard deviation of all pixel values, for standardizing inputs.

    On the MNIST training split these are the well-known 0.1307 and 0.3081 on [0, 1].

    Parameters
    ----------
    images : numpy.ndarray
        uint8 images of shape ``(n, height, width)``.

    Returns
    -------
    pandas.DataFrame
        Index ``scale`` with rows ``"[0, 255]"`` (raw bytes) and ``"[0, 1]"`` (bytes / 255);
        columns ``mean``, ``variance`` and ``std`` (population, ``ddof=0``).

    Examples
    --------
    >>> standardization_constants(np.array([[[0, 255]]], dtype=np.uint8)).loc["[0, 1]"].tolist()
    [0.5, 0.25, 0.5]
    """
    mean, variance = _moments_from_value_counts(pixel_value_counts(images))
    return pd.DataFrame(
        {
            "mean": [mean, mean / 255],
            "variance": [variance, variance / 255**2],
            "std": [np.sqrt(variance), np.sqrt(variance) / 255],
        },
        index=pd.Index(["[0, 255]", "[0, 1]"], name="scale"),
    )


def average_ink(
    images: np.ndarray, labels: np.ndarray, n_classes: int = DEFAULT_N_CLASSES
) -> pd.DataFrame:
    """How much ink each digit uses on average.

    Parameters
    ----------
    images : numpy.ndarray
        uint8 images of shape ``(n, height, width)``.
    labels : numpy.ndarray
        Integer labels of shape ``(n,)``.
    n_classes : int, default 10
        Number of classes.

    Returns
    -------
    pandas.DataFrame
        One row per digit with columns ``digit``, ``images``, ``mean_intensity`` (mean pixel
        value on [0, 1], i.e. the share of the canvas a fully black stroke would cover) and
        ``inked_pixels`` (mean number of non-zero pixels per image); NaN for absent digits.
    """
    counts = pixel_value_counts(images, labels, n_classes).astype(np.float64)
    pixels_per_image = images[0].size
    n_images = counts.sum(axis=1) / pixels_per_image
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_intensity = counts @ np.arange(N_VALUES) / (counts.sum(axis=1) * 255)
        inked_pixels = (counts.sum(axis=1) - counts[:, 0]) / n_images
    return pd.DataFrame(
        {
            "digit": np.arange(n_classes),
            "images": n_images.astype(np.int64),
            "mean_intensity": mean_intensity,
            "inked_pixels": inked_pixels,
        }
    )


def pixel_statistics(images: np.ndarray) -> PixelStatistics:
    """Per-pixel mean, variance and std images, summed in float64 chunks.

    Parameters
    ----------
    images : numpy.ndarray
        uint8 images of shape ``(n, height, width)``, ``n >= 1``.

    Returns
    -------
    PixelStatistics
        On the [0, 255] scale; divide by 255 (std) or 255**2 (variance) for [0, 1].

    Raises
    ------
    ValueError
        If there are no images or they are not uint8 ``(n, h, w)``.

    Examples
    --------
    >>> stats = pixel_statistics(np.array([[[0, 10]], [[0, 30]]], dtype=np.uint8))
    >>> stats.mean.tolist(), stats.std.tolist()
    ([[0.0, 20.0]], [[0.0, 10.0]])
    """
    images = _check_images(images)
    if len(images) == 0:
        raise ValueError("pixel_statistics needs at least one image, got none")
    total = np.zeros(images.shape[1:], dtype=np.float64)
    total_of_squares = np.zeros(images.shape[1:], dtype=np.float64)
    for start, stop in _chunks(len(images)):
        chunk = images[start:stop].astype(np.float64)
        total += chunk.sum(axis=0)
        total_of_squares += np.square(chunk).sum(axis=0)
    mean = total / len(images)
    # Sums of squared bytes are exact in float64; the clip removes -0.0-style rounding residue.
    variance = np.clip(total_of_squares / len(images) - np.square(mean), 0.0, None)
    return PixelStatistics(
        mean=mean, variance=variance, std=np.sqrt(variance), n_images=len(images)
    )


def pixel_statistics_by_class(
    images: np.ndarray, labels: np.ndarray, n_classes: int = DEFAULT_N_CLASSES
) -> list[PixelStatistics]:
    """:func:`pixel_statistics` for each class: the average 0, the average 1, ...

    Parameters
    ----------
    images : numpy.ndarray
        uint8 images of shape ``(n, height, width)``.
    labels : numpy.ndarray
        Integer labels of shape ``(n,)``.
    n_classes : int, default 10
        Number of classes; each must have at least one image.

    Returns
    -------
    list of PixelStatistics
        Indexed by label.

    Raises
    ------
    ValueError
        If a class has no images, or the labels do not match the images.
    """
    images = _check_images(images)
    labels = _check_labels(labels, n_classes, n_expected=len(images))
    missing = [digit for digit in range(n_classes) if not np.any(labels == digit)]
    if missing:
        raise ValueError(
            f"classes {missing} have no images; every class 0..{n_classes - 1} needs one"
        )
    return [pixel_statistics(images[labels == digit]) for digit in range(n_classes)]


def always_zero_mask(images: np.ndarray) -> np.ndarray:
    """Pixels that are 0 in every image (the border a model can never learn from).

    Parameters
    ----------
    images : numpy.ndarray
        uint8 images of shape ``(n, height, width)``.

    Returns
    -------
    numpy.ndarray
        bool array of shape ``(height, width)``.
    """
    return _check_images(images).max(axis=0, initial=0) == 0


def always_zero_share(images: np.ndarray) -> float:
    """Share of pixel positions that are 0 in every image (about 8.5 % of MNIST train).

    Parameters
    ----------
    images : numpy.ndarray
        uint8 images of shape ``(n, height, width)``.

    Returns
    -------
    float
        In [0, 1].
    """
    return float(always_zero_mask(images).mean())


def sample_indices(
    labels: np.ndarray, n: int, digit: int | None = None, seed: int = 0
) -> np.ndarray:
    """Pick up to ``n`` random image indices, optionally of one digit only.

    Parameters
    ----------
    labels : numpy.ndarray
        Labels of the images to sample from, shape ``(n_images,)``.
    n : int
        How many to pick, ``n >= 1``; fewer come back when fewer match.
    digit : int, optional
        Only images with this label; ``None`` samples all of them.
    seed : int, default 0
        Seed of the shuffle, so a seed always shows the same images.

    Returns
    -------
    numpy.ndarray
        int64 indices into ``labels``, in shuffled order.

    Raises
    ------
    ValueError
        If ``n < 1``.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    candidates = np.arange(len(labels)) if digit is None else np.flatnonzero(labels == digit)
    rng = np.random.default_rng(seed)
    return rng.permutation(candidates)[:n].astype(np.int64)


def sample_of_selection(
    selected: np.ndarray, labels: np.ndarray, n: int, seed: int = 0
) -> np.ndarray:
    """Up to ``n`` of the ``selected`` image indices, drawn at random across all of them.

    A gallery of a lasso selection should show the whole selection, not its first few
    points (which plotly lists trace by trace, so one digit at a time). The draw is grouped
    by label, then by index, so the gallery reads digit by digit.

    Parameters
    ----------
    selected : numpy.ndarray
        Indices into ``labels`` (and the images).
    labels : numpy.ndarray
        Labels of all the images.
    n : int
        How many to show, ``n >= 1``.
    seed : int, default 0

    Returns
    -------
    numpy.ndarray
        int64 indices, a subset of ``selected``.

    Examples
    --------
    >>> labels = np.array([4] * 90 + [9] * 40)
    >>> picked = sample_of_selection(np.arange(130), labels, 10)
    >>> len(picked), sorted(set(labels[picked].tolist()))
    (10, [4, 9])
    """
    selected = np.asarray(selected, dtype=np.int64)
    picked = selected[sample_indices(labels[selected], n, seed=seed)]
    return picked[np.lexsort((picked, labels[picked]))]


def project_2d(
    images: np.ndarray,
    labels: np.ndarray,
    method: str = "pca",
    n_samples: int = 2000,
    seed: int = 0,
    verbose: int = 0,
) -> pd.DataFrame:
    """Map a seeded random sample of images to 2-D points, for a scatter of the digits.

    Parameters
    ----------
    images : numpy.ndarray
        uint8 images of shape ``(n, height, width)``.
    labels : numpy.ndarray
        Integer labels of shape ``(n,)``.
    method : {"pca", "tsne", "umap"}, default "pca"
        PCA (NumPy SVD, linear, instant); t-SNE (scikit-learn, on the first 50 principal
        components; seconds for a few thousand points); UMAP only where ``umap-learn`` is
        installed (see :data:`PROJECTION_METHODS`).
    n_samples : int, default 2000
        How many images to sample (all of them when there are fewer).
    seed : int, default 0
        Seed of the sample and of the stochastic methods.
    verbose : int, default 0
        Passed to t-SNE and UMAP: 2 prints t-SNE's progress every 50 iterations.

    Returns
    -------
    pandas.DataFrame
        Columns ``index`` (into ``images``), ``digit``, ``x`` and ``y``.

    Raises
    ------
    ValueError
        If ``method`` is not available or ``n_samples < 3``.
    """
    if method not in PROJECTION_METHODS:
        raise ValueError(f"method must be one of {PROJECTION_METHODS}, got {method!r}")
    if n_samples < 3:
        raise ValueError(f"n_samples must be at least 3, got {n_samples}")
    images = _check_images(images)
    labels = np.asarray(labels)
    if len(labels) != len(images):
        raise ValueError(f"labels and images differ in length: {len(labels)} vs {len(images)}")
    index = np.sort(sample_indices(labels, n_samples, seed=seed))
    pixels = images[index].reshape(len(index), -1).astype(np.float64) / 255
    if method == "pca":
        coords = _principal_components(pixels, 2)
    elif method == "tsne":
        from sklearn.manifold import TSNE  # imported here: only the t-SNE option pays for it

        compressed = _principal_components(pixels, min(TSNE_PCA_COMPONENTS, *pixels.shape))
        perplexity = min(30.0, (len(index) - 1) / 3)
        coords = TSNE(
            n_components=2,
            init="pca",
            perplexity=perplexity,
            max_iter=TSNE_ITERATIONS,
            random_state=seed,
            verbose=verbose,
        ).fit_transform(compressed)
    else:
        import umap  # optional dependency, listed only when importable

        coords = umap.UMAP(n_components=2, random_state=seed, verbose=bool(verbose)).fit_transform(
            pixels
        )
    return pd.DataFrame(
        {
            "index": index,
            "digit": labels[index].astype(np.int64),
            "x": coords[:, 0],
            "y": coords[:, 1],
        }
    )


def _principal_components(samples: np.ndarray, n_components: int) -> np.ndarray:
    """Project centred rows onto their first principal axes, signs fixed for reproducibility."""
    centred = samples - samples.mean(axis=0)
    # Eigenvectors of the small (pixels x pixels) covariance: cheaper than an SVD of the samples.
    _, eigenvectors = np.linalg.eigh(centred.T @ centred)
    scores = centred @ eigenvectors[:, ::-1][:, :n_components]
    # Eigenvector signs are arbitrary; make each axis's largest score positive, as sklearn does.
    signs = np.sign(scores[np.abs(scores).argmax(axis=0), np.arange(scores.shape[1])])
    return scores * np.where(signs == 0, 1, signs)


def _moments_from_value_counts(value_counts: np.ndarray) -> tuple[float, float]:
    """Mean and population variance of the values 0-255 weighted by their counts."""
    values = np.arange(N_VALUES, dtype=np.float64)
    n = value_counts.sum()
    mean = float(value_counts @ values / n)
    return mean, float(value_counts @ np.square(values - mean) / n)


def _chunks(n: int) -> Iterator[tuple[int, int]]:
    """Start and stop of consecutive blocks of :data:`CHUNK_IMAGES` images."""
    for start in range(0, n, CHUNK_IMAGES):
        yield start, min(start + CHUNK_IMAGES, n)


def _check_images(images: np.ndarray) -> np.ndarray:
    """Accept only uint8 image stacks ``(n, h, w)``, the layout every statistic assumes."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"images must be a uint8 array of shape (n, height, width), got {images.dtype} "
            f"with shape {images.shape}"
        )
    return images


def _check_labels(
    labels: np.ndarray, n_classes: int, n_expected: int | None = None, name: str = "labels"
) -> np.ndarray:
    """Accept non-empty 1-D integer labels in ``0 .. n_classes - 1``, as intp for bincount."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or len(labels) == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D integer array, got {labels.dtype} {labels.shape}"
        )
    if n_expected is not None and len(labels) != n_expected:
        raise ValueError(f"{name} must have one entry per image ({n_expected}), got {len(labels)}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(
            f"{name} must lie in 0..{n_classes - 1}, found {labels.min()}..{labels.max()}"
        )
    return labels.astype(np.intp, copy=False)
