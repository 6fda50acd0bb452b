"""The run store and the worker: states, the training queue, and workers that die."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.evaluation import EVALUATION_FILE, write_evaluation
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.execution.slots import training_slot
from mnist_lab.execution.worker import run_worker
from mnist_lab.files import DamagedRunError
from mnist_lab.processes import process_start_time
from mnist_lab.runs import CONFIG_FILE, LOG_FILE, WAITS_IN_QUEUE, RunStore


def wait_for(condition, timeout_s, what):
    deadline = time.time() + timeout_s
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.2)


def test_a_created_run_is_queued_and_listed(tmp_path):
    store = RunStore(tmp_path)
    run = store.create({"engine": "keras", "label": "mlp relu"}, name="first try")
    assert run.status()["state"] == "queued" and run.name == "first try"
    assert "mlp-relu" in run.id and store.list() == [run] and store.get(run.id) == run


def test_a_running_run_whose_worker_is_gone_reads_as_interrupted(tmp_path):
    run = RunStore(tmp_path).create({"engine": "keras"})
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    start = process_start_time(process.pid)
    process.wait()
    run.update_status(state="running", pid=process.pid, pid_start=start)
    assert run.status()["state"] == "interrupted"
    assert "checkpoint" in run.status()["message"]


def test_an_unknown_engine_fails_with_a_message(tmp_path):
    run = RunStore(tmp_path).create({"engine": "torch"})
    assert run_worker(run.path) == "failed"
    assert "unknown engine 'torch'" in run.status()["message"]


def test_a_run_stopped_while_queued_never_trains(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_MAX_PARALLEL", "1")
    store = RunStore(tmp_path)
    run = store.create({"engine": "keras"})
    with training_slot(store) as held:
        assert held
        run.request_stop()
        assert run_worker(run.path) == "stopped"
    assert run.status()["message"] == "Stopped while waiting in the queue."


@pytest.mark.slow
def test_a_second_launch_queues_and_a_killed_worker_reads_as_interrupted(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_MAX_PARALLEL", "1")
    store = RunStore(tmp_path)
    first = store.create(KerasSettings(subset=1000, epochs=500, val_split=0).to_dict())
    second = store.create(KerasSettings(preset="softmax", subset=500, epochs=1).to_dict())
    LocalExecutor(store).launch(first)
    wait_for(lambda: first.file("checkpoint.keras").exists(), 180, "the first checkpoint")
    first_pid = first.raw_status()["pid"]
    LocalExecutor(store).launch(second)
    # No process waits for the second run: it waits in the queue's files, held by nobody.
    assert second.raw_status()[WAITS_IN_QUEUE] and "pid" not in second.raw_status()
    assert second.status()["state"] == "queued" and first.status()["state"] == "running"
    assert not second.file(LOG_FILE).exists(), "a worker was started for a queued run"

    os.kill(first_pid, signal.SIGKILL)
    wait_for(lambda: first.status()["state"] == "interrupted", 10, "the kill to show")
    assert any(record["kind"] == "epoch" for record in first.metrics())
    assert first.file("history.csv").read_text().startswith("epoch,")

    wait_for(lambda: second.status()["state"] not in ("queued", "running"), 180, "the second run")
    assert second.status()["state"] == "finished"
    # Imported late: loading TensorFlow is only needed here, and the workers run without it.
    from mnist_lab.engines.keras_net.training import load_trained_model

    assert load_trained_model(first).count_params() == 79_510


def test_a_finished_worker_is_reaped_not_left_defunct(tmp_path):
    store = RunStore(tmp_path)
    run = store.create({"engine": "torch"}, name="fails at once")
    dispatcher = LocalExecutor(store).launch(run)
    wait_for(lambda: run.status()["state"] == "failed", 60, "the worker to fail")
    worker = run.raw_status()["pid"]
    # A process nobody waits for stays in the process table as a zombie ("Z") until reaped.
    for pid in (worker, dispatcher):
        wait_for(lambda p=pid: not os.path.exists(f"/proc/{p}"), 10, f"{pid} to be reaped")


def test_a_file_read_again_follows_every_new_version_of_it(tmp_path):
    store = RunStore(tmp_path)
    run = store.create({"engine": "keras"}, name="first")
    assert run.name == "first"
    store.rename(run.id, "second")  # written aside, then renamed over: a new file
    assert run.name == "second"
    config = run.file(CONFIG_FILE)
    # Rewritten in place (the same file): its new size or time makes it a new version.
    config.write_text(config.read_text().replace("second", "a third name"))
    assert run.name == "a third name"
    config.write_text("{")
    with pytest.raises(DamagedRunError, match="not valid JSON"):
        run.config()


def test_an_evaluation_read_again_follows_a_new_evaluation_and_its_damage(tmp_path):
    run = RunStore(tmp_path).create({"engine": "keras"})
    labels = np.array([0, 1, 1, 0])
    write_evaluation(run, labels, np.eye(2)[[0, 1, 0, 0]])
    assert run.evaluation()["test_accuracy"] == 0.75 and run.evaluation() is run.evaluation()
    write_evaluation(run, labels, np.eye(2)[labels])
    assert run.evaluation()["test_accuracy"] == 1.0
    run.file(EVALUATION_FILE).write_text('{"test_accuracy": "abc"}')
    with pytest.raises(DamagedRunError, match="test_accuracy"):
        run.evaluation()


def test_records_read_again_follow_every_appended_line_rewrite_and_damage(tmp_path):
    run = RunStore(tmp_path).create({"engine": "keras"})
    assert run.metrics() == []
    run.append_metrics({"kind": "epoch", "epoch": 1, "loss": 0.5})
    assert [r["epoch"] for r in run.metrics()] == [1]
    run.append_metrics({"kind": "epoch", "epoch": 2, "loss": 0.4})
    first = run.metrics()
    assert [r["epoch"] for r in first] == [1, 2]
    first.clear()  # the list is the caller's own: the next reader still gets every record
    assert len(run.metrics()) == 2
    records = run.file("metrics.jsonl")
    # Rewritten in place (the same file): its new size makes it a new version.
    records.write_text(records.read_text().replace('"epoch": 2', '"epoch": 12'))
    assert [r["epoch"] for r in run.metrics()] == [1, 12]
    records.write_text('{"kind": "epoch", "epoch": "x"}\n')
    assert run.metrics() == []
    # A link in its place reads as damaged (no records), even where the target was read before.
    target = tmp_path / "elsewhere.jsonl"
    target.write_text('{"kind": "epoch", "epoch": 3}\n')
    records.unlink()
    records.symlink_to(target)
    assert run.metrics() == []
    assert run.status()["state"] == "damaged"


def test_records_of_a_growing_file_equal_a_fresh_parse_whatever_happens_to_its_start(tmp_path):
    from mnist_lab.records import parse

    run = RunStore(tmp_path).create({"engine": "keras"})
    records = run.file("metrics.jsonl")

    def fresh():
        return parse(records.read_bytes())

    for epoch in range(1, 4):
        run.append_metrics({"kind": "epoch", "epoch": epoch, "loss": 1 / epoch})
        assert run.metrics() == fresh()
    # A line still being written is not a record yet, and is one once it ends.
    with open(records, "a") as handle:
        handle.write('{"kind": "epoch", "epo')
    assert [r["epoch"] for r in run.metrics()] == [1, 2, 3]
    with open(records, "a") as handle:
        handle.write('ch": 4}\n')
    assert [r["epoch"] for r in run.metrics()] == [1, 2, 3, 4] == [r["epoch"] for r in fresh()]
    # Its start rewritten in place, then grown: read afresh, not from the kept start.
    records.write_text(records.read_text().replace('"epoch": 1,', '"epoch": 9,') + "\n")
    run.append_metrics({"kind": "epoch", "epoch": 5})
    assert [r["epoch"] for r in run.metrics()] == [9, 2, 3, 4, 5] == [r["epoch"] for r in fresh()]
    # A damaged line in the new part is skipped; the rest still reads.
    with open(records, "a") as handle:
        handle.write('{"kind": "epoch", "epoch": -1}\nnot json\n')
    run.append_metrics({"kind": "epoch", "epoch": 6})
    assert run.metrics() == fresh() and run.metrics()[-1]["epoch"] == 6
