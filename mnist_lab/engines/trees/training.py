"""Growing boosted trees or a random forest as a run, one stage at a time, reported live.

A stage is the lab's epoch: a boosting round (one tree per class) or one more tree of the
forest. After each stage its trees are copied into the model's node table
(`mnist_lab.engines.trees.model`), added to the running scores of a sample of the training
digits and of the validation split, and the stage's loss and accuracy go to the reporter as
an ``epoch`` record, so the learning curve draws while the trees grow and a stop request
ends training after the stage under way.

A forest grows with ``warm_start`` one tree per fit. Boosting cannot: each warm-started fit
bins the 60,000 digits again and re-predicts every tree so far (seconds per round on two
cores). It runs as one fit instead, and scikit-learn's early-stopping hook, a scorer it
calls after every round, reports the round; on a stop request the scorer's score falls,
which ends the fit there (``n_iter_no_change=1``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mnist_lab import records
from mnist_lab.data import MnistDataset, random_subset, train_validation_split
from mnist_lab.datasets import dataset_of
from mnist_lab.engines.trees.model import (
    N_FEATURES,
    TreeModel,
    Trees,
    concatenate,
    probabilities,
    save_model,
    tree_table,
)
from mnist_lab.engines.trees.settings import TreesSettings
from mnist_lab.evaluation import cross_entropy, evaluated_words, write_timed_evaluation
from mnist_lab.files import atomic_write_bytes
from mnist_lab.preprocess import Normalizer, fit_normalizer, save_normalizer
from mnist_lab.records import HISTORY_FILE
from mnist_lab.reporter import TrainingReporter
from mnist_lab.runs import Run, RunOutcome

# Training digits whose loss and accuracy each stage reports: enough for a smooth curve,
# few enough that scoring a stage costs a small share of growing it.
CURVE_SAMPLE = 10_000
# Trees do not blow up; a loss this high means they give the true digits no probability.
REMEDY = "the trees give most digits' true class no probability: grow more or larger trees"

# Called after each stage with that stage's trees; returns whether training must end.
OnStage = Callable[[Trees], bool]


def train_run(run: Run) -> RunOutcome:
    """Grow the trees of ``run``'s config; the worker's entry point for engine ``trees``.

    Writes one ``epoch`` record per stage to ``metrics.jsonl``, progress to
    ``status.json``, then ``trees.npz``, ``normalizer.json``, ``history.csv`` and the
    test-set evaluation. A stop request ends training after the stage under way (the trees
    so far are kept and evaluated).

    Parameters
    ----------
    run : Run
        A run created with ``TreesSettings(...).to_dict()`` as its config.

    Returns
    -------
    RunOutcome
    """
    settings = TreesSettings.from_dict(run.config())
    dataset = dataset_of(run)
    x_train, y_train, x_val, y_val, normalizer = prepare_data(settings, dataset)
    save_normalizer(run, normalizer)
    reporter = TrainingReporter(run, REMEDY, batch_size=len(x_train))
    reporter.begin(settings.epochs, steps_per_epoch=1)
    reporter.begin_epoch(1)
    sample = np.sort(np.random.default_rng(settings.seed).permutation(len(x_train))[:CURVE_SAMPLE])
    curve = StageCurve(
        settings, reporter, dataset.n_classes, (x_train[sample], y_train[sample]), (x_val, y_val)
    )
    grow = grow_boosting if settings.method == "boosting" else grow_forest
    grow(settings, x_train, y_train, curve)
    if reporter.divergence is not None:
        return RunOutcome("diverged", reporter.divergence)
    model = curve.model()
    save_model(run, model)
    atomic_write_bytes(run.file(HISTORY_FILE), records.history_csv(curve.history).encode())
    evaluation = write_timed_evaluation(
        run,
        dataset.y_test,
        lambda: model.predict_proba(flat(normalizer, dataset.x_test)),
        class_names=dataset.class_names,
    )
    grown = (
        f"{len(curve.history)} of {settings.epochs} stages ({model.trees.n_trees:,} trees, "
        f"{model.trees.n_leaves:,} leaves)"
    )
    summary = f"{grown}; {evaluated_words(evaluation)}"
    if reporter.stopped_at is not None:
        return RunOutcome("stopped", f"Stopped after {summary}; these trees are saved.")
    reporter.finish()
    return RunOutcome("finished", f"Grew {summary}.")


def flat(normalizer: Normalizer, images: np.ndarray) -> np.ndarray:
    """Images normalized as in training, as rows of 784 float32 pixels."""
    return normalizer.transform(images).reshape(len(images), N_FEATURES)


def prepare_data(settings: TreesSettings, dataset: MnistDataset) -> tuple:
    """Subset, split and normalize the training images, as every engine draws them.

    Returns
    -------
    x_train, y_train, x_val, y_val : numpy.ndarray
        Rows of 784 float32 pixels and their labels (no rows in validation when
        ``val_split`` is 0).
    normalizer : Normalizer
        Fitted on the training split only.
    """
    x_all, y_all = random_subset(dataset.x_train, dataset.y_train, settings.subset, settings.seed)
    x_train, y_train, x_val, y_val = train_validation_split(
        x_all, y_all, settings.val_split, seed=settings.seed
    )
    normalizer = fit_normalizer(settings.normalization, x_train)
    return (
        flat(normalizer, x_train),
        y_train.astype(np.int64),
        flat(normalizer, x_val),
        y_val.astype(np.int64),
        normalizer,
    )


@dataclass
class StageCurve:
    """The trees grown so far and their scores on the curve's digits, stage after stage.

    Calling it with a stage's trees (see `OnStage`) adds them, writes the stage's records
    through the reporter and says whether training must end.

    Attributes
    ----------
    settings : TreesSettings
    reporter : TrainingReporter
    n_classes : int
        The dataset's classes.
    train, validation : tuple of numpy.ndarray
        ``(x, y)``: a sample of the training digits, and the validation split (maybe empty).
    classes : numpy.ndarray
        The labels the trees were fitted on (set by `start`).
    baseline : numpy.ndarray
        A boosted model's scores before its first round (set by `start`).
    """

    settings: TreesSettings
    reporter: TrainingReporter
    n_classes: int
    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    baseline: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tables: list[Trees] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    _sums: list[np.ndarray] = field(default_factory=list)

    def start(self, classes: np.ndarray, baseline: np.ndarray) -> None:
        """The fit's classes and its scores before any tree (zeros for a forest)."""
        self.classes, self.baseline = np.asarray(classes, dtype=np.int64), baseline
        self._sums = [np.zeros((len(x), len(baseline))) for x, _ in (self.train, self.validation)]

    def __call__(self, trees: Trees) -> bool:
        self.tables.append(trees)
        stage = TreeModel(self.settings.method, trees, self.baseline, self.classes, 0)
        metrics = []
        for sums, (x, y) in zip(self._sums, (self.train, self.validation), strict=True):
            if not len(x):
                metrics.append((None, None))
                continue
            sums += stage.leaf_sums(x)
            fitted = probabilities(self.settings.method, self.baseline, sums, len(self.tables))
            predicted = np.zeros((len(y), self.n_classes))
            predicted[:, self.classes] = fitted
            metrics.append(
                (cross_entropy(y, predicted), float(np.mean(predicted.argmax(axis=1) == y)))
            )
        (loss, accuracy), (val_loss, val_accuracy) = metrics
        lr = self.settings.learning_rate if self.settings.method == "boosting" else 0.0
        ended = self.reporter.batch_end(1, loss, accuracy, lr)
        self.history.append(self.reporter.end_epoch(loss, accuracy, val_loss, val_accuracy, lr))
        if not ended and len(self.history) < self.settings.epochs:
            self.reporter.begin_epoch(len(self.history) + 1)
        return ended

    def model(self) -> TreeModel:
        """Every tree grown, as the model saved to ``trees.npz``."""
        return TreeModel(
            self.settings.method,
            concatenate(self.tables),
            self.baseline,
            self.classes,
            self.n_classes,
        )


