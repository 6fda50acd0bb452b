"""User text stays text: every page, opened in a real browser over runs, a dataset, a sweep and a
student named in markdown and HTML, renders no link, image, tag or bold text made of them.

A run or dataset name is typed by a student and read by the whole class: were it rendered as
markdown, one student could put a link or a tracking image on everybody's pages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mnist_lab.assignments.store import AssignmentStore, Goal
from mnist_lab.datasets import DatasetStore
from mnist_lab.engines import get_engine
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.runs import CONFIG_FILE, RunStore
from mnist_lab.sweeps.space import Parameter
from mnist_lab.sweeps.store import SweepDefinition, SweepStore, Trial
from tests.browser.driver import VIEWPORT, exceptions, go_to, open_app, wait_for_run
from tests.browser.server import start_server, stop_server
from tests.shapes import CLASS_NAMES, write_shapes_idx

pytestmark = pytest.mark.browser

# Each name carries bold text, a link, an image and a tag, all pointing at a host that does not
# exist: anything the browser renders or fetches from it was made of user text.
PROBE_HOST = "x.invalid"
RUN_NAME = f"**B** [l](http://{PROBE_HOST}/a) ![i](http://{PROBE_HOST}/i.png) <u>u</u>"
DATASET_NAME = f"**B**[l](http://{PROBE_HOST}/d)<u>u</u>"
OWNER = f"**B**[o](http://{PROBE_HOST}/o)<u>o</u>"

RENDERED_USER_TEXT = """() => ({
    links: [...document.querySelectorAll('a[href]')]
        .filter(a => new URL(a.href).hostname === 'x.invalid').map(a => a.outerHTML),
    images: [...document.querySelectorAll('img[src]')]
        .filter(i => new URL(i.src).hostname === 'x.invalid').map(i => i.outerHTML),
    tags: [...document.querySelectorAll('u')].map(u => u.outerHTML),
    bold: [...document.querySelectorAll('strong, b')]
        .filter(e => e.textContent.trim() === 'B').map(e => e.outerHTML),
})"""


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """A server over finished runs, a dataset, a damaged run, a sweep and an assignment named in
    markup."""
    base = tmp_path_factory.mktemp("plain-text")
    store = RunStore(base / "runs")
    datasets = DatasetStore(store.root)
    datasets.add_files(write_shapes_idx(base / "upload"), DATASET_NAME, ", ".join(CLASS_NAMES))

    on_dataset = store.create(
        LogregSettings(dataset=DATASET_NAME).to_dict(), name=RUN_NAME, owner=OWNER
    )
    gone = store.create(LogregSettings(dataset=DATASET_NAME).to_dict(), name=RUN_NAME)
    # A run whose dataset was removed reads as damaged, naming the dataset.
    config = gone.config()
    gone.write_json(CONFIG_FILE, dict(config, dataset=dict(config["dataset"], sha256="0" * 64)))
    on_mnist = store.create(
        NumpyNetSettings(subset=1000, epochs=1, seed=0).to_dict(), name=RUN_NAME, owner=OWNER
    )
    for run in (on_dataset, on_mnist):
        assert get_engine(run.config()["engine"]).train(run).state == "finished"

    sweep = SweepStore(store).create(
        SweepDefinition(
            engine="numpy",
            base={"subset": 1000, "epochs": 1},
            parameters=[Parameter("seed", values=(0,))],
            name=RUN_NAME,
            owner=OWNER,
        )
    )
    sweep.add_trial(Trial(run=on_mnist.id, point=0, repeat=0, params={"seed": 0}))
    sweep.update(state="finished", message=RUN_NAME)
    # An assignment titled and worded in markup, grading the owner's run on Home and Class.
    AssignmentStore(store).create(
        RUN_NAME,
        Goal("accuracy", 0.5),
        text=RUN_NAME,
        opens_at=datetime.now(UTC) - timedelta(days=1),
    )

    server = start_server(store.root, base / "server.log")
    yield server
    stop_server(server)


def test_no_page_renders_user_text_as_markup(browser, hostile_server, screenshots):
    page = browser.new_context(viewport=VIEWPORT).new_page()
    fetched = []
    page.on("request", lambda request: PROBE_HOST in request.url and fetched.append(request.url))
    open_app(page, hostile_server.url)
    page.get_by_role("textbox", name="Your name (optional)").fill(OWNER)
    page.get_by_role("button", name="That's me").click()
    wait_for_run(page)
    # Each link reads "<icon name>\n\n<title>".
    links = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    titles = [text.split("\n")[-1] for text in links]
    assert len(titles) >= 10, titles

    rendered = {}
    for title in titles:
        go_to(page, title)
        assert exceptions(page) == [], title
        found = page.evaluate(RENDERED_USER_TEXT)
        if any(found.values()):
            rendered[title] = found
            page.screenshot(path=screenshots / f"markup-{title.lower()}.png", full_page=True)
    assert rendered == {}, "\n".join(f"{title}: {found}" for title, found in rendered.items())
    assert fetched == []
