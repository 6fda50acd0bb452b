"""Drive the dashboard in headless Chromium: open pages, wait for reruns, read charts.

Shared by the browser tests (through ``conftest.py``) and ``benchmarks/bench_load.py``.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM = Path("/usr/bin/chromium")
# Debian's chromium, as root in a container, without any traffic of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
EXCEPTION = '[data-testid="stException"]'
# Page loads on a busy 2-core machine include importing TensorFlow on some pages.
RUN_TIMEOUT_MS = 90_000


def launch_chromium(playwright: Playwright) -> Browser:
    """Start headless Debian chromium (``playwright install`` cannot download browsers here)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def wait_for_run(page: Page, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait until Streamlit has finished the rerun that the last action triggered.

    The rerun may not have started yet when this is called, so first give it a moment to
    start, then wait for the app to be idle with its main block drawn.
    """
    try:
        page.wait_for_selector(RUNNING, timeout=1500)
    except PlaywrightTimeoutError:
        pass  # Too quick to see, or nothing to rerun.
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stMainBlockContainer"]', timeout=timeout_ms)
    # Elements left from the previous run are marked stale until the run replaces them.
    page.wait_for_function(
        "() => !document.querySelector('[data-stale=\"true\"]')", timeout=timeout_ms
    )


def open_app(page: Page, url: str) -> None:
    """Load the dashboard at ``url`` and wait for its first run."""
    page.goto(url)
    wait_for_run(page)


def go_to(page: Page, title: str, wait: bool = True) -> None:
    """Click a page in the sidebar navigation, as a user does, and wait for it to run."""
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    if wait:
        wait_for_run(page)


def exceptions(page: Page) -> list[str]:
    """The text of every Streamlit exception block on the page (empty when all is well)."""
    return page.locator(EXCEPTION).all_inner_texts()


def plotly_traces(page: Page, index: int = 0) -> list[dict]:
    """The data of the ``index``-th plotly chart as drawn in the browser (type, x, y, z)."""
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').nth(index)
    chart.wait_for(state="attached")
    # _fullData holds decoded arrays; data keeps plotly.py's base64 "bdata" blobs as sent.
    return chart.evaluate(
        """el => el._fullData.map(t => ({type: t.type, name: t.name,
            x: t.x ? Array.from(t.x) : null, y: t.y ? Array.from(t.y) : null,
            z: t.z ? Array.from(t.z, row => Array.from(row)) : null}))"""
    )


def plotly_point_count(page: Page) -> int:
    """How many x values all drawn plotly charts on the page hold together (one snapshot)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
            .flatMap(el => el._fullData || [])
            .reduce((n, t) => n + (t.x ? t.x.length : 0), 0)"""
    )


def plotly_layout(page: Page, index: int = 0) -> dict:
    """The layout of the ``index``-th plotly chart as drawn (axes types, titles).

    A chart that a rerun has just put on the page has no layout until plotly has drawn it:
    wait for it, up to 10 s (then ``{}``).
    """
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').nth(index)
    return chart.evaluate(
        """el => new Promise(resolve => {
            const deadline = Date.now() + 10000;
            const look = () => el.layout ? resolve(JSON.parse(JSON.stringify(el.layout)))
                : Date.now() > deadline ? resolve({}) : setTimeout(look, 50);
            look();
        })"""
    )


def choose(page: Page, label: str, option: str, wait: bool = True) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` and wait for the rerun."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.scroll_into_view_if_needed()
    box.click()
    # Typing filters the list to the option, so the choice needs no click on a popover
    # that may open below the window.
    page.keyboard.type(option)
    expect(page.get_by_role("option", name=option, exact=True)).to_be_visible()
    page.keyboard.press("Enter")
    if wait:
        wait_for_run(page)


def set_number(page: Page, label: str, value: int) -> None:
    """Type a value into a number input; Tab commits it (Enter would submit its form)."""
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Tab")


def launch_training(page: Page, name: str, subset: int, epochs: int) -> None:
    """On the Train page, fill the Keras form as a user would and press Launch."""
    set_number(page, "Training subset (100-60,000; 0 = all)", subset)
    set_number(page, "Epochs", epochs)
    page.get_by_label("Run name (optional)").fill(name)
    page.get_by_role("button", name="Launch training").click()
    wait_for_run(page)