def grow_boosting(settings: TreesSettings, x: np.ndarray, y: np.ndarray, curve: StageCurve) -> Any:
    """Fit ``HistGradientBoostingClassifier``, handing each round's trees to ``curve``.

    Returns
    -------
    HistGradientBoostingClassifier
        The fitted estimator (its rounds up to a stop request).
    """
    # Imported here: scikit-learn takes seconds to import; predictions never need it.
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        learning_rate=settings.learning_rate,
        max_iter=settings.epochs,
        max_leaf_nodes=settings.max_leaves,
        max_depth=settings.max_depth,
        # The hook that reports each round (see the module's docstring); no data is held
        # out: validation_fraction=None scores the training digits, and the score is ours.
        early_stopping=True,
        scoring=RoundScorer(curve),
        validation_fraction=None,
        n_iter_no_change=1,
        tol=0.0,
        random_state=settings.seed,
    )
    return model.fit(x, y)


# eq=False keeps it hashable: scikit-learn looks the scorer up among its named ones.
@dataclass(eq=False)
class RoundScorer:
    """The scorer a boosted fit calls after every round: it reports the round to ``curve``.

    Its score rises by one each round while training goes on and falls when it must end,
    so that early stopping (``n_iter_no_change=1``, ``tol=0``) ends the fit there.
    """

    curve: StageCurve

    def __call__(self, estimator: Any, x_binned: np.ndarray, y: np.ndarray) -> float:
        rounds = len(estimator._predictors)
        if rounds == 0:
            # Called once before the first round: the scores every tree will add to.
            self.curve.start(estimator.classes_, estimator._baseline_prediction.ravel())
            return 0.0
        ended = self.curve(boosting_round(estimator._predictors[-1]))
        return -1.0 if ended else float(rounds)


