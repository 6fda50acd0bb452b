"""Lessons: each one's small settings show its effect, and the explanations read the numbers."""

import dataclasses

import numpy as np
import pytest

from mnist_lab import records
from mnist_lab.engines import ENGINES, get_engine, network_parameters
from mnist_lab.evaluation import write_evaluation
from mnist_lab.execution.worker import run_worker
from mnist_lab.hints import run_hints
from mnist_lab.lessons.catalogue import LESSONS, get_lesson
from mnist_lab.lessons.results import RunResult
from mnist_lab.lessons.runner import (
    create_lesson_runs,
    explain,
    lesson_results,
    lesson_runs,
    lesson_state,
)
from mnist_lab.runs import RunStore


def run_lesson(store: RunStore, lesson_id: str) -> dict[str, RunResult]:
    """Train every run of a lesson in this process (TensorFlow imported once) and read them."""
    lesson = get_lesson(lesson_id)
    for run in create_lesson_runs(store, lesson):
        run_worker(run.path)
    runs = lesson_runs(store, lesson)
    assert lesson_state(runs, lesson) == "done"
    return lesson_results(lesson, runs)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return RunStore(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def model_runs(store):
    """The models lesson's three runs, trained once: lessons 6 and 7 measure the same models."""
    lesson = get_lesson("models")
    for run in create_lesson_runs(store, lesson):
        run_worker(run.path)
    return lesson_runs(store, lesson)


def measured_on_model_runs(lesson_id: str, model_runs) -> dict[str, RunResult]:
    """``lesson_id``'s results measured on the models lesson's runs of the same settings."""
    lesson = get_lesson(lesson_id)
    configs = {run.step: run.config for run in get_lesson("models").runs}
    assert all(run.config == configs[run.step] for run in lesson.runs), "not the same models"
    return lesson_results(lesson, {run.step: model_runs[run.step] for run in lesson.runs})


@pytest.mark.slow
def test_raw_pixels_fail_where_standardized_pixels_learn(store):
    results = run_lesson(store, "stuck-at-10")
    raw, std = results["raw"], results["standardized"]
    assert raw.diverged or raw.test_accuracy < 0.2
    assert std.test_accuracy > 0.85
    assert explain(get_lesson("stuck-at-10"), results).as_expected


@pytest.mark.slow
def test_learning_rates_too_small_right_and_too_large(store):
    results = run_lesson(store, "learning-rate")
    assert results["small"].test_accuracy < 0.3
    assert results["good"].test_accuracy > 0.8
    assert results["large"].diverged or results["large"].test_accuracy < 0.3
    explanation = explain(get_lesson("learning-rate"), results)
    assert explanation.as_expected
    small = lesson_runs(store, get_lesson("learning-rate"))["small"]
    hints = " ".join(hint.text for hint in run_hints(small.metrics(), small.config()))
    assert "sigmoid" not in hints and "too large" not in hints
    # The verdict quotes the very losses the run's records hold, as the hint reads them.
    trend = records.loss_trend(small.metrics())
    assert f"went from {trend[0]:.2f} to {trend[-1]:.2f}" in explanation.text
    assert f"({trend[0]:.3f} to {trend[-1]:.3f})" in hints


@pytest.mark.slow
def test_deep_sigmoid_stays_far_below_deep_relu_with_vanishing_gradients(store):
    results = run_lesson(store, "deep-sigmoid")
    sigmoid, relu = results["sigmoid"], results["relu"]
    assert sigmoid.test_accuracy < 0.2
    assert relu.test_accuracy > sigmoid.test_accuracy + 0.3
    assert sigmoid.gradient_ratio > relu.gradient_ratio
    assert explain(get_lesson("deep-sigmoid"), results).as_expected


@pytest.mark.slow
def test_small_set_overfits_and_dropout_or_more_data_narrow_the_gap(store):
    results = run_lesson(store, "overfitting")
    assert results["small"].gap > 0.1
    assert results["dropout"].gap < results["small"].gap
    assert results["more"].gap < results["small"].gap
    assert explain(get_lesson("overfitting"), results).as_expected
    small = lesson_runs(store, get_lesson("overfitting"))["small"]
    assert "overfitting" in [hint.kind for hint in run_hints(small.metrics(), small.config())]


@pytest.mark.slow
def test_adversarial_digits_fool_every_model_with_small_changes(model_runs):
    results = measured_on_model_runs("adversarial", model_runs)
    for step, result in results.items():
        study = result.measured
        assert study["digits"] == 20 and study["success"] >= 0.9, step
        assert study["median_epsilon"] <= 64, step
        assert set(study["fooled"]) == set(results) - {step}
    assert explain(get_lesson("adversarial"), results).as_expected


@pytest.mark.slow
def test_shifts_cost_the_mlp_far_more_accuracy_than_the_cnn(model_runs):
    results = measured_on_model_runs("robustness", model_runs)
    mlp, cnn = results["mlp"].measured["shift"], results["cnn"].measured["shift"]
    assert cnn[2.0] / cnn[0.0] > mlp[2.0] / mlp[0.0] + 0.1
    assert cnn[3.0] > mlp[3.0] + 0.1
    assert explain(get_lesson("robustness"), results).as_expected


@pytest.mark.slow
def test_cnn_beats_mlp_beats_logistic_regression(model_runs):
    results = lesson_results(get_lesson("models"), model_runs)
    accuracy = {step: result.test_accuracy for step, result in results.items()}
    assert accuracy["cnn"] > accuracy["mlp"] > accuracy["logreg"]
    assert explain(get_lesson("models"), results).as_expected


def test_every_lesson_has_valid_named_runs():
    for lesson in LESSONS.values():
        assert lesson.title and lesson.question and lesson.expect
        assert len(set(lesson.steps)) == len(lesson.runs) >= 2
        for lesson_run in lesson.runs:
            assert lesson_run.config["engine"] in ENGINES
            assert lesson_run.name.startswith("Lesson ")
            assert lesson_run.config.get("subset", 60_000) <= 3000


def test_unknown_lesson_names_the_known_ones():
    with pytest.raises(ValueError, match="stuck-at-10"):
        get_lesson("nope")


def test_lesson_runs_are_tagged_found_and_newest_first(tmp_path):
    store = RunStore(tmp_path)
    lesson = get_lesson("deep-sigmoid")
    assert lesson_state(lesson_runs(store, lesson), lesson) == "new"
    first = create_lesson_runs(store, lesson)
    store.create({"engine": "numpy"})
    runs = lesson_runs(store, lesson)
    assert list(runs) == ["sigmoid", "relu"] and set(runs.values()) == set(first)
    assert [run.name for run in runs.values()] == [r.name for r in lesson.runs]
    assert lesson_state(runs, lesson) == "running"
    for run in first:
        run.update_status(state="finished")
    assert lesson_state(lesson_runs(store, lesson), lesson) == "done"
    with pytest.raises(ValueError, match="no run yet"):
        explain(lesson, {"sigmoid": first[0]})


GOOD = RunResult(
    "finished",
    test_accuracy=0.9,
    train_accuracy=0.95,
    val_accuracy=0.9,
    train_loss=0.3,
    val_loss=0.35,
    loss_trend=(2.3, 0.5, 0.3),
    epochs=3,
    peak_loss=2.4,
)


def result(**changes) -> RunResult:
    return dataclasses.replace(GOOD, **changes)


def test_normalization_explanation_follows_the_numbers():
    lesson = get_lesson("stuck-at-10")
    diverged = explain(
        lesson,
        {
            "raw": result(state="diverged", test_accuracy=None, peak_loss=1380.8),
            "standardized": GOOD,
        },
    )
    assert diverged.as_expected
    assert "1,381" in diverged.text and "90.0%" in diverged.text
    stuck = explain(
        lesson, {"raw": result(test_accuracy=0.098, train_loss=2.31), "standardized": GOOD}
    )
    assert stuck.as_expected and "stuck at 9.8%" in stuck.verdict
    learned = explain(lesson, {"raw": result(test_accuracy=0.74), "standardized": GOOD})
    assert not learned.as_expected and "74.0%" in learned.verdict


def test_learning_rate_explanation_follows_the_numbers():
    lesson = get_lesson("learning-rate")
    slow = result(test_accuracy=0.12, train_loss=2.28, loss_trend=(2.36, 2.31, 2.28), epochs=3)
    nan = result(state="diverged", peak_loss=float("inf"), test_accuracy=None)
    explanation = explain(lesson, {"small": slow, "good": GOOD, "large": nan})
    assert explanation.as_expected
    assert "epoch 3 the training loss went from 2.36 to 2.28 (3.4% lower)" in explanation.text
    assert "NaN" in explanation.text
    assert not explain(lesson, {"small": GOOD, "good": GOOD, "large": nan}).as_expected
    rose = result(test_accuracy=0.1, train_loss=2.35, loss_trend=(2.34, 2.35), epochs=1)
    text = explain(lesson, {"small": rose, "good": GOOD, "large": nan}).text
    assert "last third of its one epoch the training loss went from 2.34 to 2.35" in text
    assert "(0.4% higher)" in text and "-0%" not in text


def test_the_learning_rate_verdict_and_the_hint_read_the_same_losses(tmp_path):
    """The case a student met: a first window at 2.34, then epochs 2.3697, 2.3619, 2.3541."""
    run = RunStore(tmp_path).create({"engine": "keras", "learning_rate": 0.0001})
    window = dict(window_steps=10, accuracy=0.1, lr=1e-4, samples_per_s=1.0)
    run.append_metrics(records.batch_record(epoch=1, step=10, loss=2.34, **window))
    for epoch, loss in enumerate((2.3697, 2.3619, 2.3541), start=1):
        run.append_metrics(
            records.epoch_record(
                epoch=epoch,
                step=94 * epoch,
                fraction=1.0,
                loss=loss,
                accuracy=0.1,
                val_loss=None,
                val_accuracy=None,
                lr=1e-4,
                samples_per_s=1,
                elapsed_s=epoch,
            )
        )
    run.update_status(state="running")
    run.update_status(state="finished")
    small = dataclasses.replace(RunResult.from_run(run), test_accuracy=0.11)
    nan = result(state="diverged", peak_loss=float("inf"), test_accuracy=None)
    text = explain(get_lesson("learning-rate"), {"small": small, "good": GOOD, "large": nan}).text
    hints = " ".join(hint.text for hint in run_hints(run.metrics(), run.config()))
    assert "from 2.37 to 2.35 (0.7% lower)" in text
    assert "The loss falls, but slowly (2.370 to 2.354)" in hints


def test_a_run_that_diverged_inside_its_first_epoch_has_no_training_accuracy(tmp_path):
    run = RunStore(tmp_path).create({"engine": "keras"})
    run.append_metrics(
        records.epoch_record(
            epoch=1,
            step=8,
            fraction=8 / 94,
            loss=3779.0,
            accuracy=0.16,
            val_loss=None,
            val_accuracy=None,
            lr=0.01,
            samples_per_s=1,
            elapsed_s=1,
        )
    )
    run.update_status(state="diverged")
    diverged = RunResult.from_run(run)
    assert diverged.diverged and diverged.train_accuracy is None and diverged.epochs == 0


def test_depth_explanation_quotes_accuracies_and_gradient_ratios():
    lesson = get_lesson("deep-sigmoid")
    sigmoid = result(test_accuracy=0.096, gradient_ratio=850.0, gradient_reading="Vanishing.")
    relu = result(test_accuracy=0.65, gradient_ratio=3.0, gradient_reading="Flows well.")
    explanation = explain(lesson, {"sigmoid": sigmoid, "relu": relu})
    assert explanation.as_expected and "+55 points" in explanation.verdict
    assert "850.0x" in explanation.text and "Vanishing." in explanation.text
    close = explain(lesson, {"sigmoid": result(test_accuracy=0.6), "relu": relu})
    assert not close.as_expected and "+5 points" in close.verdict


def test_overfitting_explanation_reads_the_gaps_and_the_validation_loss():
    lesson = get_lesson("overfitting")
    small = result(
        train_accuracy=1.0, val_accuracy=0.84, val_loss=0.64, best_val_loss=0.4, best_val_epoch=4
    )
    dropout = result(train_accuracy=0.9, val_accuracy=0.82)
    more = result(train_accuracy=1.0, val_accuracy=0.93)
    explanation = explain(lesson, {"small": small, "dropout": dropout, "more": more})
    assert explanation.as_expected
    assert "small 16.0 points" in explanation.verdict
    assert "lowest at epoch 4 (0.40) and rose to 0.64" in explanation.text
    assert "-2.0 points" in explanation.text and "training got harder" in explanation.text
    no_gap = dataclasses.replace(small, train_accuracy=0.86)
    assert not explain(lesson, {"small": no_gap, "dropout": dropout, "more": more}).as_expected


def test_model_comparison_explanation_ranks_and_counts_mistakes():
    lesson = get_lesson("models")
    runs = {
        "logreg": result(test_accuracy=0.89),
        "mlp": result(test_accuracy=0.91),
        "cnn": result(test_accuracy=0.93),
    }
    explanation = explain(lesson, runs)
    assert explanation.as_expected and explanation.verdict.startswith(
        "Ranking on the test set: CNN"
    )
    assert "700 mistakes" in explanation.text and "200 fewer mistakes" in explanation.text
    runs["logreg"] = result(test_accuracy=0.95)
    upset = explain(lesson, runs)
    assert not upset.as_expected and upset.verdict.startswith("Ranking on the test set: Logistic")


def attack_study(step: str, median: float, fooled: float = 0.05) -> dict:
    others = {"logreg", "mlp", "cnn"} - {step}
    return {
        "digits": 20,
        "success": 1.0,
        "median_epsilon": median,
        "fooled": dict.fromkeys(sorted(others), fooled),
    }


def test_adversarial_explanation_reads_the_attacks():
    lesson = get_lesson("adversarial")
    runs = {
        "logreg": result(measured=attack_study("logreg", 30)),
        "mlp": result(measured=attack_study("mlp", 28)),
        "cnn": result(measured=attack_study("cnn", 55, fooled=0.0)),
    }
    explanation = explain(lesson, runs)
    assert explanation.as_expected and "the CNN needs the largest change" in explanation.verdict
    assert "±55 (the CNN)" in explanation.verdict and "5% also fool" in explanation.text
    runs["cnn"] = result(measured=attack_study("cnn", 120))
    assert not explain(lesson, runs).as_expected, "a change of ±120 is not small"
    runs["cnn"] = result()
    unmeasured = explain(lesson, runs)
    assert not unmeasured.as_expected and "could not be measured" in unmeasured.verdict


def robustness_curves(clean: float, shifted: list[float]) -> dict:
    return {
        "shift": dict(zip([0.0, 1.0, 2.0, 3.0, 4.0], [clean, *shifted], strict=True)),
        "rotation": {0.0: clean, 30.0: clean - 0.3},
    }


def test_robustness_explanation_compares_the_shift_curves():
    lesson = get_lesson("robustness")
    mlp = result(measured=robustness_curves(0.9, [0.83, 0.59, 0.34, 0.21]))
    cnn = result(measured=robustness_curves(0.97, [0.96, 0.92, 0.75, 0.49]))
    explanation = explain(lesson, {"mlp": mlp, "cnn": cnn})
    assert explanation.as_expected
    assert "the CNN keeps 95% of its accuracy (92.0%), the MLP 66% (59.0%)" in explanation.verdict
    assert not explain(lesson, {"mlp": cnn, "cnn": mlp}).as_expected


@pytest.mark.slow
def test_the_cnn_beats_knn_and_logistic_regression_at_a_cost(store):
    results = run_lesson(store, "deep-learning")
    mistakes = {step: result.mistakes for step, result in results.items()}
    assert mistakes["cnn"] < mistakes["knn"] < mistakes["logreg"]
    assert results["cnn"].measured["parameters"] > 10_000
    assert explain(get_lesson("deep-learning"), results).as_expected


def finish_with_costs(run, accuracy: float, seconds: int, predict_s: float) -> None:
    """A finished run: an evaluation of exactly ``accuracy``, its times, a model file."""
    labels = np.arange(10_000) % 10
    wrong = np.arange(10_000) < round((1 - accuracy) * 10_000)
    probabilities = np.eye(10)[np.where(wrong, (labels + 1) % 10, labels)]
    write_evaluation(run, labels, probabilities, predict_seconds=predict_s)
    run.file(get_engine(run.config()["engine"]).model_files[0]).write_bytes(b"0" * 50_000)
    run.update_status(state="running", started="2026-01-01T10:00:00+00:00")
    run.update_status(state="finished", ended=f"2026-01-01T10:00:{seconds:02d}+00:00")


def test_deep_learning_verdict_is_read_from_the_runs_records(tmp_path):
    lesson = get_lesson("deep-learning")
    store = RunStore(tmp_path)
    runs = dict(zip(lesson.steps, create_lesson_runs(store, lesson), strict=True))
    finish_with_costs(runs["knn"], 0.93, seconds=3, predict_s=1.0)
    finish_with_costs(runs["logreg"], 0.88, seconds=5, predict_s=0.1)
    finish_with_costs(runs["cnn"], 0.965, seconds=42, predict_s=2.0)
    explanation = explain(lesson, lesson_runs(store, lesson))
    assert explanation.as_expected
    parameters = network_parameters(runs["cnn"].config())
    assert explanation.verdict == (
        "The CNN makes 350 fewer mistakes than k-NN (50% fewer), for 40.0 s of training "
        f"against 2.0 s and {parameters:,} parameters to learn."
    )
    assert explanation.details[0] == (
        "k-NN: 700 mistakes on 10,000 test digits (93.0%), trained in "
        "2.0 s, a model of 50 kB, predicting 1,000 digits in 0.10 s."
    )
    # The same records with a CNN that learned less: the verdict says so.
    finish_with_costs(store.create(runs["cnn"].config()), 0.5, seconds=42, predict_s=2.0)
    newer = store.list()[0]
    explanation = explain(lesson, {**lesson_runs(store, lesson), "cnn": newer})
    assert not explanation.as_expected
    assert explanation.verdict.startswith("On these digits the CNN does not beat k-NN: 5000")
