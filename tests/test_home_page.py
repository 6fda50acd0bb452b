"""AppTest of the Home page: the dataset card and the links into every page."""

import json
import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

from mnist_lab.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]
PAGE_FILES = (
    "home.py",
    "explore.py",
    "train.py",
    "evaluate.py",
    "compare.py",
    "inside.py",
    "playground.py",
    "lessons.py",
)
LINK_LABELS = [
    "Explore data",
    "Train",
    "Evaluate",
    "Compare runs",
    "Inside the network",
    "Playground",
    "Lessons",
]
FRAME = """
from pathlib import Path
import streamlit as st
pages = Path(__file__).parent / "pages"
names = {names!r}
st.navigation([st.Page(pages / name, default=name == "home.py") for name in names]).run()
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


def test_home_in_a_frame_of_stub_pages(tmp_path):
    # The real home.py beside stub pages, so this test does not depend on the other pages.
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(ROOT / "pages" / "home.py", pages / "home.py")
    for name in PAGE_FILES[1:]:
        (pages / name).write_text(f"import streamlit as st\nst.title({name!r})\n")
    frame = tmp_path / "frame.py"
    frame.write_text(FRAME.format(names=PAGE_FILES))
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
