"""A student's own Keras script, with LabCallback, watched live on the Train page.

The classic script (`tests/notebook_script.py`) runs as its own process, slowed down by a
short sleep after each batch so that the page catches it while it trains; it writes to the
server's runs directory as a notebook on the same machine would.
"""

from __future__ import annotations

import os
import time

import pytest
from playwright.sync_api import expect

from tests.browser.driver import exceptions, go_to, open_app, plotly_point_count
from tests.browser.server import ROOT
from tests.notebook_process import PROCESS_TIMEOUT_S, start_script, wait_for_live_run

pytestmark = pytest.mark.browser

DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
LIVE_TIMEOUT_S = 120


def test_a_notebooks_fit_shows_live_on_the_train_page(page, server, screenshots):
    process = start_script(server.runs_dir, "2000", "3", "0.15")
    try:
        run = wait_for_live_run(server.runs_dir, process)
        open_app(page, server.url)
        go_to(page, "Train")
        expect(page.get_by_role("heading", name=run.name)).to_be_visible()
        seen = []
        deadline = time.monotonic() + LIVE_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            seen.append(plotly_point_count(page))
            if seen[-1] and len([count for count in seen if count]) == 3:
                # Mid-training, its curves drawn: the README's picture of a notebook's run.
                page.screenshot(path=screenshots / "train-notebook-live.png", full_page=True)
                if os.environ.get("MNIST_LAB_DOCS_SCREENSHOTS") == "1":
                    page.screenshot(path=DOCS_SCREENSHOTS / "train-notebook-live.png")
            time.sleep(0.5)
        drawn = [count for count in seen if count > 0]
        assert drawn and drawn[0] < max(drawn), f"the live chart never grew: {seen}"
        assert exceptions(page) == []
        process.communicate(timeout=PROCESS_TIMEOUT_S)
        expect(page.get_by_text("Finished: evaluated on the")).to_be_visible(timeout=30_000)
    finally:
        process.kill()
        process.wait()
