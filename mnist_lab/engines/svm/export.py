"""A kernel SVM run as a scikit-learn program: ``PCA`` then ``SVC`` on the normalized pixels."""

from __future__ import annotations

from mnist_lab.engines.code import (
    CodeStep,
    constants_step,
    data_steps,
    exportable,
    print_accuracy_code,
)
from mnist_lab.engines.svm.model import PAIR_SCALE
from mnist_lab.engines.svm.settings import SvmSettings
from mnist_lab.runs import Run

EXPORTED_SETTINGS = {"C", "gamma", "pca_dims", "max_iter", "normalization", "subset", "seed"}


def export_steps(run: Run) -> list[CodeStep]:
    """The steps of a scikit-learn program that refits ``run`` (see `mnist_lab.engines.code`).

    Raises
    ------
    ValueError
        If the run uses a setting this exporter cannot write, or has not fitted its
        normalization yet.
    """
    settings, normalizer = exportable(run, SvmSettings, EXPORTED_SETTINGS)
    constants = {
        "C": settings.C,
        "GAMMA": settings.gamma,
        "MAX_ITER": settings.max_iter,
        "PAIR_SCALE": PAIR_SCALE,
    }
    if settings.pca_dims is not None:
        constants["PCA_DIMS"] = settings.pca_dims
    steps = [
        CodeStep(
            "scikit-learn fits the model; NumPy holds the digits.",
            "import os\nimport urllib.request\n\nimport numpy as np\n"
            + ("from sklearn.decomposition import PCA\n" if settings.pca_dims else "")
            + "from sklearn.svm import SVC",
        ),
        constants_step(run, settings, constants),
        *data_steps(settings, normalizer, for_keras=False),
    ]
    if settings.pca_dims is not None:
        steps.append(
            CodeStep(
                "Project the digits on their first PCA_DIMS principal components, fitted on "
                "the training digits: every kernel value then costs PCA_DIMS multiplications "
                "instead of 784.",
                "pca = PCA(n_components=PCA_DIMS, random_state=SEED).fit(x_train)\n"
                "x_train, x_test = pca.transform(x_train), pca.transform(x_test)",
            )
        )
    steps += [
        CodeStep(
            "Fit the Gaussian-kernel SVM: libsvm fits one binary SVM per pair of digits "
            "(45 of them). MNIST Lab fitted the same pairs one at a time to report progress "
            "after each; they are the same machines.",
            "model = SVC(\n"
            "    C=C,\n"
            "    gamma=GAMMA,\n"
            "    max_iter=MAX_ITER,\n"
            "    cache_size=500,\n"
            '    decision_function_shape="ovo",\n'
            ")\n"
            "model.fit(x_train, y_train)\n"
            'print(f"support vectors: {model.n_support_.sum()}")',
        ),
        CodeStep(
            "Read each digit as MNIST Lab does: a smooth vote. A class's score is the sum, "
            "over its pairs, of log sigmoid(PAIR_SCALE * the pair's decision for it), the log "
            "chance that it beats every rival; the highest score wins (almost always the "
            "class with most votes).",
            _SMOOTH_VOTE,
        ),
        CodeStep(
            "Evaluate on the 10,000 test digits.",
            "test_accuracy = np.mean(smooth_vote(model, x_test).argmax(axis=1) == y_test)\n"
            + print_accuracy_code("test_accuracy"),
        ),
    ]
    return steps


_SMOOTH_VOTE = '''\
def smooth_vote(model, x):
    """Each class's log chance of beating every rival, from the pairs' decisions."""
    decisions = PAIR_SCALE * model.decision_function(x)
    scores = np.zeros((len(x), len(model.classes_)))
    pair = 0
    for i in range(len(model.classes_)):
        for j in range(i + 1, len(model.classes_)):
            # A pair's decision is positive for its first class.
            scores[:, i] -= np.logaddexp(0.0, -decisions[:, pair])
            scores[:, j] -= np.logaddexp(0.0, decisions[:, pair])
            pair += 1
    return scores'''
