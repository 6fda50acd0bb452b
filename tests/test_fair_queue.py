"""The fair queue: round robin by student, a limit per student, the teacher's order, ETAs."""

import os
import time

import pytest

from mnist_lab.engines.keras_net.settings import KerasSettings
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.dispatcher import admit, current_queue, queue_state
from mnist_lab.execution.fair_queue import (
    RUNS_PER_STUDENT_ENV,
    fair_order,
    move_in_queue,
    queue_places,
    runs_per_student,
    runs_to_start,
    teacher_order,
)
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.execution.queue_entry import LOCAL, enqueue, mark_started
from mnist_lab.execution.slots import MAX_PARALLEL_ENV
from mnist_lab.launch import executor_for
from mnist_lab.runs import RunStore
from tests.test_runs import wait_for


@pytest.fixture(autouse=True)
def no_dispatcher(monkeypatch):
    """Showing the queue starts a dispatcher for waiting runs: here it would train them."""
    started = []
    monkeypatch.setattr(
        "mnist_lab.execution.dispatcher.ensure_dispatcher", lambda store: started.append(store)
    )
    return started


def queued(store: RunStore, *owners, parallel: int = 1):
    """One queued run per owner (None for no owner), created in this order."""
    runs = []
    for owner in owners:
        run = store.create({"engine": "numpy", "epochs": 2}, owner=owner)
        enqueue(run, parallel)
        runs.append(run)
        time.sleep(0.002)  # run ids are stamped to the millisecond: keep launch order
    return runs


def test_every_students_first_run_goes_before_anyones_second(tmp_path):
    ada1, ada2, ada3, bob1, cy1, bob2 = queued(
        RunStore(tmp_path), "Ada", "Ada", "Ada", "Bob", "Cy", "Bob"
    )
    order = fair_order([ada1, ada2, ada3, bob1, cy1, bob2], [])
    assert order == [ada1, bob1, cy1, ada2, bob2, ada3]


def test_runs_without_an_owner_keep_first_in_first_out(tmp_path):
    runs = queued(RunStore(tmp_path), None, None, None)
    assert fair_order(runs, []) == runs


def test_the_teachers_order_goes_first_and_later_launches_queue_behind_it(tmp_path):
    store = RunStore(tmp_path)
    ada1, ada2, bob1 = queued(store, "Ada", "Ada", "Bob")
    waiting = fair_order([ada1, ada2, bob1], teacher_order(store))
    assert waiting == [ada1, bob1, ada2]
    move_in_queue(store, waiting, ada2.id, 0)
    assert teacher_order(store) == [ada2.id, ada1.id, bob1.id]
    assert (store.root / ".queue_order.json").exists()
    (cy1,) = queued(store, "Cy")
    assert fair_order([ada1, ada2, bob1, cy1], teacher_order(store)) == [ada2, ada1, bob1, cy1]
    with pytest.raises(KeyError, match="no longer waiting"):
        move_in_queue(store, [ada1], cy1.id, 0)


def test_a_damaged_order_file_is_no_order(tmp_path):
    store = RunStore(tmp_path)
    store.root.mkdir(parents=True, exist_ok=True)
    (store.root / ".queue_order.json").write_text('{"order": "not a list"}')
    assert teacher_order(store) == []
    (store.root / ".queue_order.json").write_bytes(b"\xff[")
    assert teacher_order(store) == []


def test_a_student_at_the_limit_waits_while_others_start(tmp_path):
    ada2, bob1, cy1 = queued(RunStore(tmp_path), "Ada", "Bob", "Cy", parallel=2)
    parallel = {run.id: 2 for run in (ada2, bob1, cy1)}
    # Ada trains one run already: two slots, one free, and Bob takes it.
    assert runs_to_start([ada2, bob1, cy1], parallel, ["Ada"], limit=1) == [bob1]
    assert runs_to_start([ada2, bob1, cy1], parallel, ["Ada"], limit=0) == [ada2]
    assert runs_to_start([ada2, bob1, cy1], parallel, [], limit=1) == [ada2, bob1]
    # Every slot taken: nobody starts, and the next run is not overtaken.
    assert runs_to_start([ada2, bob1], parallel, ["Dan", "Eve"], limit=1) == []


def test_each_place_has_an_expected_start(tmp_path):
    store = RunStore(tmp_path)
    (ada1,) = queued(store, "Ada")
    ada1.update_status(state="running", eta_s=60.0)
    ada2, bob1, cy1 = queued(store, "Ada", "Bob", "Cy")
    order = fair_order([ada2, bob1, cy1], [], training_owners=["Ada"])
    assert order == [bob1, cy1, ada2], "Ada's training run was her turn"

    def minutes(run):
        return 30.0 if run != cy1 else None

    one_slot = queue_places(order, [ada1], slots=1, limit=1, duration=minutes)
    assert [(p.position, p.starts_in_s) for p in one_slot] == [(1, 60.0), (2, 90.0), (3, None)]
    two_slots = queue_places(order, [ada1], slots=2, limit=1, duration=minutes)
    # Bob starts at once; Ada's second waits for her first even though a slot frees at 30 s.
    assert [p.starts_in_s for p in two_slots] == [0.0, 30.0, 60.0]


