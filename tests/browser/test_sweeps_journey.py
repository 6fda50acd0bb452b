"""A student's sweep in the real dashboard: define it, launch it, watch it, read it, open the best.

Runs after the main journey in the same server and browser; a screenshot of every step is
written to ``screenshots/``.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from mnist_lab.runs import RunStore
from mnist_lab.sweeps.results import best_first, trial_rows
from mnist_lab.sweeps.store import SweepStore
from tests.browser.driver import choose, exceptions, go_to, open_app, plotly_traces, wait_for_run

pytestmark = pytest.mark.browser

SWEEP_NAME = "widths and rates"
TIMEOUT_S = 180


def test_a_sweep_from_the_form_to_the_best_run(page, server, screenshots):
    open_app(page, server.url)
    go_to(page, "Sweeps")
    choose(page, "Engine", "NumPy from scratch")
    settings = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Settings to vary")
    # Learning rate and batch size are chosen already; add the hidden layer's width.
    settings.click()
    page.keyboard.type("Hidden sigmoid units")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    wait_for_run(page)
    page.get_by_role("textbox", name="Learning rate: values or a range").fill("0.05, 0.5")
    page.get_by_role("textbox", name="Hidden sigmoid units: values or a range").fill("8, 32")
    page.get_by_role("textbox", name="Batch size: values or a range").fill("32")
    page.get_by_label("Training subset (100-60,000; 0 = all)").fill("1000")
    page.get_by_label("Epochs").fill("2")
    page.get_by_label("Trials at once").fill("2")
    sweeps = SweepStore(RunStore(server.runs_dir))
    before = len(sweeps.list())
    page.get_by_label("Sweep name (optional)").fill(SWEEP_NAME)
    # Enter in a text field launches nothing: only the button does, once.
    page.get_by_label("Sweep name (optional)").press("Enter")
    wait_for_run(page)
    assert len(sweeps.list()) == before
    expect(page.get_by_text("Launched 4 trials.")).to_have_count(0)
    page.get_by_role("button", name="Launch sweep").click()
    wait_for_run(page)
    expect(page.get_by_text("Launched 4 trials.")).to_be_visible()
    assert exceptions(page) == []
    page.screenshot(path=screenshots / "sweeps-live.png", full_page=True)

    assert len(sweeps.list()) == before + 1
    sweep = sweeps.list()[0]
    deadline = time.monotonic() + TIMEOUT_S
    while sweep.state()["state"] != "finished":
        assert time.monotonic() < deadline, sweep.state()
        time.sleep(1)
    # The live panel notices the end by itself and draws the results.
    expect(page.get_by_text("4 of 4 trials ended").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Which setting mattered most")).to_be_visible(timeout=30_000)
    wait_for_run(page)
    assert exceptions(page) == []
    parcoords = page.locator('[data-testid="stPlotlyChart"]').first
    parcoords.scroll_into_view_if_needed()
    assert plotly_traces(page, 0)[0]["type"] == "parcoords"
    page.screenshot(path=screenshots / "sweeps-results.png", full_page=True)

    best = best_first(trial_rows(sweep))[0]
    page.get_by_role("link", name="Evaluate the best run").click()
    wait_for_run(page)
    assert exceptions(page) == []
    assert f"run={best['run']}" in page.url
    expect(page.get_by_text(best["name"]).first).to_be_visible()
    page.screenshot(path=screenshots / "sweeps-best-on-evaluate.png", full_page=True)
