"""Hints read from a run's records: overfitting, validation above training, chance level."""

from mnist_lab import records
from mnist_lab.hints import hint_text, run_hints


def epochs(losses, val_losses, accuracies=None, val_accuracies=None):
    """Epoch records with the given curves (accuracies 0.9 unless given)."""
    n = len(losses)
    accuracies = accuracies or [0.9] * n
    val_accuracies = val_accuracies or [0.9] * n
    return [
        records.epoch_record(
            epoch=number,
            step=number * 10,
            loss=loss,
            accuracy=accuracy,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            lr=0.1,
            samples_per_s=100,
            elapsed_s=number,
        )
        for number, (loss, val_loss, accuracy, val_accuracy) in enumerate(
            zip(losses, val_losses, accuracies, val_accuracies, strict=True), start=1
        )
    ]


def batches(losses):
    return [
        records.batch_record(
            epoch=1, step=step, window_steps=10, loss=loss, accuracy=0.1, lr=0.1, samples_per_s=1
        )
        for step, loss in enumerate(losses, start=1)
    ]


def kinds(metrics, config=None):
    return [hint.kind for hint in run_hints(metrics, config or {"normalization": "scale"})]


def test_a_healthy_run_gets_no_hint():
    assert kinds(epochs([0.5, 0.3, 0.2, 0.15, 0.1], [0.5, 0.35, 0.3, 0.28, 0.27])) == []


def test_validation_loss_rising_while_training_loss_falls_is_overfitting():
    metrics = epochs([0.5, 0.2, 0.1, 0.05, 0.02, 0.01], [0.40, 0.30, 0.32, 0.36, 0.42, 0.50])
    (hint,) = run_hints(metrics, {})
    assert hint.kind == "overfitting" and hint.warning
    assert "risen for 4 epochs, from 0.300 at epoch 2 to 0.500" in hint.text
    assert "early stopping" in hint.text


def test_two_epochs_of_rising_validation_loss_are_not_yet_overfitting():
    assert kinds(epochs([0.5, 0.2, 0.1, 0.05], [0.40, 0.30, 0.32, 0.36])) == []


def test_validation_above_training_is_explained_not_warned_about():
    metrics = epochs([0.5, 0.3], [0.4, 0.25], [0.85, 0.90], [0.90, 0.93])
    (hint,) = run_hints(metrics, {})
    assert hint.kind == "validation-above-training" and not hint.warning
    assert "93.0%" in hint.text and "90.0%" in hint.text and "dropout" in hint.text


def test_a_cut_short_epoch_is_left_out():
    metrics = epochs([0.5, 0.3], [0.4, 0.25], [0.85, 0.80], [0.80, 0.95])
    metrics[-1]["fraction"] = 0.1
    assert kinds(metrics) == []


def test_chance_level_on_raw_pixels_says_normalize():
    metrics = epochs([2.31, 2.30], [2.31, 2.30], [0.11, 0.11], [0.10, 0.11])
    (hint,) = run_hints(metrics, {"normalization": "raw"})
    assert hint.kind == "chance-level" and "normalize them" in hint.text
    assert "accuracy 11.0%" in hint.text


def test_chance_level_with_a_slowly_falling_loss_says_the_rate_is_too_small():
    metrics = batches([2.36, 2.35, 2.34, 2.33, 2.32]) + epochs([2.33], [2.32], [0.12], [0.12])
    text = hint_text(run_hints(metrics, {"normalization": "scale"}))
    assert "too small" in text and "deep sigmoid" not in text and "sigmoid" not in text


def test_chance_level_with_noisy_windows_but_falling_epochs_says_too_small():
    windows = batches([2.344, 2.365, 2.408, 2.328, 2.366, 2.399, 2.376, 2.386, 2.336])
    metrics = windows + epochs([2.3697, 2.3619, 2.3541], [2.366, 2.358, 2.350], [0.12] * 3)
    text = hint_text(run_hints(metrics, {"normalization": "scale"}))
    assert "falls, but slowly (2.370 to 2.354)" in text and "too small" in text


def test_chance_level_with_a_jumping_loss_says_the_rate_is_too_large():
    metrics = batches([2.31, 2.6, 2.2, 2.5, 2.35]) + epochs([2.4], [2.4], [0.1], [0.1])
    assert "too large" in hint_text(run_hints(metrics, {"normalization": "scale"}))


def test_chance_level_with_vanishing_gradients_names_them():
    layers = [("dense_1", 1e-6), ("dense_2", 1e-4), ("output", 1e-2)]
    gradients = [
        records.gradients_record(
            epoch=1,
            step=step,
            layers=[records.layer_gradient(name, rms, 1, 0.5) for name, rms in layers],
        )
        for step in range(1, 6)
    ]
    metrics = gradients + batches([2.31, 2.30, 2.31]) + epochs([2.30], [2.30], [0.11], [0.11])
    text = hint_text(run_hints(metrics, {"normalization": "standardize"}))
    assert "10,000x less gradient" in text and "vanish" in text


def test_a_baseline_run_gets_hints_from_its_chunks():
    chunk = records.chunk_record(
        chunk=1, iterations=25, loss=2.3, accuracy=0.1, samples_per_s=1, elapsed_s=1
    )
    (hint,) = run_hints([chunk], {"normalization": "scale"})
    assert hint.kind == "chance-level" and "after 25 iterations" in hint.text


def test_no_records_no_hints():
    assert run_hints([], {}) == [] and hint_text([]) == ""
    assert kinds(batches([2.3, 2.3])) == [], "batches alone make no epoch to judge"
