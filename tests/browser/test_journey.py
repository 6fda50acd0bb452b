"""A newcomer's first visit, page after page, in one real server and one browser tab.

Home -> Explore -> Train (a live run, then a stopped one) -> Evaluate -> Compare -> Inside
-> Playground -> Lessons. Every page is checked for Streamlit exception blocks and for what
a user needs on it. A screenshot of every step is written to ``screenshots/`` (git-ignored);
with ``MNIST_LAB_DOCS_SCREENSHOTS=1`` the ones the README shows are refreshed in
``docs/screenshots/`` too.
"""

from __future__ import annotations

import ast
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page, expect

from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.records import of_kind
from mnist_lab.runs import RunStore
from tests.browser.driver import (
    VIEWPORT,
    choose,
    exceptions,
    go_to,
    launch_training,
    open_app,
    plotly_layout,
    plotly_point_count,
    plotly_traces,
    wait_for_run,
)
from tests.browser.server import ROOT

pytestmark = pytest.mark.browser

DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
# Pages whose screenshots the README shows, refreshed only on request so a test run
# leaves the tracked files alone.
README_PAGES = (
    "home",
    "explore",
    "explore-map",
    "train",
    "evaluate",
    "inside-histograms",
    "playground",
    "lesson",
)
FIRST_RUN, STOPPED_RUN, BASELINE_RUN = "first steps", "stopped early", "baseline"
# Markdown that must show as typed, and long enough to squeeze a legend that does not cut it.
RENAMED = "first steps, now called **not bold** [not a link](x) and rather long too"
TRAINING_TIMEOUT_S = 150
# Three small runs of 15 epochs, one after another, each starting TensorFlow.
LESSON_TIMEOUT_S = 420


