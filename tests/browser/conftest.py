"""Fixtures for the browser tests: one real dashboard server per session, a tab per module.

The one Chromium of the session (`browser`) lives in tests/conftest.py: a fault test needs it too,
and Playwright's sync API allows a single instance per process.
"""

from __future__ import annotations

import pytest

from tests.browser.driver import VIEWPORT
from tests.browser.server import ROOT, kill_workers, start_server, stop_server

SCREENSHOTS = ROOT / "screenshots"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The dashboard started as the README says, on a free port, with its own runs directory."""
    base = tmp_path_factory.mktemp("browser")
    server = start_server(base / "runs", base / "server.log")
    yield server
    stop_server(server)
    kill_workers(server.runs_dir)


@pytest.fixture(scope="module")
def page(browser):
    """One browser tab kept for a whole module: a single user's session, page after page."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots():
    """The git-ignored folder where the browser tests save a screenshot of every page."""
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
