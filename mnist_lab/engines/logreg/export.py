"""A baseline run as a scikit-learn program: ``LogisticRegression`` on the normalized pixels."""

from __future__ import annotations

from mnist_lab.engines.code import (
    CodeStep,
    constants_step,
    data_steps,
    exportable,
    print_accuracy_code,
)
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.runs import Run

# chunk_iterations only paces progress reports; the fit's optimum does not depend on it.
EXPORTED_SETTINGS = {"C", "max_iter", "tol", "normalization", "subset", "seed", "chunk_iterations"}


def export_steps(run: Run) -> list[CodeStep]:
    """The steps of a scikit-learn program that refits ``run`` (see `mnist_lab.engines.code`).

    Raises
    ------
    ValueError
        If the run uses a setting this exporter cannot write, or has not fitted its
        normalization yet.
    """
    settings, normalizer = exportable(run, LogregSettings, EXPORTED_SETTINGS)
    constants = {"C": settings.C, "TOL": settings.tol, "MAX_ITER": settings.max_iter}
    return [
        CodeStep(
            "scikit-learn fits the model; NumPy holds the digits.",
            "import os\nimport urllib.request\n\nimport numpy as np\n"
            "from sklearn.linear_model import LogisticRegression",
        ),
        constants_step(run, settings, constants),
        *data_steps(settings, normalizer, for_keras=False),
        CodeStep(
            "Fit multinomial logistic regression with L-BFGS: one weight per pixel and digit, "
            "plus a bias per digit. MNIST Lab ran the same fit in chunks of "
            f"{settings.chunk_iterations} iterations to report progress on the way; it "
            "converges to the same optimum.",
            "model = LogisticRegression(C=C, tol=TOL, max_iter=MAX_ITER)\n"
            "model.fit(x_train, y_train)\n"
            'print(f"L-BFGS iterations: {model.n_iter_.max()}")',
        ),
        CodeStep(
            "Evaluate on the 10,000 test digits.",
            "test_accuracy = model.score(x_test, y_test)\n" + print_accuracy_code("test_accuracy"),
        ),
    ]