def test_the_queue_as_the_pages_read_it(tmp_path, monkeypatch):
    monkeypatch.setenv(RUNS_PER_STUDENT_ENV, "1")
    store = RunStore(tmp_path)
    settings = NumpyNetSettings(subset=1000, epochs=2).to_dict()
    training = store.create(settings, owner="Ada")
    enqueue(training, 1)
    training.write_json("dispatch.json", {"parallel": 1, "worker": 1})
    training.update_status(state="running", eta_s=10.0)
    ada2 = store.create(settings, owner="Ada")
    enqueue(ada2, 1)
    ada2.update_status(expected_training_s=4.0)
    time.sleep(0.002)
    bob1 = store.create(settings, owner="Bob")
    enqueue(bob1, 1)
    bob1.update_status(expected_training_s=5.0)
    assert [run.id for run, _ in queue_state(store)[0]] == [ada2.id, bob1.id]
    places = current_queue(store)
    assert [(p.run, p.position, p.starts_in_s) for p in places] == [
        (bob1, 1, 10.0),
        (ada2, 2, 15.0),
    ]


def test_a_bad_limit_is_refused_before_any_run_is_made(tmp_path, monkeypatch):
    monkeypatch.setenv(RUNS_PER_STUDENT_ENV, "one")
    with pytest.raises(ValueError, match="MNIST_LAB_RUNS_PER_STUDENT must be a whole number"):
        runs_per_student()
    with pytest.raises(ValueError, match="whole number"):
        executor_for(RunStore(tmp_path))
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_a_students_second_run_waits_while_another_students_run_trains(tmp_path, monkeypatch):
    """Real workers: two slots, Ada's second run waits for her first while Bob's trains."""
    monkeypatch.setenv("MNIST_LAB_MAX_PARALLEL", "2")
    monkeypatch.setenv(RUNS_PER_STUDENT_ENV, "1")
    store = RunStore(tmp_path)
    # Small batches: the first run trains long enough for the others to queue behind it.
    long_run = NumpyNetSettings(subset=20000, epochs=100, batch_size=4).to_dict()
    short_run = NumpyNetSettings(subset=500, epochs=1).to_dict()
    executor = LocalExecutor(store)
    ada1 = store.create(long_run, owner="Ada")
    executor.launch(ada1)
    wait_for(lambda: ada1.status()["state"] == "running", 120, "Ada's first run to train")
    ada2 = store.create(short_run, owner="Ada")
    executor.launch(ada2)
    time.sleep(0.002)
    bob1 = store.create(short_run, owner="Bob")
    executor.launch(bob1)
    wait_for(lambda: bob1.status()["state"] == "finished", 120, "Bob's run to overtake")
    assert ada2.status()["state"] == "queued", "Ada trained two runs at once"
    assert [place.run for place in current_queue(store)] == [ada2]
    ada1.request_stop()
    wait_for(lambda: ada2.status()["state"] == "finished", 120, "Ada's second run")
    assert ada1.status()["state"] == "stopped"


def test_runs_of_one_model_on_different_subsets_expect_their_own_times(tmp_path):
    store = RunStore(tmp_path)
    runs = []
    for subset in (6000, 12000, 6000):
        recipe = KerasSettings.recommended({"preset": "fast-cnn"})
        settings = KerasSettings(preset="fast-cnn", **{**recipe, "subset": subset, "epochs": 1})
        run = store.create(settings.to_dict())
        enqueue(run, 1)
        runs.append(run)
        time.sleep(0.002)  # run ids are stamped to the millisecond: keep launch order
    starts = [place.starts_in_s for place in current_queue(store)]
    # The shipped throughput of the fast CNN: twice the digits take twice as long.
    assert starts[0] == 0.0 and starts[1] > 0
    assert starts[2] == pytest.approx(3 * starts[1])


def start_one_at_a_time(store: RunStore, n: int) -> tuple[list, list]:
    """Play the dispatcher on one slot ``n`` times: what the page showed next, what started.

    Each started run is marked as started by a live process (this one) and ends before the
    next round, as a one-slot dispatcher sees them.
    """
    shown, started = [], []
    for _ in range(n):
        shown.append(current_queue(store)[0].run)
        (run, parallel), *_ = admit(store, LOCAL)[0]
        mark_started(run, parallel, os.getpid(), LOCAL)
        run.update_status(state="running", pid=os.getpid())
        run.update_status(state="finished")
        started.append(run)
    return shown, started


def test_round_robin_holds_on_one_slot(tmp_path, monkeypatch):
    """A student's many runs do not go first: a classmate's run queued after them starts 2nd."""
    monkeypatch.setenv(MAX_PARALLEL_ENV, "1")
    store = RunStore(tmp_path)
    ada = queued(store, *["Ada"] * 6)
    (bob,) = queued(store, "Bob")
    places = current_queue(store)
    assert [place.run for place in places][:3] == [ada[0], bob, ada[1]]
    shown, started = start_one_at_a_time(store, 3)
    assert started == [ada[0], bob, ada[1]], "the page and the dispatcher disagree"
    assert shown == started
    # Bob comes back: Ada was served since his last run, so his next run goes before hers.
    (bob2,) = queued(store, "Bob")
    shown, started = start_one_at_a_time(store, 3)
    assert started == shown == [bob2, ada[2], ada[3]]
