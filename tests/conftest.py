"""Fixtures shared by the test modules."""

import pytest

from mnist_lab.data import MnistDataset, load_mnist


@pytest.fixture(scope="session")
def mnist() -> MnistDataset:
    """The embedded MNIST, loaded (and checksummed) once per test session."""
    return load_mnist()


@pytest.fixture(autouse=True)
def isolated_runs_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own empty runs directory, never the repository's ``runs/``."""
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium, one per session; browser tests skip where it is missing."""
    from tests.browser.driver import CHROMIUM, launch_chromium

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `bash .ci/setup --dev` to install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()