def check_page(page: Page, name: str, screenshots) -> None:
    """No exception blocks on the page; save its screenshot (and the README's copy)."""
    assert exceptions(page) == [], f"{name} shows an exception"
    page.screenshot(path=screenshots / f"{name}.png", full_page=True)
    if name in README_PAGES and os.environ.get("MNIST_LAB_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=DOCS_SCREENSHOTS / f"{name}.png")


# The live panel's progress line while a run trains: "... · ETA 1m 05s · 1,234 samples/s".
LIVE_THROUGHPUT = re.compile(r"ETA [^·\n]* · [\d,]+ samples/s")


def main_text(page: Page) -> str:
    """Everything the page's main area says, as text."""
    return page.locator('[data-testid="stMain"]').inner_text()


def gallery_pairs(page: Page) -> list[tuple[str, str]]:
    """(true, predicted) of every digit in the Evaluate gallery, read from its titles."""
    annotations = plotly_layout(page, 1).get("annotations", [])
    return re.findall(r"true (\d) → (\d)", " ".join(a["text"] for a in annotations))


def pick(page: Page, label: str, typed: str) -> None:
    """Choose the first option of the selectbox labelled ``label`` that matches ``typed``."""
    box = selectbox(page, label)
    box.scroll_into_view_if_needed()
    box.click()
    page.keyboard.type(typed)
    page.keyboard.press("Enter")
    wait_for_run(page)


def selectbox(page: Page, label: str):
    """The selectbox whose label is exactly ``label`` (its shown option does not count)."""
    return (
        page.locator('[data-testid="stSelectbox"]')
        .filter(has=page.get_by_text(label, exact=True))
        .first
    )


def chart_index(page: Page, title: str) -> int:
    """The index of the plotly chart titled ``title``."""
    charts = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
    for index in range(charts.count()):
        shown = (plotly_layout(page, index).get("title") or {}).get("text", "")
        # Streamlit's theme wraps titles in <b> tags.
        if re.sub(r"<[^>]+>", "", shown) == title:
            return index
    raise AssertionError(f"no chart titled {title!r}")


def tick_labels(page: Page, index: int, axis: str = "y") -> list[str]:
    """The tick labels of one axis of the ``index``-th chart, as the browser drew them."""
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').nth(index)
    return chart.evaluate(
        f"el => [...el.querySelectorAll('g.{axis}tick text')].map(t => t.textContent)"
    )


def test_home(page, server, screenshots):
    open_app(page, server.url)
    expect(page.get_by_role("heading", name="MNIST Lab")).to_be_visible()
    expect(page.get_by_text("Training images")).to_be_visible()
    # At least seven links; waited for, as the first visit may still be drawing them.
    expect(page.locator('[data-testid="stPageLink"]').nth(6)).to_be_visible()
    check_page(page, "home", screenshots)


def test_explore_histogram_follows_digit_and_scale(page, screenshots):
    go_to(page, "Explore data")
    page.get_by_role("tab", name="Pixel values").click()
    wait_for_run(page)
    before = plotly_traces(page)
    scale_before = plotly_layout(page)["yaxis"].get("type", "linear")

    choose(page, "Digit", "Digit 7")
    after_digit = plotly_traces(page)
    assert after_digit[0]["y"] != before[0]["y"], "the histogram did not follow the digit"

    page.get_by_text("Log scale", exact=True).click()
    wait_for_run(page)
    scale_after = plotly_layout(page)["yaxis"].get("type", "linear")
    assert {scale_before, scale_after} == {"linear", "log"}, "the scale toggle did nothing"
    check_page(page, "explore", screenshots)


def test_explore_test_split_shows_the_training_constants(page, screenshots):
    page.get_by_role("radio", name="test", exact=True).click()
    wait_for_run(page)
    text = main_text(page)
    assert "mean (0.1307)" in text and "std (0.3081)" in text, "not the training constants"
    assert "in every test image" in text
    page.get_by_role("radio", name="train", exact=True).click()
    wait_for_run(page)


def test_explore_t_sne_map_shows_progress_then_ten_distinct_colours(page, screenshots):
    page.get_by_role("tab", name="Map").click()
    wait_for_run(page)
    choose(page, "Images", "500")
    choose(page, "Method", "t-SNE")
    expect(page.get_by_text(re.compile("Computing the t-SNE map of 500"))).to_be_visible()
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    chart.wait_for(timeout=TRAINING_TIMEOUT_S * 1000)
    wait_for_run(page)
    colours = chart.evaluate("el => el._fullData.map(t => t.marker.color)")
    assert len(colours) == 10 and len(set(colours)) == 10, colours
    chart.scroll_into_view_if_needed()
    check_page(page, "explore-map", screenshots)


def test_train_live_run_gains_points(page, screenshots):
    go_to(page, "Train")
    expect(page.get_by_text("No runs yet")).to_be_visible()
    launch_training(page, FIRST_RUN, subset=1000, epochs=6)
    expect(page.get_by_role("heading", name=FIRST_RUN)).to_be_visible()

    seen = []
    deadline = time.monotonic() + TRAINING_TIMEOUT_S
    while not main_text(page).count("Test accuracy") and time.monotonic() < deadline:
        seen.append(plotly_point_count(page))
        time.sleep(0.5)
    drawn = [count for count in seen if count > 0]
    # A redraw can briefly show fewer points; what matters is that the chart grew while live.
    assert drawn and drawn[0] < max(drawn), f"the live chart never grew: {seen}"
    # The run's end reruns the whole page once: let it replace the live panel first.
    wait_for_run(page)
    expect(page.get_by_text("Finished: trained")).to_be_visible(timeout=30_000)
    check_page(page, "train-finished", screenshots)


def test_train_stop_shows_stopped(page, screenshots):
    launch_training(page, STOPPED_RUN, subset=0, epochs=20)
    expect(page.get_by_role("heading", name=STOPPED_RUN)).to_be_visible()
    # Stop once it trains, not while it waits for TensorFlow: the live line's throughput says
    # so (chart points do not, nor the form's expected time, which quotes a measured speed).
    deadline = time.monotonic() + TRAINING_TIMEOUT_S
    while not LIVE_THROUGHPUT.search(main_text(page)) and time.monotonic() < deadline:
        time.sleep(0.5)
    check_page(page, "train", screenshots)
    page.get_by_role("button", name=re.compile("Stop")).click()
    expect(page.get_by_text(re.compile(r"Stopped at .* as requested")).first).to_be_visible(
        timeout=TRAINING_TIMEOUT_S * 1000
    )
    check_page(page, "train-stopped", screenshots)


def test_evaluate_cell_shows_its_digits(page, screenshots):
    go_to(page, "Evaluate")
    expect(page.get_by_role("heading", name="Confusion matrix")).to_be_visible()
    confused = re.findall(r"(\d) taken for (\d)", main_text(page))
    true_digit, predicted = map(int, confused[0])
    # Click the cell: predicted digits run left to right on top, true digits top to bottom.
    area = page.locator('[data-testid="stPlotlyChart"]').first.locator(".nsewdrag").first
    # The matrix is taller than what is left of the window: a click off-screen hits nothing.
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    page.mouse.click(
        box["x"] + (predicted + 0.5) / 10 * box["width"],
        box["y"] + (true_digit + 0.5) / 10 * box["height"],
    )
    wait_for_run(page)
    assert exceptions(page) == [], "clicking a confusion-matrix cell raised an exception"
    pair = (str(true_digit), str(predicted))
    assert set(gallery_pairs(page)) == {pair}, "the clicked cell's gallery shows other digits"
    # The select boxes below the matrix do the same job without a mouse.
    second = confused[1]
    choose(page, "True digit", second[0])
    choose(page, "Predicted digit", second[1])
    assert set(gallery_pairs(page)) == {second}, "the chosen pair's gallery shows other digits"
    check_page(page, "evaluate", screenshots)


def test_evaluate_hands_over_the_run_as_code(page, screenshots):
    script_button = page.get_by_role("button", name="Python script (.py)")
    script_button.scroll_into_view_if_needed()
    with page.expect_download() as download:
        script_button.click()
    script = Path(download.value.path()).read_text()
    ast.parse(script)
    assert "import keras" in script and "mnist_lab" not in script.split('"""')[2]
    with page.expect_download() as download:
        page.get_by_role("button", name="Jupyter notebook (.ipynb)").click()
    notebook = nbformat.reads(Path(download.value.path()).read_text(), as_version=4)
    nbformat.validate(notebook)
    # The stopped run trained with Keras: its event files open in TensorBoard.
    expect(page.get_by_text(re.compile(r"tensorboard --logdir .*/tb"))).to_be_visible()
    check_page(page, "evaluate-downloads", screenshots)


def test_train_baseline_estimates_its_time_and_reads_its_narrow_axis(page, server, screenshots):
    store = RunStore(server.runs_dir)
    run = store.create(LogregSettings(subset=10_000).validate().to_dict(), name=BASELINE_RUN)
    LocalExecutor(store).launch(run)
    go_to(page, "Train")
    choose(page, "Watching run", BASELINE_RUN)
    etas = []
    deadline = time.monotonic() + TRAINING_TIMEOUT_S
    # Three chunks give the accuracy chart a range of a point or two, and the ETA its data.
    while len(of_kind(run.metrics(), "chunk")) < 3 and time.monotonic() < deadline:
        etas += re.findall(r"of about \d+ L-BFGS iterations · \d+% · ETA (\S+)", main_text(page))
        time.sleep(0.5)
    page.wait_for_timeout(2000)  # the live panel redraws every second
    labels = tick_labels(page, chart_index(page, "Accuracy"))
    check_page(page, "train-baseline", screenshots)
    # Enough seen: stop it (between two chunks) and spare the CPU for the rest of the journey.
    run.request_stop()
    assert any(eta != "—" for eta in etas), f"no time estimate while fitting: {etas}"
    # A range of a point or two: whole percents would repeat ("93%, 93%, 94%").
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    expect(page.get_by_text(re.compile("evaluated on the")).first).to_be_visible(
        timeout=TRAINING_TIMEOUT_S * 1000
    )


def test_compare_lists_both_runs(page, screenshots):
    go_to(page, "Compare runs")
    text = main_text(page)
    assert FIRST_RUN in text and STOPPED_RUN in text
    check_page(page, "compare", screenshots)


def test_compare_a_renamed_run_is_renamed_everywhere(page, screenshots):
    overlay = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Runs to overlay")
    if FIRST_RUN not in overlay.inner_text():
        overlay.locator("input").click()
        page.keyboard.type(FIRST_RUN)
        page.get_by_role("option").filter(has_text=FIRST_RUN).first.click()
        page.keyboard.press("Escape")
        wait_for_run(page)
        assert FIRST_RUN in overlay.inner_text(), "could not add the run to the overlay"
    pick(page, "Run", FIRST_RUN)
    page.get_by_label(re.compile(r"New name")).fill(RENAMED)
    page.get_by_role("button", name="Rename").click()
    wait_for_run(page)
    # Shown as typed: the asterisks and brackets stay, nothing turns bold or into a link.
    expect(page.get_by_text(f"Renamed “{FIRST_RUN}” to “{RENAMED}”.")).to_be_visible()
    assert RENAMED in overlay.inner_text(), "the overlay chip kept the old name"
    # The chosen option is the combobox's value, not text: the accessibility tree has it.
    assert RENAMED in selectbox(page, "Run").aria_snapshot(), "the run picker kept the old name"
    # The learning curves are the page's first chart.
    legend = [trace["name"] for trace in plotly_traces(page, 0)]
    assert any(name.startswith(RENAMED[:20]) for name in legend), legend
    assert all(len(name) < 45 for name in legend), "a long name squeezes the charts"
    check_page(page, "compare-renamed", screenshots)


def test_inside_shows_the_weights_grid(page, screenshots):
    go_to(page, "Inside the network")
    expect(page.get_by_role("tab", name="Weights")).to_be_visible()
    # The grid tiles every unit's 28x28 weight image into one heatmap.
    grid = next(trace for trace in plotly_traces(page) if trace["type"] == "heatmap")
    assert len(grid["z"]) >= 28 and len(grid["z"][0]) >= 5 * 28, "no grid of weight images"
    check_page(page, "inside", screenshots)


def test_inside_histograms_of_every_epoch_share_one_colour_scale(page, screenshots):
    pick(page, "Run", BASELINE_RUN)
    page.get_by_role("tab", name="Histograms").click()
    histograms = page.get_by_role("tabpanel", name="Histograms")
    expect(histograms.get_by_text(re.compile("The baseline is a single layer"))).to_be_visible()
    pick(page, "Run", "first steps")
    page.get_by_role("tab", name="Histograms").click()
    wait_for_run(page)
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').last
    chart.scroll_into_view_if_needed()
    assert chart.locator(".colorbar").count() == 1, "no colour bar naming the epochs"
    assert "epoch" in chart.locator(".colorbar").text_content()
    check_page(page, "inside-histograms", screenshots)


def test_playground_predicts_a_drawn_digit(page, screenshots):
    go_to(page, "Playground")
    # Streamlit 1.67 mounts the drawable canvas in the page (no iframe); fabric.js takes the
    # mouse on its upper canvas.
    canvas = page.locator('[data-testid="stBidiComponentIsolated"] canvas.upper-canvas')
    canvas.wait_for()
    box = canvas.bounding_box()
    # A "1": one vertical stroke down the middle, drawn in small mouse steps.
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x, box["y"] + box["height"] * (0.15 + 0.7 * step / 20))
    page.mouse.up()
    wait_for_run(page)
    expect(page.get_by_text("What the models see")).to_be_visible()
    # The probabilities chart is drawn only once a model has predicted the drawn digit.
    bars = [trace for trace in plotly_traces(page, 1) if trace["type"] == "bar"]
    assert bars and all(abs(sum(trace["y"]) - 1) < 0.01 for trace in bars)
    check_page(page, "playground", screenshots)


