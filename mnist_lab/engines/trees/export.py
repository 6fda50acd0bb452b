"""A trees run as a scikit-learn program: the same estimator, fitted once on the same digits.

The lab grows the model stage by stage to draw its learning curve (boosting through its
early-stopping hook, which holds no data out and changes no tree; a forest one tree per
warm-started fit, drawing the same seeds as a single fit), so one plain ``fit`` grows the
same trees from the same numbers. The script's pixels can differ from the lab's in their
last bit (it divides by 255, the lab multiplies by 1/255): boosting, which bins pixels by
rank, does not feel it; a forest's splits may, by a few test digits.
"""

from __future__ import annotations

from mnist_lab.engines.code import (
    CodeStep,
    constants_step,
    data_steps,
    exportable,
    print_accuracy_code,
)
from mnist_lab.engines.trees.settings import TreesSettings
from mnist_lab.runs import Run

EXPORTED_SETTINGS = {
    "method",
    "epochs",
    "max_leaves",
    "max_depth",
    "learning_rate",
    "normalization",
    "subset",
    "val_split",
    "seed",
}


def export_steps(run: Run) -> list[CodeStep]:
    """The steps of a scikit-learn program that regrows ``run`` (see `mnist_lab.engines.code`).

    Raises
    ------
    ValueError
        If the run uses a setting this exporter cannot write, or has not fitted its
        normalization yet.
    """
    settings, normalizer = exportable(run, TreesSettings, EXPORTED_SETTINGS)
    boosting = settings.method == "boosting"
    constants = {"STAGES": settings.epochs, "MAX_LEAVES": settings.max_leaves}
    if settings.max_depth is not None:
        constants["MAX_DEPTH"] = settings.max_depth
    if boosting:
        constants["LEARNING_RATE"] = settings.learning_rate
    depth = "MAX_DEPTH" if settings.max_depth is not None else "None"
    if boosting:
        estimator = "HistGradientBoostingClassifier"
        model = CodeStep(
            "Gradient boosting: each of STAGES rounds grows one tree per digit on the "
            "gradient of the loss, shrunk by LEARNING_RATE. The pixels are first sorted into "
            "at most 255 bins per pixel. early_stopping=False keeps every training digit.",
            f"""\
model = HistGradientBoostingClassifier(
    learning_rate=LEARNING_RATE,
    max_iter=STAGES,
    max_leaf_nodes=MAX_LEAVES,
    max_depth={depth},
    early_stopping=False,
    random_state=SEED,
)
model.fit(x_train, y_train)""",
        )
    else:
        estimator = "RandomForestClassifier"
        model = CodeStep(
            "A random forest: STAGES trees, each grown on a bootstrap sample of the training "
            "digits and choosing each split among a random sqrt(784) = 28 pixels; their "
            "leaves' class shares are averaged.",
            f"""\
model = RandomForestClassifier(
    n_estimators=STAGES,
    max_leaf_nodes=MAX_LEAVES,
    max_depth={depth},
    random_state=SEED,
)
model.fit(x_train, y_train)""",
        )
    steps = [
        CodeStep(
            "scikit-learn grows the trees; NumPy holds the digits.",
            "import os\nimport urllib.request\n\nimport numpy as np\n"
            f"from sklearn.ensemble import {estimator}",
        ),
        constants_step(run, settings, constants),
        *data_steps(settings, normalizer, for_keras=False),
        model,
    ]
    if settings.val_split:
        steps.append(_curve_step(boosting))
    steps.append(
        CodeStep(
            "Evaluate on the 10,000 test digits.",
            "test_accuracy = model.score(x_test, y_test)\n" + print_accuracy_code("test_accuracy"),
        )
    )
    return steps


def _curve_step(boosting: bool) -> CodeStep:
    """Print the validation accuracy every tenth of the stages, as the lab's curve drew it."""
    report = """\
    if stage % max(1, STAGES // 10) == 0 or stage == STAGES:
        print(f"stage {stage}: validation accuracy {np.mean(predicted == y_val):.4f}")"""
    if boosting:
        code = "for stage, predicted in enumerate(model.staged_predict(x_val), start=1):\n"
    else:
        code = (
            "summed = np.zeros((len(x_val), len(model.classes_)))\n"
            "for stage, tree in enumerate(model.estimators_, start=1):\n"
            "    summed += tree.predict_proba(x_val)\n"
            "    predicted = model.classes_[summed.argmax(axis=1)]\n"
        )
    return CodeStep(
        "The learning curve MNIST Lab drew: the validation accuracy after each stage, printed "
        "every tenth of the way.",
        code + report,
    )
