"""Label issues: digits whose given label the models confidently disagree with.

The idea of confident learning (Northcutt, Jiang and Chuang, 2021): judge every digit with
models that never saw it, and distrust the labels the judges find least likely. Suspicious
digits are those the judges' averaged probabilities give to another class, ranked by the
probability they leave for the given label (self-confidence), lowest first. A digit is
*confidently* mislabelled when its believed class reaches that class's threshold: the
judges' average probability of the class over the digits labelled with it.

Out-of-sample probabilities come from two places. For the test digits, the runs' own saved
test predictions (no run trains on the test set). For the training digits, cross-validation:
the digits are cut into folds, and each fold is judged by models fitted on the others, two
kinds of them so their mistakes differ: the baseline's logistic regression (its own settings)
and k-nearest neighbours on the main principal components. That takes a minute or two on all
60,000 digits, so the result is kept in the baseline run's ``label_issues.json``, keyed by its
model file's modification time: this module owns that file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from mnist_lab.data import MnistDataset, random_subset
from mnist_lab.engines import engine_of, get_engine
from mnist_lab.files import DamagedRunError, read_json
from mnist_lab.preprocess import fit_normalizer
from mnist_lab.runs import Run
from mnist_lab.settings import Settings

LABEL_ISSUES_FILE = "label_issues.json"
# Bumped when the method or the file changes, so stored results are computed again.
FORMAT_VERSION = 2
FOLDS = 4
NEIGHBOURS = 25
COMPONENTS = 40
LOGISTIC_JUDGE = "logistic regression"
NEIGHBOURS_JUDGE = f"{NEIGHBOURS} nearest neighbours"
# How many suspicious training digits the stored file keeps, most suspicious first.
STORED_ISSUES = 500


@dataclass(frozen=True)
class LabelIssues:
    """Suspicious digits, most suspicious first.

    Attributes
    ----------
    indices : numpy.ndarray
        Positions in the split (training or test set).
    given : numpy.ndarray
        Their labels as the dataset gives them.
    suggested : numpy.ndarray
        The class the judges believe instead.
    self_confidence : numpy.ndarray
        The judges' probability of the given label (low is suspicious).
    suggested_probability : numpy.ndarray
        Their probability of the suggested class.
    confident : numpy.ndarray
        bool: whether the suggested class reached its confident-learning threshold.
    n_checked : int
        How many digits were judged.
    n_disputed, n_confident : int
        How many of them the judges give another class, and confidently so (these counts
        stay when `top` keeps only the most suspicious).
    votes : dict
        Judge name -> the digit it predicts for each suspicious digit.
    """

    indices: np.ndarray
    given: np.ndarray
    suggested: np.ndarray
    self_confidence: np.ndarray
    suggested_probability: np.ndarray
    confident: np.ndarray
    n_checked: int
    n_disputed: int
    n_confident: int
    votes: dict[str, np.ndarray] = field(default_factory=dict)

    def top(self, n: int) -> LabelIssues:
        """The ``n`` most suspicious digits (the counts of all of them stay)."""
        return replace(
            self,
            **{name: getattr(self, name)[:n] for name in _ARRAYS},
            votes={judge: digits[:n] for judge, digits in self.votes.items()},
        )

    def with_votes(self, predictions: Mapping[str, np.ndarray]) -> LabelIssues:
        """The same issues with each judge's predicted digit for them (from all predictions)."""
        return replace(
            self, votes={judge: np.asarray(p)[self.indices] for judge, p in predictions.items()}
        )

    def to_dict(self) -> dict:
        """JSON-ready form (plain lists)."""
        data = {name: np.asarray(getattr(self, name)).tolist() for name in _ARRAYS}
        return data | {
            **{name: getattr(self, name) for name in _COUNTS},
            "votes": {judge: digits.tolist() for judge, digits in self.votes.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> LabelIssues:
        """Rebuild what `to_dict` wrote."""
        return cls(
            *(np.asarray(data[name], dtype=dtype) for name, dtype in _ARRAYS.items()),
            *(int(data[name]) for name in _COUNTS),
            votes={judge: np.asarray(d, dtype=np.int64) for judge, d in data["votes"].items()},
        )


# The per-issue arrays of LabelIssues, in field order, with their dtypes.
_ARRAYS = {
    "indices": np.int64,
    "given": np.int64,
    "suggested": np.int64,
    "self_confidence": np.float64,
    "suggested_probability": np.float64,
    "confident": bool,
}
_COUNTS = ("n_checked", "n_disputed", "n_confident")


def find_label_issues(labels: np.ndarray, probabilities: np.ndarray) -> LabelIssues:
    """Rank the digits whose out-of-sample probabilities favour another class than their label.

    Parameters
    ----------
    labels : numpy.ndarray
        Given labels, shape ``(n,)``.
    probabilities : numpy.ndarray
        Out-of-sample probabilities, shape ``(n, n_classes)``.

    Returns
    -------
    LabelIssues
        Without votes (see `LabelIssues.with_votes`).

    Raises
    ------
    ValueError
        If the shapes disagree or a label is out of range.

    Examples
    --------
    >>> p = np.array([[0.9, 0.1], [0.6, 0.4], [0.1, 0.9], [0.95, 0.05], [0.45, 0.55], [0, 1]])
    >>> issues = find_label_issues(np.array([0, 0, 1, 1, 0, 1]), p)
    >>> issues.indices.tolist(), issues.confident.tolist()
    ([3, 4], [True, False])
    """
    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(probabilities) != len(labels) or len(labels) == 0:
        raise ValueError(
            f"probabilities must have shape ({len(labels)}, n_classes), got {probabilities.shape}"
        )
    n, n_classes = probabilities.shape
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must be 0-{n_classes - 1}")
    rows = np.arange(n)
    self_confidence = probabilities[rows, labels]
    believed = probabilities.argmax(axis=1)
    # Each class's threshold: the average probability of it among digits labelled with it.
    totals = np.bincount(labels, weights=self_confidence, minlength=n_classes)
    counts = np.bincount(labels, minlength=n_classes)
    thresholds = np.divide(totals, counts, out=np.ones(n_classes), where=counts > 0)
    disputed = np.flatnonzero(believed != labels)
    strength = probabilities[disputed, believed[disputed]]
    # Least trusted label first; among equals, the strongest belief in another class.
    ranked = disputed[np.lexsort((-strength, self_confidence[disputed]))]
    confident = probabilities[ranked, believed[ranked]] >= thresholds[believed[ranked]]
    return LabelIssues(
        indices=ranked,
        given=labels[ranked],
        suggested=believed[ranked],
        self_confidence=self_confidence[ranked],
        suggested_probability=probabilities[ranked, believed[ranked]],
        confident=confident,
        n_checked=n,
        n_disputed=len(ranked),
        n_confident=int(confident.sum()),
    )


def label_issues_of_test_set(
    y_test: np.ndarray, probabilities: Mapping[str, np.ndarray]
) -> LabelIssues:
    """Suspicious test digits, judged by the average of several runs' test probabilities.

    Parameters
    ----------
    y_test : numpy.ndarray
        The test labels every run was evaluated on.
    probabilities : mapping
        Run name -> its saved test probabilities ``(n_test, 10)``.

    Returns
    -------
    LabelIssues
        With each run's vote.
    """
    if not probabilities:
        raise ValueError("at least one run's test probabilities are needed")
    issues = find_label_issues(y_test, np.mean(list(probabilities.values()), axis=0))
    return issues.with_votes({name: p.argmax(axis=1) for name, p in probabilities.items()})


def out_of_fold_probabilities(
    x: np.ndarray,
    y: np.ndarray,
    settings: Settings,
    folds: int = FOLDS,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Each digit's probabilities from models that did not train on it.

    Parameters
    ----------
    x, y : numpy.ndarray
        uint8 digits ``(n, 28, 28)`` and their labels.
    settings : Settings
        The baseline engine's settings: its model's (C, tolerance, iterations...), the
        normalization and seed (the subset is ignored).
    folds : int, default 4
        Stratified folds (2-10): each is judged by models fitted on the others.
    on_progress : callable, optional
        Called as ``on_progress(done, folds)`` after each fold.

    Returns
    -------
    dict
        `LOGISTIC_JUDGE` and `NEIGHBOURS_JUDGE` -> float64 probabilities ``(n, 10)``.
    """
    from sklearn.decomposition import PCA
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    if not 2 <= folds <= 10:
        raise ValueError(f"folds must be 2-10, got {folds}")
    splitter = StratifiedKFold(folds, shuffle=True, random_state=settings.seed)
    judged = {judge: np.zeros((len(x), 10)) for judge in (LOGISTIC_JUDGE, NEIGHBOURS_JUDGE)}
    baseline = get_engine(settings.engine)
    for done, (fit_rows, judged_rows) in enumerate(splitter.split(x, y), start=1):
        normalizer = fit_normalizer(settings.normalization, x[fit_rows])
        fit_x, judged_x = (
            normalizer.transform(x[rows]).reshape(len(rows), -1) for rows in (fit_rows, judged_rows)
        )
        neighbours = make_pipeline(
            PCA(COMPONENTS, random_state=settings.seed), KNeighborsClassifier(NEIGHBOURS)
        )
        # One BLAS thread: L-BFGS's small products gain little from two, and lose many
        # times over when a training run already keeps the cores busy.
        with threadpool_limits(1):
            models = {
                LOGISTIC_JUDGE: baseline.fit_estimator(settings, fit_x, y[fit_rows]),
                NEIGHBOURS_JUDGE: neighbours.fit(fit_x, y[fit_rows]),
            }
            for judge, model in models.items():
                # A class missing from a tiny fold gets no column: place columns by class.
                columns = np.ix_(judged_rows, model.classes_)
                judged[judge][columns] = model.predict_proba(judged_x)
        if on_progress is not None:
            on_progress(done, folds)
    return judged


def read_training_set_label_issues(baseline: Run, dataset: MnistDataset) -> LabelIssues | None:
    """The stored suspicious training digits of ``baseline``, if still current, else None."""
    try:
        stored = read_json(baseline.file(LABEL_ISSUES_FILE))
    except (FileNotFoundError, DamagedRunError):
        return None
    if stored.get("key") != _cache_key(baseline, dataset):
        return None
    try:
        return LabelIssues.from_dict(stored["issues"])
    except (KeyError, TypeError, ValueError):
        return None


def label_issues_of_training_set(
    baseline: Run,
    dataset: MnistDataset,
    on_progress: Callable[[int, int], None] | None = None,
) -> LabelIssues:
    """Suspicious training digits by cross-validation (see `out_of_fold_probabilities`),
    read from the baseline's ``label_issues.json``, or found and stored there.

    Parameters
    ----------
    baseline : Run
        A baseline run (its engine offers `Engine.fit_estimator`); its ``subset``, if
        any, sets how many training digits are judged.
    dataset : MnistDataset
    on_progress : callable, optional
        As for `out_of_fold_probabilities`; not called when the result is stored.

    Returns
    -------
    LabelIssues
        Indices into ``dataset.x_train``; the `STORED_ISSUES` most suspicious, with the
        votes of both judges.
    """
    stored = read_training_set_label_issues(baseline, dataset)
    if stored is not None:
        return stored
    settings = engine_of(baseline).settings(baseline)
    positions, labels = random_subset(
        np.arange(len(dataset.y_train)), dataset.y_train, settings.subset, settings.seed
    )
    judged = out_of_fold_probabilities(
        dataset.x_train[positions], labels, settings, on_progress=on_progress
    )
    found = find_label_issues(labels, np.mean(list(judged.values()), axis=0)).top(STORED_ISSUES)
    found = found.with_votes({judge: p.argmax(axis=1) for judge, p in judged.items()})
    issues = replace(found, indices=positions[found.indices])
    baseline.write_json(
        LABEL_ISSUES_FILE, {"key": _cache_key(baseline, dataset), "issues": issues.to_dict()}
    )
    return issues


def _cache_key(baseline: Run, dataset: MnistDataset) -> dict:
    """What the stored issues depend on: the baseline's save time and settings, the data."""
    model_file = engine_of(baseline).model_file(baseline)
    return {
        "version": FORMAT_VERSION,
        "model_mtime": model_file.stat().st_mtime if model_file else None,
        # The settings, not the whole config: a rename must not send the judges back to work.
        "settings": engine_of(baseline).settings(baseline).recorded(),
        "dataset_sha256": dataset.sha256,
        "folds": FOLDS,
    }
