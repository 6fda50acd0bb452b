"""A teacher's own dataset in the real dashboard: upload four gzipped IDX files, see it listed,
explore it. A screenshot of the Data page is written to ``screenshots/``.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from mnist_lab.datasets import DatasetStore
from tests.browser.driver import exceptions, go_to, open_app, plotly_traces, wait_for_run
from tests.shapes import write_shapes_idx

pytestmark = pytest.mark.browser
# Streamlit's endpoint for uploaded files (one PUT per file).
UPLOAD_ENDPOINT = "/_stcore/upload_file/"
UPLOAD_TIMEOUT_S = 60


def test_upload_the_idx_files_see_the_dataset_and_explore_it(page, server, screenshots, tmp_path):
    files = write_shapes_idx(tmp_path / "shapes")
    open_app(page, server.url)
    go_to(page, "Your data")
    expect(page.get_by_text("Only MNIST so far: add a dataset above.")).to_be_visible()
    uploaded = []
    page.on("requestfinished", lambda request: uploaded.append(request.url))
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        [str(path) for path in files]
    )
    for path in files:
        expect(page.get_by_text(path.name)).to_be_visible()
    # A file's name shows before its upload ends; a busy server (its first visitor starts
    # the warm-up) may take a while to take all four.
    deadline = time.monotonic() + UPLOAD_TIMEOUT_S
    while sum(UPLOAD_ENDPOINT in url for url in uploaded) < len(files):
        assert time.monotonic() < deadline, f"uploads not finished: {uploaded}"
        page.wait_for_timeout(100)
    wait_for_run(page)
    page.get_by_role("textbox", name="Dataset name", exact=True).fill("Shapes")
    # Enter in the name box adds nothing yet: the class names are still to be typed.
    page.get_by_role("textbox", name="Dataset name", exact=True).press("Enter")
    page.wait_for_timeout(1000)
    wait_for_run(page)
    assert DatasetStore(server.runs_dir).list() == []
    page.get_by_role("textbox", name="Class names (optional)").fill("square, cross, circle")
    page.get_by_role("button", name="Check and add").click()
    wait_for_run(page)
    expect(
        page.get_by_text("Added Shapes: 300 training and 60 test images, 3 classes.")
    ).to_be_visible()
    assert exceptions(page) == []
    assert [info.name for info in DatasetStore(server.runs_dir).list()] == ["Shapes"]
    table = page.locator('[data-testid="stDataFrame"]')
    expect(table).to_be_visible()
    page.screenshot(path=screenshots / "data.png", full_page=True)
    table.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "data-listed.png")

    page.get_by_role("link", name="Explore it").click()
    wait_for_run(page)
    expect(page.get_by_text("300 training and 60 test images of 3 classes")).to_be_visible()
    assert exceptions(page) == []
    counts = plotly_traces(page)
    assert [list(trace["x"]) for trace in counts] == [["square", "cross", "circle"]] * 2
    page.screenshot(path=screenshots / "data-explore.png", full_page=True)
