"""The training reporter, driven by hand-built calls on a fake run and a fake clock: no training."""

import subprocess
import sys
from types import SimpleNamespace

import pytest

from mnist_lab.reporter import TrainingReporter, learning_rate_remedy


class FakeRun:
    """All a reporter asks of a run: a status to merge into, records to append, a stop flag."""

    def __init__(self):
        self.status, self.records, self.stop, self.writes = {}, [], False, 0

    def update_status(self, **fields):
        self.status.update(fields)
        self.writes += 1

    def append_metrics(self, record):
        self.records.append(record)

    def stop_requested(self):
        return self.stop


@pytest.fixture
def clock(monkeypatch):
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr("mnist_lab.reporter.time.time", lambda: clock.now)
    return clock


@pytest.fixture
def run():
    return FakeRun()


def epochs(run, epochs=2, steps=10, batch_size=10, **settings):
    """A reporter of a loop in epochs, begun and in its first epoch."""
    reporter = TrainingReporter(run, learning_rate_remedy(False), batch_size, **settings)
    reporter.begin(epochs, steps)
    reporter.begin_epoch(1)
    return reporter


def test_begin_says_training_has_started_and_what_is_planned(run, clock):
    epochs(run, epochs=3, steps=7)
    assert run.status == {
        "message": "Training: the first batch is under way (the first takes longest)…",
        "stage": "first_step",
        "epoch": 0,
        "epochs": 3,
        "steps_per_epoch": 7,
        "progress": 0.0,
    }


def test_the_first_progress_ends_the_stages_and_a_stage_is_said(run, clock):
    reporter = TrainingReporter(run, learning_rate_remedy(False), 10)
    reporter.stage("model")
    assert run.status == {"message": "Building and compiling the model…", "stage": "model"}
    reporter.begin(2, 10)
    reporter.begin_epoch(1)
    assert run.status["stage"] == "first_step"
    clock.now = 1.0
    reporter.batch_end(1, loss=2.0, accuracy=0.1, lr=0.01)
    assert run.status["stage"] == "" and run.status["message"].startswith("Epoch 1/2, step 1/10")


def test_a_batch_report_writes_its_window_record_and_the_progress(run, clock):
    reporter = epochs(run)
    clock.now = 0.5
    assert not reporter.batch_end(5, 1.5, 0.5, lr=0.01)
    (record,) = run.records
    assert record == {
        "kind": "batch",
        "epoch": 1,
        "step": 5,
        "window_steps": 5,
        "loss": 1.5,
        "accuracy": 0.5,
        "lr": 0.01,
        "samples_per_s": 100.0,
        "time": 0.5,
    }
    status = run.status
    shape = {key: status[key] for key in ("epoch", "epochs", "step", "steps_per_epoch")}
    assert shape == {"epoch": 1, "epochs": 2, "step": 5, "steps_per_epoch": 10}
    assert status["progress"] == 0.25 and status["eta_s"] == pytest.approx(1.5)
    assert status["samples_per_s"] == 100.0 and status["position"] == "epoch 1/2"
    assert status["message"] == (
        "Epoch 1/2, step 5/10: loss 1.5000, accuracy 50.0%; 100 samples/s, about 2s left"
    )


def test_batch_records_hold_each_window_mean_from_two_running_means(run, clock):
    reporter = epochs(run)
    # Running means: steps 1-4 average loss 2.0, steps 5-8 average 1.0, so 1.5 overall.
    reporter.batch_end(4, 2.0, 0.25, lr=0.1)
    reporter.batch_end(8, 1.5, 0.5, lr=0.1)
    first, second = run.records
    assert (first["loss"], first["accuracy"], first["window_steps"]) == (2.0, 0.25, 4)
    assert second["loss"] == pytest.approx(1.0) and second["accuracy"] == pytest.approx(0.75)
    assert second["window_steps"] == 4


def test_a_step_past_the_end_of_an_epoch_counts_as_its_end(run, clock):
    reporter = epochs(run)
    reporter.batch_end(13, 1.0, 0.5, lr=0.1)
    assert run.records[-1]["step"] == 10 and run.status["progress"] == 0.5


def test_status_is_written_at_most_every_interval_but_always_at_an_epoch_end(run, clock):
    reporter = epochs(run, status_every_s=60)
    reporter.batch_end(1, 2.0, 0.1, lr=0.1)
    clock.now = 1.0
    reporter.batch_end(2, 1.9, 0.2, lr=0.1)
    assert run.status["step"] == 1 and len(run.records) == 2
    reporter.end_epoch(1.9, 0.2, None, None, lr=0.1)
    assert run.status["step"] == 2 and run.status["message"].startswith("Epoch 1/2 done")


def test_samples_per_s_leave_out_validation_and_a_slow_first_report(run, clock):
    reporter = epochs(run)
    for at, step in ((0.1, 3), (0.2, 6), (0.3, 9), (0.4, 10)):  # 100 samples in 0.4 s
        clock.now = at
        reporter.batch_end(step, 1.0, 0.5, lr=0.1)
    clock.now = 1.0  # the validation pass takes 0.6 s
    record = reporter.end_epoch(1.0, 0.5, 0.9, 0.6, lr=0.1)
    assert record["kind"] == "epoch" and record["samples_per_s"] == pytest.approx(250)
    assert record["elapsed_s"] == 1.0 and run.status["samples_per_s"] == pytest.approx(250)
    assert "validation accuracy 60.0%" in run.status["message"]
    reporter.begin_epoch(2)
    clock.now = 1.3  # a slow start: 30 samples in 0.3 s
    reporter.batch_end(3, 1.0, 0.5, lr=0.1)
    # The last interval alone would read 100 samples/s; the window reads (100 + 30) / 0.7.
    assert run.records[-1]["samples_per_s"] == pytest.approx(130 / 0.7)


