"""The Train form remembers, and a second run queues while the first trains, in a real browser.

A student fills the form (a CNN preset, a changed epoch count), visits another page and
reloads the page: the form is as they left it. Then they launch a long run and, while it
trains, a second: it waits in the queue behind the first. Evaluate and Compare offer to copy
a run's settings, which opens Train with them.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mnist_lab.runs import RunStore
from mnist_lab.status import LIVE_STATES
from tests.browser.driver import (
    VIEWPORT,
    choose,
    exceptions,
    go_to,
    open_app,
    set_number,
    wait_for_run,
)

pytestmark = pytest.mark.browser

# Where the screenshots a reviewer looks at go (the git-ignored folder by default).
SHOTS_ENV = "MNIST_LAB_JOURNEY_SHOTS"
LONG_RUN, SECOND_RUN = "long numpy run", "queued behind it"
TRAINING_TIMEOUT_S = 420
# A rerun on a busy 2-core machine can start late: wait for what it shows, not for a rerun.
SHOWN_MS = 60_000


@pytest.fixture(scope="module")
def shots(screenshots) -> Path:
    folder = Path(os.environ.get(SHOTS_ENV) or screenshots)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def student(browser, server):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    open_app(page, server.url)
    yield page
    context.close()


def architecture(page):
    """The Architecture picker, whose value is the chosen preset's title."""
    return page.get_by_role("combobox", name="Architecture")


def epochs_field(page):
    return page.get_by_label("Epochs", exact=True)


def test_the_train_form_survives_a_page_switch_and_a_refresh(student, shots):
    go_to(student, "Train")
    choose(student, "Architecture", "Simple CNN")
    set_number(student, "Epochs", 3)
    wait_for_run(student)
    expect(epochs_field(student)).to_have_value("3", timeout=SHOWN_MS)

    go_to(student, "Explore")
    go_to(student, "Train")
    expect(architecture(student)).to_have_value("Simple CNN", timeout=SHOWN_MS)
    expect(epochs_field(student)).to_have_value("3", timeout=SHOWN_MS)

    # A refresh is a new session: the browser's cookie finds the form kept on the server.
    student.reload()
    wait_for_run(student)
    assert "epochs" not in student.url.lower() and "cnn" not in student.url.lower()
    expect(architecture(student)).to_have_value("Simple CNN", timeout=SHOWN_MS)
    expect(epochs_field(student)).to_have_value("3", timeout=SHOWN_MS)
    assert exceptions(student) == []
    student.screenshot(path=shots / "train-after-refresh.png", full_page=True)


def test_a_second_run_queues_while_the_first_trains(student, server, shots):
    student.get_by_text("NumPy from scratch", exact=True).click()
    expect(student.get_by_text("Hidden sigmoid units", exact=True)).to_be_visible(timeout=SHOWN_MS)
    wait_for_run(student)
    # Every digit (the NumPy form's default subset, 0 = all), for long enough to launch again.
    set_number(student, "Epochs", 50)
    wait_for_run(student)
    student.get_by_label("Run name (optional)").fill(LONG_RUN)
    student.get_by_label("Run name (optional)").press("Tab")
    wait_for_run(student)
    student.get_by_role("button", name="Launch training").click()
    expect(student.get_by_role("heading", name=LONG_RUN)).to_be_visible(timeout=SHOWN_MS)
    store = RunStore(server.runs_dir)
    first = next(run for run in store.list() if run.name == LONG_RUN)
    assert first.config()["epochs"] == 50 and first.config()["subset"] is None
    deadline = time.monotonic() + TRAINING_TIMEOUT_S
    while first.status()["state"] != "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert first.status()["state"] == "running"

    # Launch stays open while one's own run trains: the next one waits behind it.
    expect(student.get_by_text("a new launch waits in the queue behind it")).to_be_visible()
    student.get_by_label("Run name (optional)").fill(SECOND_RUN)
    student.get_by_label("Run name (optional)").press("Tab")
    wait_for_run(student)
    launch = student.get_by_role("button", name="Launch training")
    expect(launch).to_be_enabled()
    launch.click()
    expect(student.get_by_role("heading", name=SECOND_RUN)).to_be_visible(timeout=SHOWN_MS)
    second = next(run for run in store.list() if run.name == SECOND_RUN)
    assert second.status()["state"] == "queued" and first.status()["state"] == "running"
    assert exceptions(student) == []
    student.screenshot(path=shots / "train-second-run-queued.png", full_page=True)

    for run in (second, first):
        run.request_stop()
    deadline = time.monotonic() + TRAINING_TIMEOUT_S
    while any(run.status()["state"] in LIVE_STATES for run in (first, second)):
        assert time.monotonic() < deadline, "the runs did not stop"
        time.sleep(0.5)
    # Stopped before it trained, it has no result to evaluate: the first run is the one shown.
    store.delete(second.id)


@pytest.mark.parametrize(("page_title", "shot"), [("Evaluate", "evaluate"), ("Compare", "compare")])
def test_evaluate_and_compare_copy_a_runs_settings_into_train(student, shots, page_title, shot):
    go_to(student, page_title)
    # Other journeys share the server's runs: the run to copy is chosen, not assumed shown.
    picker = student.get_by_role("combobox", name="Run", exact=True)
    expect(picker).to_be_visible(timeout=SHOWN_MS)
    picker.click()
    student.keyboard.type(LONG_RUN)
    student.keyboard.press("Enter")
    wait_for_run(student)
    expect(picker).to_have_value(re.compile(f"^{LONG_RUN}"), timeout=SHOWN_MS)
    copy = student.get_by_role("button", name="Copy this run's settings")
    expect(copy).to_be_visible(timeout=SHOWN_MS)
    wait_for_run(student)
    copy.scroll_into_view_if_needed()
    assert exceptions(student) == []
    student.screenshot(path=shots / f"{shot}-copy-settings.png", full_page=True)
    copy.click()
    # Train opens with the run's settings: the NumPy network's, 50 epochs on every digit.
    expect(student.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=SHOWN_MS)
    expect(student.get_by_text("Hidden sigmoid units", exact=True)).to_be_visible(timeout=SHOWN_MS)
    expect(epochs_field(student)).to_have_value("50", timeout=SHOWN_MS)
    assert exceptions(student) == []
