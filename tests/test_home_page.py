"""AppTest of the Home page: the dataset card and the links into every page."""

import json
import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard.ui.app import pages as page_table
from mnist_lab.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]
LINK_LABELS = [
    "Explore data",
    "Your data",
    "Train",
    "Evaluate",
    "Compare runs",
    "The MNIST table",
    "Sweeps",
    "Inside the network",
    "Class",
    "Playground",
    "Lessons",
]
FRAME = """
import streamlit as st
from dashboard.ui.app.pages import navigation_sections
st.navigation(navigation_sections()).run()
"""


def check_home(app: AppTest) -> None:
    assert not app.exception
    assert app.title[0].value == "MNIST Lab"
    assert [metric.value for metric in app.metric] == [
        "60,000",
        "10,000",
        "28 x 28 px",
        "10 digits",
    ]
    [chart] = app.get("plotly_chart")
    assert [trace["name"] for trace in json.loads(chart.proto.spec)["data"]] == ["train", "test"]
    links = app.get("page_link")
    assert sorted(link.proto.label for link in links) == sorted(LINK_LABELS)
    assert all(link.proto.page_script_hash for link in links)


def test_home_in_a_frame_of_stub_pages(tmp_path, monkeypatch):
    # The real home.py beside stub pages, so this test does not depend on the other pages.
    pages = tmp_path / "pages"
    pages.mkdir()
    monkeypatch.setattr(page_table, "PAGES_DIR", pages)
    shutil.copy(ROOT / "pages" / "home.py", pages / "home.py")
    for page in page_table.PAGES:
        if page.name != page_table.HOME:
            page.path.write_text(f"import streamlit as st\nst.title({page.title!r})\n")
    frame = tmp_path / "frame.py"
    frame.write_text(FRAME)
    check_home(AppTest.from_file(str(frame), default_timeout=60).run())


def test_home_in_the_real_dashboard():
    check_home(AppTest.from_file(str(ROOT / "dashboard" / "Home.py"), default_timeout=60).run())


def test_home_lists_the_recent_runs(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(store.root))
    run = store.create({"engine": "numpy", "label": "numpy-784-20-10"}, name="my first net")
    run.update_status(state="finished", pid=None)
    app = AppTest.from_file(str(ROOT / "dashboard" / "Home.py"), default_timeout=60).run()
    assert not app.exception
    [table] = app.dataframe
    assert table.value["Name"].tolist() == ["my first net"]
    assert "All runs on Compare" in [link.proto.label for link in app.get("page_link")]