def test_a_cut_short_epoch_records_the_fraction_it_trained(run, clock):
    reporter = epochs(run)
    reporter.batch_end(4, 2.0, 0.25, lr=0.1)
    record = reporter.end_epoch(2.0, 0.25, None, None, lr=0.1)
    assert record["fraction"] == pytest.approx(0.4) and record["val_loss"] is None


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        (float("nan"), "The loss became NaN at epoch 1, step 7: "),
        (float("inf"), "The loss became infinite at epoch 1, step 7: "),
        (12.5, "The loss exploded to 12.5 at epoch 1, step 7 (chance level is 2.30): "),
    ],
)
def test_a_diverging_loss_ends_training_with_a_plain_explanation(run, clock, loss, message):
    reporter = epochs(run)
    assert reporter.batch_end(7, loss, 0.1, lr=0.1)
    assert reporter.should_end and reporter.stopped_at is None
    assert reporter.divergence == message + learning_rate_remedy(False) + "."
    assert run.records[-1]["kind"] == "batch", "what it saw is still recorded"


def test_a_healthy_or_unreported_loss_is_no_divergence(run, clock):
    reporter = epochs(run)
    assert not reporter.batch_end(1, 2.4, 0.1, lr=0.1)
    assert not reporter.batch_end(2, None, None, lr=0.1)
    assert reporter.divergence is None and not reporter.should_end


def test_a_stop_request_ends_training_where_it_was_seen(run, clock):
    reporter = epochs(run)
    reporter.begin_epoch(2)
    assert not reporter.batch_end(3, 1.0, 0.5, lr=0.1)
    run.stop = True
    assert reporter.batch_end(7, 1.0, 0.5, lr=0.1)
    assert reporter.stopped_at == "epoch 2, step 7" and reporter.divergence is None
    assert run.status["state"] == "stopping" and run.status["message"].startswith("Stopping")
    writes = run.writes
    assert reporter.batch_end(8, 1.0, 0.5, lr=0.1) and run.writes == writes


def test_divergence_wins_over_a_stop_request(run, clock):
    reporter = epochs(run)
    run.stop = True
    assert reporter.batch_end(2, float("nan"), 0.1, lr=0.1)
    assert reporter.divergence is not None and reporter.stopped_at is None


def chunks(run, planned=4):
    reporter = TrainingReporter(run, "normalize the inputs")
    reporter.begin(planned)
    return reporter


def end_chunk(reporter, chunk, loss=0.5):
    return reporter.end_chunk(
        chunk=chunk,
        iterations=25 * chunk,
        loss=loss,
        accuracy=0.9,
        fraction=0.25 * chunk,
        position=f"{25 * chunk} of about 100 iterations",
        message=f"Fitting: chunk {chunk}",
    )


def test_chunks_report_the_loops_own_fraction_and_leave_out_measuring_them(run, clock):
    reporter = chunks(run)
    assert run.status == {
        "message": "Training: the first chunk is under way (the first takes longest)…",
        "stage": "first_step",
        "epoch": 0,
        "epochs": 4,
        "progress": 0.0,
    }
    clock.now = 2.0
    reporter.trained(samples=1000)
    clock.now = 3.0  # a second to compute the chunk's loss and accuracy
    assert not end_chunk(reporter, 1)
    clock.now = 4.0
    reporter.trained(samples=2000)
    clock.now = 5.0
    end_chunk(reporter, 2)
    first, second = run.records
    assert first["kind"] == "chunk" and first["samples_per_s"] == 500.0
    assert second["samples_per_s"] == 1000.0 and second["elapsed_s"] == 5.0
    status = run.status
    assert (status["epoch"], status["epochs"], status["iterations"]) == (2, 4, 50)
    assert status["progress"] == 0.5 and status["eta_s"] == pytest.approx(5.0)
    assert status["samples_per_s"] == pytest.approx(2000 / 3)
    assert status["position"] == "50 of about 100 iterations"
    assert status["message"] == "Fitting: chunk 2; 667 samples/s, about 5s left"


def test_a_stop_request_or_divergence_ends_a_loop_without_epochs(run, clock):
    reporter = chunks(run)
    run.stop = True
    reporter.trained(samples=10)
    assert end_chunk(reporter, 1) and reporter.stopped_at == "chunk 1"
    reporter = chunks(FakeRun())
    reporter.trained(samples=10)
    assert end_chunk(reporter, 1, loss=float("nan"))
    assert reporter.divergence == "The loss became NaN at chunk 1: normalize the inputs."


def test_finish_fills_the_bar_and_adds_the_final_fields(run, clock):
    reporter = chunks(run)
    reporter.finish(position="90 iterations")
    assert run.status["progress"] == 1.0 and run.status["eta_s"] == 0.0
    assert run.status["position"] == "90 iterations"


def test_the_reporter_imports_no_framework_and_no_engine():
    code = (
        "import sys, mnist_lab.reporter; "
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
        "('keras', 'tensorflow', 'sklearn', 'torch', 'jax', 'streamlit') "
        "or m.startswith('mnist_lab.engines')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == ""
