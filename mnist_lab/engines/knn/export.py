"""A k-nearest-neighbours run as a scikit-learn program: PCA, then ``KNeighborsClassifier``."""

from __future__ import annotations

from mnist_lab.engines.code import (
    CodeStep,
    constants_step,
    data_steps,
    exportable,
    print_accuracy_code,
)
from mnist_lab.engines.knn.settings import DISTANCES, KnnSettings
from mnist_lab.runs import Run

EXPORTED_SETTINGS = {"k", "distance", "weights", "pca", "normalization", "subset", "seed"}


def export_steps(run: Run) -> list[CodeStep]:
    """The steps of a scikit-learn program that repeats ``run`` (see `mnist_lab.engines.code`).

    Raises
    ------
    ValueError
        If the run uses a setting this exporter cannot write, or has not fitted its
        normalization yet.
    """
    settings, normalizer = exportable(run, KnnSettings, EXPORTED_SETTINGS)
    constants = {"K": settings.k, "P": DISTANCES[settings.distance], "WEIGHTS": settings.weights}
    imports = "import os\nimport urllib.request\n\nimport numpy as np\n"
    if settings.pca:
        constants["PCA_DIMS"] = settings.pca
        imports += "from sklearn.decomposition import PCA\n"
    steps = [
        CodeStep(
            "scikit-learn finds the neighbours; NumPy holds the digits.",
            imports + "from sklearn.neighbors import KNeighborsClassifier",
        ),
        constants_step(run, settings, constants),
        *data_steps(settings, normalizer, for_keras=False),
    ]
    if settings.pca:
        steps.append(
            CodeStep(
                "Project the digits on the PCA_DIMS directions along which the training digits "
                "vary most (fitted on the training digits only): less noise, faster distances.",
                'pca = PCA(n_components=PCA_DIMS, svd_solver="full").fit(x_train)\n'
                "x_train, x_test = pca.transform(x_train), pca.transform(x_test)",
            )
        )
    return [
        *steps,
        CodeStep(
            f"'Training' stores the digits. A test digit gets the class most of its K nearest "
            f"training digits have, by the Minkowski distance of power P ({settings.distance}), "
            f"each vote weighted {settings.weights}ly. Brute force compares it with every "
            "stored digit, exactly as MNIST Lab did.",
            'model = KNeighborsClassifier(n_neighbors=K, weights=WEIGHTS, p=P, algorithm="brute")\n'
            "model.fit(x_train, y_train)",
        ),
        CodeStep(
            "Predict the 10,000 test digits (the slow part) and evaluate.",
            "test_accuracy = model.score(x_test, y_test)\n" + print_accuracy_code("test_accuracy"),
        ),
    ]