def saliency_map(page: Page) -> tuple[list, list]:
    """(attribution, digit) of the saliency chart: its heatmap and the outline's contour."""
    charts = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
    for index in range(charts.count()):
        traces = plotly_traces(page, index)
        if [trace["type"] for trace in traces] == ["heatmap", "contour"]:
            return traces[0]["z"], traces[1]["z"]
    raise AssertionError("no saliency map on the page")


def test_playground_explains_the_drawn_digit(page, screenshots):
    heading = page.get_by_role("heading", name="Why did it say that?")
    heading.scroll_into_view_if_needed()
    expect(heading).to_be_visible()
    attribution, digit = saliency_map(page)
    assert len(attribution) == len(digit) == 28
    cells = [
        (a, d)
        for row_a, row_d in zip(attribution, digit, strict=True)
        for a, d in zip(row_a, row_d, strict=True)
    ]
    # Gradient x input: the drawn "1" has effects, the blank paper around it none.
    assert any(a != 0 for a, d in cells if d > 0)
    assert all(a == 0 for a, d in cells if d == 0)
    expect(page.get_by_text("Red pixels pushed the score of")).to_be_visible()
    page.get_by_text("Occlusion", exact=True).click()
    wait_for_run(page)
    expect(page.get_by_text("erasing the ink in a 4x4 square")).to_be_visible()
    assert any(a != 0 for row in saliency_map(page)[0] for a in row)
    check_page(page, "playground-why", screenshots)


