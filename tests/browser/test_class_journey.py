"""A class on one server, in the browser: a student sees their run's place in the queue, the
teacher reorders the queue on the Class page, and the student's page follows.

The server of this module has a teacher key; its runs wait in the queue while the test holds the
dispatcher's lock (as a live dispatcher does), so no dispatcher starts them and the queue holds
still while the two sessions look at it.
"""

from __future__ import annotations

import fcntl
import os
import time

import pytest
from playwright.sync_api import expect

from mnist_lab.execution.dispatcher import LOCK_FILE
from mnist_lab.execution.queue_entry import enqueue
from mnist_lab.ownership import TEACHER_KEY_ENV
from mnist_lab.processes import process_start_time
from mnist_lab.runs import RunStore
from tests.browser.driver import VIEWPORT, choose, exceptions, go_to, open_app, wait_for_run
from tests.browser.server import start_server, stop_server

pytestmark = pytest.mark.browser

TEACHER_KEY = "owl-42"
# Launch order: Ada twice, then Bob; each expected to train for 30 s.
QUEUED = (("Ada", "ada first"), ("Ada", "ada second"), ("Bob", "bob digits"))


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    store = RunStore(base / "runs")
    for owner, name in QUEUED:
        run = store.create({"engine": "numpy", "epochs": 1}, name=name, owner=owner)
        enqueue(run, 1)
        run.update_status(expected_training_s=30.0)
        time.sleep(0.002)  # ids are stamped to the millisecond: keep launch order
    with open(store.root / LOCK_FILE, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        server = start_server(store.root, base / "server.log", {TEACHER_KEY_ENV: TEACHER_KEY})
        yield server
        stop_server(server)


def sign_in(page, name: str) -> None:
    """Give a name in the sidebar, as every student does once."""
    page.get_by_role("textbox", name="Your name").fill(name)
    page.get_by_role("button", name="That's me").click()
    wait_for_run(page)


def test_the_teacher_reorders_the_queue_and_the_student_sees_it(browser, class_server, screenshots):
    student = browser.new_context(viewport=VIEWPORT).new_page()
    open_app(student, class_server.url)
    sign_in(student, "Bob")
    go_to(student, "Train")
    # Round robin: Bob's only run goes before Ada's second.
    place = student.get_by_text("2nd of 3 in the queue: expected to start in about 30s.")
    expect(place).to_be_visible()
    assert exceptions(student) == []
    student.screenshot(path=screenshots / "train-queued.png", full_page=True)

    teacher = browser.new_context(viewport=VIEWPORT).new_page()
    open_app(teacher, class_server.url)
    sign_in(teacher, "Ms Lovelace")
    teacher.get_by_text("Teacher", exact=True).click()
    teacher.get_by_role("textbox", name="Teacher key").fill(TEACHER_KEY)
    teacher.get_by_role("button", name="Unlock").click()
    wait_for_run(teacher)
    go_to(teacher, "Class")
    expect(teacher.get_by_role("heading", name="Queue")).to_be_visible()
    choose(teacher, "Waiting run", "Ada: ada second")
    teacher.get_by_role("button", name="Start next").click()
    wait_for_run(teacher)
    expect(teacher.get_by_role("button", name="Start next")).to_be_disabled()
    assert exceptions(teacher) == []
    teacher.screenshot(path=screenshots / "class-queue.png", full_page=True)

    # The student's live panel refreshes by itself: Bob is now third.
    expect(
        student.get_by_text("3rd of 3 in the queue: expected to start in about 1m 00s.")
    ).to_be_visible(timeout=15_000)
    student.context.close()

    # The Class page follows a run's start and end by itself, within its refresh period.
    training = teacher.locator('[data-testid="stMetric"]').filter(has_text="Training now")
    expect(training.locator('[data-testid="stMetricValue"]')).to_have_text("0")
    run = next(run for run in RunStore(class_server.runs_dir).list() if run.name == "ada first")
    pid = os.getpid()
    run.update_status(state="running", pid=pid, pid_start=process_start_time(pid), progress=0.77)
    expect(training.locator('[data-testid="stMetricValue"]')).to_have_text("1", timeout=15_000)
    run.update_status(state="finished", progress=1.0, message="Done.")
    expect(training.locator('[data-testid="stMetricValue"]')).to_have_text("0", timeout=15_000)
    assert exceptions(teacher) == []

    # A refresh keeps the teacher's unlock (a token in a cookie, not the key in the address),
    # until the teacher locks the browser again.
    teacher.reload()
    wait_for_run(teacher)
    assert TEACHER_KEY not in teacher.url
    expect(teacher.get_by_text("Teacher: you can manage every run.")).to_be_visible()
    teacher.get_by_role("button", name="Lock").click()
    wait_for_run(teacher)
    teacher.reload()
    wait_for_run(teacher)
    expect(teacher.get_by_role("textbox", name="Your name")).to_have_count(0)
    expect(teacher.get_by_text("Teacher: you can manage every run.")).to_have_count(0)
    teacher.context.close()
