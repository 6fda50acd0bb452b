"""Trained trees as plain arrays (``trees.npz``), read back and evaluated with NumPy alone.

scikit-learn's fitted trees are copied node by node into one table shared by every tree of
the model, never pickled: a node asks whether one pixel is at most a threshold, and goes to
its left child if so, else to its right. The table is laid out breadth first with siblings
side by side (a right child directly follows its left one) and every leaf is its own child
behind a threshold of +inf, so one step for all digits and all trees at once is two lookups
and an addition: ``node = left[node] + (pixel > threshold[node])``, repeated as many times as
the deepest tree is deep.

A boosted model adds its trees' leaf values to each class's starting score (``baseline``)
and takes a softmax; a forest averages its trees' leaf probabilities.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from mnist_lab.data import IMAGE_SHAPE
from mnist_lab.files import DamagedRunError, atomic_write_bytes, read_arrays
from mnist_lab.runs import Run

MODEL_FILE = "trees.npz"
N_FEATURES = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
TABLE_ARRAYS = ("feature", "threshold", "left", "right", "value", "roots", "depth", "column")
MODEL_ARRAYS = ("method", *TABLE_ARRAYS, "baseline", "classes", "n_classes")
# Digits x trees handled in one NumPy step: a few tens of MB of temporary arrays.
CELLS_PER_BATCH = 2_000_000
# Labels are uint8: no dataset has more classes.
MAX_CLASSES = 256


@dataclass(frozen=True)
class Trees:
    """Trees in one breadth-first node table (see the module's docstring).

    Attributes
    ----------
    feature : numpy.ndarray
        int16 ``(n_nodes,)``: the pixel a node asks about (0 at leaves).
    threshold : numpy.ndarray
        float64 ``(n_nodes,)``: go left when the pixel is at most this (+inf at leaves).
    left, right : numpy.ndarray
        int32 ``(n_nodes,)``: the children; ``right == left + 1``, and a leaf is its own child.
    value : numpy.ndarray
        ``(n_nodes, width)``: a boosted tree's leaf score (width 1, float64) or a forest
        tree's class probabilities (float32).
    roots, depth : numpy.ndarray
        int32 ``(n_trees,)``: each tree's root and its number of levels below the root.
    column : numpy.ndarray
        int16 ``(n_trees,)``: the class score a boosted tree adds to (0 in a forest).
    """

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depth: np.ndarray
    column: np.ndarray

    @property
    def n_trees(self) -> int:
        """How many trees the table holds."""
        return len(self.roots)

    @property
    def n_leaves(self) -> int:
        """How many leaves the table holds (nodes that are their own child)."""
        return int(np.sum(self.left == np.arange(len(self.left))))

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """The leaf each of ``x``'s rows reaches in each tree.

        Parameters
        ----------
        x : numpy.ndarray
            Normalized digits as rows ``(n, 784)``, the dtype they were trained in.

        Returns
        -------
        numpy.ndarray
            int32 node indices ``(n, n_trees)``.

        Raises
        ------
        DamagedRunError
            If a tree is deeper than its recorded depth (a damaged table).
        """
        node = np.broadcast_to(self.roots, (len(x), self.n_trees)).copy()
        # Each row's pixels start at row * 784 in the flattened digits.
        offsets = (np.arange(len(x), dtype=np.int64) * x.shape[1])[:, None]
        flat = x.ravel()
        for _ in range(int(self.depth.max(initial=0))):
            pixel = flat[offsets + self.feature[node]]
            node = self.left[node] + (pixel > self.threshold[node])
        if not np.array_equal(self.left[node], node):
            raise DamagedRunError(f"{MODEL_FILE} holds a tree deeper than its recorded depth")
        return node


@dataclass(frozen=True)
class TreeModel:
    """A boosted or random forest model: its trees and how their leaves make probabilities.

    Attributes
    ----------
    method : {"boosting", "forest"}
    trees : Trees
    baseline : numpy.ndarray
        float64 ``(width,)``: a boosted model's class scores before any tree (zeros in a
        forest).
    classes : numpy.ndarray
        The labels the model was fitted on, in the order of its scores.
    n_classes : int
        Columns of the probabilities returned: the dataset's classes, including any the
        training subset lacked.
    """

    method: str
    trees: Trees
    baseline: np.ndarray
    classes: np.ndarray
    n_classes: int

    def leaf_sums(self, x: np.ndarray) -> np.ndarray:
        """Per score, the sum over the trees of the leaves that rows ``x`` reach, ``(n, width)``."""
        leaf_values = self.trees.value[self.trees.leaves(x)]
        if self.method == "forest":
            return leaf_values.sum(axis=1, dtype=np.float64)
        # Each boosted tree adds its leaf's value to its own class's score.
        return leaf_values[..., 0] @ np.eye(len(self.baseline))[self.trees.column]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, n_classes)`` of normalized rows ``x``, in batches.

        Parameters
        ----------
        x : numpy.ndarray
            Normalized digits as rows ``(n, 784)``.

        Returns
        -------
        numpy.ndarray
            float64, each row summing to 1; classes the model never saw get 0.
        """
        batch = max(1, CELLS_PER_BATCH // self.trees.n_trees)
        result = np.zeros((len(x), self.n_classes))
        for start in range(0, len(x), batch):
            sums = self.leaf_sums(x[start : start + batch])
            fitted = probabilities(self.method, self.baseline, sums, self.trees.n_trees)
            result[start : start + batch, self.classes] = fitted
        return result


def probabilities(method: str, baseline: np.ndarray, sums: np.ndarray, n_trees: int) -> np.ndarray:
    """Probabilities over the fitted classes from the `TreeModel.leaf_sums` of ``n_trees`` trees.

    Parameters
    ----------
    method : {"boosting", "forest"}
    baseline : numpy.ndarray
        A boosted model's scores before any tree.
    sums : numpy.ndarray
        ``(n, width)``: per score, the sum of the leaves reached.
    n_trees : int
        How many trees were summed (a forest averages them).

    Returns
    -------
    numpy.ndarray
        ``(n, n_fitted_classes)``.

    Examples
    --------
    >>> probabilities("boosting", np.zeros(1), np.array([[0.0]]), 1).tolist()
    [[0.5, 0.5]]
    """
    if method == "forest":
        return sums / n_trees
    scores = baseline + sums
    if scores.shape[1] == 1:
        # Two classes: one score, the second class's log-odds (scikit-learn's binary loss).
        second = 1 / (1 + np.exp(-scores[:, 0]))
        return np.column_stack([1 - second, second])
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def tree_table(
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    is_leaf: np.ndarray,
    value: np.ndarray,
    column: int = 0,
) -> Trees:
    """One tree, given node by node in any order with its root first, as a `Trees` table.

    Parameters
    ----------
    feature, threshold : numpy.ndarray
        ``(n_nodes,)``: each split's pixel and threshold (anything at leaves).
    left, right : numpy.ndarray
        ``(n_nodes,)``: each split's children (anything at leaves).
    is_leaf : numpy.ndarray
        bool ``(n_nodes,)``.
    value : numpy.ndarray
        ``(n_nodes, width)``: the leaves' values.
    column : int, default 0
        The class score a boosted tree adds to.

    Returns
    -------
    Trees

    Examples
    --------
    A stump on pixel 3, stored with its right leaf before its left one:

    >>> stump = tree_table(np.array([3, 0, 0]), np.array([0.5, 0, 0]), np.array([2, 0, 0]),
    ...                    np.array([1, 0, 0]), np.array([False, True, True]),
    ...                    np.array([[0.0], [9.0], [7.0]]))
    >>> stump.left.tolist(), stump.right.tolist(), stump.value[:, 0].tolist()
    ([1, 1, 2], [2, 1, 2], [0.0, 7.0, 9.0])
    """
    # Breadth first, each split's children side by side: levels[d] holds depth d's old ids.
    levels = [np.zeros(1, dtype=np.int64)]
    while True:
        splits = levels[-1][~is_leaf[levels[-1]]]
        if not len(splits):
            break
        levels.append(np.column_stack([left[splits], right[splits]]).ravel().astype(np.int64))
    order = np.concatenate(levels)
    new_id = np.zeros(len(is_leaf), dtype=np.int64)
    new_id[order] = np.arange(len(order))
    leaf = is_leaf[order]
    own = np.arange(len(order))
    new_left = np.where(leaf, own, new_id[np.where(leaf, 0, left[order])])
    return Trees(
        feature=np.where(leaf, 0, feature[order]).astype(np.int16),
        threshold=np.where(leaf, np.inf, threshold[order]).astype(np.float64),
        left=new_left.astype(np.int32),
        right=np.where(leaf, own, new_left + 1).astype(np.int32),
        value=value[order],
        roots=np.zeros(1, dtype=np.int32),
        depth=np.array([len(levels) - 1], dtype=np.int32),
        column=np.array([column], dtype=np.int16),
    )


def concatenate(tables: list[Trees]) -> Trees:
    """The trees of several tables, in order, in one table (node indices shifted)."""
    starts = np.cumsum([0, *(len(table.feature) for table in tables)])[:-1]
    return Trees(
        *(
            np.concatenate([getattr(table, name) for table in tables])
            for name in ("feature", "threshold")
        ),
        *(
            np.concatenate(
                [getattr(t, name) + s for t, s in zip(tables, starts, strict=True)]
            ).astype(np.int32)
            for name in ("left", "right")
        ),
        np.concatenate([table.value for table in tables]),
        np.concatenate([t.roots + s for t, s in zip(tables, starts, strict=True)]).astype(np.int32),
        np.concatenate([table.depth for table in tables]),
        np.concatenate([table.column for table in tables]),
    )


def save_model(run: Run, model: TreeModel) -> None:
    """Write ``trees.npz``: the node table, the baseline and the classes, no pickle."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        method=np.array(model.method),
        **{name: getattr(model.trees, name) for name in TABLE_ARRAYS},
        baseline=model.baseline,
        classes=model.classes,
        n_classes=np.array(model.n_classes),
    )
    atomic_write_bytes(run.file(MODEL_FILE), buffer.getvalue())


def load_model(run: Run) -> TreeModel:
    """Read ``trees.npz`` (never unpickling) and check that its trees hold together.

    Raises
    ------
    FileNotFoundError
        If the run saved no model.
    DamagedRunError
        If the file is unreadable or its arrays contradict each other.
    """
    arrays = read_arrays(run.file(MODEL_FILE), MODEL_ARRAYS)
    try:
        model = _model_of(arrays)
    except (TypeError, ValueError, IndexError) as error:
        raise DamagedRunError(f"{MODEL_FILE} holds inconsistent trees ({error})") from None
    return model


def _model_of(arrays: dict[str, Any]) -> TreeModel:
    """A `TreeModel` of ``trees.npz``'s arrays; ValueError naming the first inconsistency."""
    method = str(arrays["method"])
    feature, left, right, roots, depth, column = (
        arrays[name].astype(np.int64)
        for name in ("feature", "left", "right", "roots", "depth", "column")
    )
    threshold, value = arrays["threshold"].astype(np.float64), arrays["value"]
    baseline, classes = arrays["baseline"].astype(np.float64), arrays["classes"].astype(np.int64)
    n_classes, n_nodes = int(arrays["n_classes"]), len(feature)
    own = np.arange(n_nodes)
    scores = 1 if method == "boosting" else len(classes)
    # In order: each check may rely on the ones before it.
    checks = (
        ("an unknown method", lambda: method in ("boosting", "forest")),
        (
            "arrays of different lengths",
            lambda: (
                all(a.shape == (n_nodes,) for a in (threshold, left, right))
                and value.ndim == 2
                and len(value) == n_nodes
                and roots.ndim == 1
                and roots.shape == depth.shape == column.shape
                and len(roots) > 0
            ),
        ),
        ("a node out of range", lambda: _within(left, n_nodes) and _within(roots, n_nodes)),
        (
            "children that are not side by side",
            lambda: (
                np.array_equal(right, np.where(left == own, own, left + 1))
                and _within(right, n_nodes)
            ),
        ),
        ("a pixel out of range", lambda: _within(feature, N_FEATURES)),
        ("a depth out of range", lambda: _within(depth, n_nodes)),
        ("non-finite values", lambda: np.isfinite(value).all() and np.isfinite(baseline).all()),
        ("a missing threshold", lambda: not np.isnan(threshold).any()),
        (
            "classes out of range",
            lambda: (
                0 < len(classes) <= n_classes <= MAX_CLASSES
                and _within(classes, n_classes)
                and len(np.unique(classes)) == len(classes)
            ),
        ),
        (
            "scores that do not match its classes",
            lambda: (
                value.shape[1] == scores
                and len(baseline)
                == (1 if method == "boosting" and len(classes) == 2 else len(classes))
                and _within(column, len(baseline))
            ),
        ),
    )
    for what, holds in checks:
        if not holds():
            raise ValueError(f"it holds {what}")
    trees = Trees(
        feature.astype(np.int16),
        threshold,
        left.astype(np.int32),
        right.astype(np.int32),
        value,
        roots.astype(np.int32),
        depth.astype(np.int32),
        column.astype(np.int16),
    )
    return TreeModel(method, trees, baseline, classes, n_classes)


def _within(indices: np.ndarray, size: int) -> bool:
    """Whether every index lies in ``[0, size)``."""
    return bool(np.all((indices >= 0) & (indices < size)))
