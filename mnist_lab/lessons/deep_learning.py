"""The lesson "Do we need deep learning?": three rows of the MNIST table on the same digits.

k-nearest neighbours, logistic regression and LeNet-5 train on the same small subset with
the recipes of `mnist_lab.mnist_table`; the verdict weighs how many fewer mistakes the CNN
makes against what it costs in training time and parameters, all read from the runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from mnist_lab.lessons.results import Explanation, RunResult
from mnist_lab.mnist_table import format_bytes, format_seconds, reproduction_of
from mnist_lab.runs import Run

# Step -> the table row it trains, in the order the lesson shows them.
STEPS = {"knn": "knn-l2", "logreg": "linear", "cnn": "lenet-5"}
LABELS = {"knn": "k-NN", "logreg": "Logistic regression", "cnn": "LeNet-5 (CNN)"}
# The same models inside a sentence.
NOUNS = {"knn": "k-NN", "logreg": "logistic regression", "cnn": "the CNN"}


def measure_costs(runs: Mapping[str, Run]) -> dict[str, dict]:
    """Each run's costs as the MNIST table reads them from its files.

    Returns
    -------
    dict
        Step -> ``training_s``, ``predict_s_per_1000``, ``model_bytes``, ``parameters``
        (each None where unknown); a run that did not finish is left out.
    """
    measured = {}
    for step, run in runs.items():
        figures = reproduction_of(run)
        if figures is not None:
            measured[step] = {
                "training_s": figures.training_s,
                "predict_s_per_1000": figures.predict_s_per_1000,
                "model_bytes": figures.model_bytes,
                "parameters": figures.parameters,
            }
    return measured


def explain_deep_learning(results: dict[str, RunResult]) -> Explanation:
    """Lesson "deep-learning": the CNN makes the fewest mistakes; at what cost, in numbers.

    Steps ``knn``, ``logreg`` and ``cnn``; each result's ``measured`` is `measure_costs`'s.
    """
    mistakes = {step: results[step].mistakes for step in STEPS}
    if any(count is None for count in mistakes.values()):
        return Explanation(False, "Not every run has a test result to compare.", ())
    lines = [_run_line(step, results[step]) for step in STEPS]
    classic = min(("knn", "logreg"), key=mistakes.get)
    cnn, best = mistakes["cnn"], mistakes[classic]
    ok = cnn < best
    costs = {step: results[step].measured for step in STEPS}
    cost = (
        f"for {format_seconds(costs['cnn'].get('training_s'))} of training against "
        f"{format_seconds(costs[classic].get('training_s'))}"
    )
    parameters = costs["cnn"].get("parameters")
    if parameters:
        cost += f" and {parameters:,} parameters to learn"
    if ok:
        verdict = (
            f"The CNN makes {best - cnn} fewer mistakes than {NOUNS[classic]} "
            f"({1 - cnn / best:.0%} fewer), {cost}."
        )
        lines.append(
            "k-NN learns nothing: it keeps every training digit "
            f"({format_bytes(costs['knn'].get('model_bytes'))} here) and compares each new "
            "digit with all of them, so it grows and slows with the data; logistic regression "
            "weighs each pixel once. The CNN learns small filters that find a stroke anywhere "
            "in the digit, which is what the classic methods cannot do, at the price of "
            "training. On all 60,000 digits the gap stays: see the MNIST table page."
        )
    else:
        verdict = (
            f"On these digits the CNN does not beat {NOUNS[classic]}: {cnn} mistakes "
            f"against {best}, {cost}."
        )
    return Explanation(ok, verdict, tuple(lines))


def _run_line(step: str, result: RunResult) -> str:
    """One run's mistakes and costs, in a sentence."""
    measured = result.measured
    parameters = measured.get("parameters")
    size = format_bytes(measured.get("model_bytes"))
    model = f"{parameters:,} parameters ({size})" if parameters else f"a model of {size}"
    return (
        f"{LABELS[step]}: {result.mistakes} mistakes on "
        f"{result.n_test:,} test digits ({result.test_accuracy:.1%}), trained in "
        f"{format_seconds(measured.get('training_s'))}, {model}, predicting 1,000 digits in "
        f"{format_seconds(measured.get('predict_s_per_1000'))}."
    )