def boosting_round(predictors: list) -> Trees:
    """One boosting round's trees (one ``TreePredictor`` per class score) as a table.

    Raises
    ------
    ValueError
        If a tree splits on categories (the lab never declares categorical pixels).
    """
    tables = []
    for column, predictor in enumerate(predictors):
        nodes = predictor.nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits cannot be exported")
        # Inputs come from images, never NaN: missing_go_to_left is never consulted.
        tables.append(
            tree_table(
                nodes["feature_idx"],
                nodes["num_threshold"],
                nodes["left"],
                nodes["right"],
                nodes["is_leaf"].astype(bool),
                nodes["value"][:, None],
                column,
            )
        )
    return concatenate(tables)


def grow_forest(settings: TreesSettings, x: np.ndarray, y: np.ndarray, curve: StageCurve) -> Any:
    """Grow a ``RandomForestClassifier`` one tree per fit, handing each to ``curve``.

    Returns
    -------
    RandomForestClassifier
        The fitted estimator (its trees up to a stop request).
    """
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(
        n_estimators=1,
        max_leaf_nodes=settings.max_leaves,
        max_depth=settings.max_depth,
        warm_start=True,
        random_state=settings.seed,
    )
    for stage in range(1, settings.epochs + 1):
        model.set_params(n_estimators=stage)
        model.fit(x, y)
        if stage == 1:
            curve.start(model.classes_, np.zeros(len(model.classes_)))
        if curve(forest_tree(model.estimators_[-1].tree_)):
            break
    return model


def forest_tree(tree: Any) -> Trees:
    """A fitted scikit-learn ``Tree`` (``estimator.tree_``) as a table of class probabilities."""
    is_leaf = tree.children_left < 0
    counts = tree.value[:, 0, :].astype(np.float64)
    # Leaves hold class weights (or shares, in newer scikit-learn): predict_proba normalizes.
    totals = counts.sum(axis=1, keepdims=True)
    probabilities = (counts / np.where(totals > 0, totals, 1.0)).astype(np.float32)
    return tree_table(
        tree.feature,
        tree.threshold,
        tree.children_left,
        tree.children_right,
        is_leaf,
        probabilities,
    )