def test_lessons_lists_lessons(page, screenshots):
    go_to(page, "Lessons")
    expect(page.get_by_role("heading", name="Lessons")).to_be_visible()
    check_page(page, "lessons", screenshots)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Lesson").click()
    assert page.get_by_role("option").count() >= 2, "fewer than two lessons listed"
    page.keyboard.press("Escape")


def test_lesson_overfitting_warns_and_explains(page, screenshots):
    choose(page, "Lesson", "Overfitting")
    page.get_by_role("button", name=re.compile("Run this lesson|Run it again")).click()
    wait_for_run(page)
    verdict = page.get_by_text(re.compile("Gap between training and validation accuracy"))
    expect(verdict).to_be_visible(timeout=LESSON_TIMEOUT_S * 1000)
    # The hint comes from the run's own records, on the run that memorized its digits.
    expect(
        page.get_by_text(re.compile("Overfitting: the validation loss has risen")).first
    ).to_be_visible()
    # The verdict at the top of the window, the details and the comparison chart below it.
    verdict.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.mouse.move(VIEWPORT["width"] * 0.6, VIEWPORT["height"] / 2)
    page.mouse.wheel(0, -120)  # the question above it in view too, not cut by the header
    page.wait_for_timeout(300)
    check_page(page, "lesson", screenshots)
