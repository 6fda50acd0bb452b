"""An engine is one package and one registry line: the worked example of docs/ARCHITECTURE.md.

`tests/example_engine` (nearest class mean) is registered for these tests only; nothing else
in the lab names it, yet the worker trains it, the CLI and the Train page offer its settings,
and the pages that read runs open its run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.cli.main import build_parser
from mnist_lab.engines import ENGINES, get_engine
from mnist_lab.execution.executor import Executor
from mnist_lab.execution.worker import run_worker
from mnist_lab.launch import launch
from mnist_lab.runs import RunStore

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"


class InThisProcess(Executor):
    """Trains a launched run at once, in the test's own process."""

    where = "this test"

    def launch(self, run):
        run_worker(run.path)


@pytest.fixture
def centroid(monkeypatch, tmp_path):
    """The one registry line, for this test only; runs go to ``tmp_path``."""
    monkeypatch.setitem(ENGINES, "centroid", "tests.example_engine")
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    return get_engine("centroid")


def test_the_worker_trains_the_new_engine_and_the_registry_answers_for_its_run(centroid, tmp_path):
    config = centroid.settings_class(subset=2000, sharpness=4.0).to_dict()
    run = launch(RunStore(tmp_path), config, executor=InThisProcess()).run
    assert run.status()["state"] == "finished", run.status()["message"]
    assert run.evaluation()["test_accuracy"] > 0.6
    assert centroid.has_model(run) and centroid.digit_templates(run).shape == (10, 28, 28)


def test_the_cli_offers_its_settings_as_flags(centroid):
    args = build_parser().parse_args(["train", "--engine", "centroid", "--sharpness", "2"])
    assert args.engine == "centroid" and args.sharpness == 2.0


def test_the_train_page_offers_it_and_the_pages_open_its_run(centroid, tmp_path):
    config = centroid.settings_class(subset=1000).to_dict()
    launch(RunStore(tmp_path), config, name="means", executor=InThisProcess())
    app = AppTest.from_file(str(HOME), default_timeout=60).run()
    app.switch_page("../pages/train.py").run()
    app.segmented_control(key="train_engine").set_value("centroid").run()
    assert not app.exception
    assert app.select_slider(key="train_centroid_sharpness").value == 1.0
    for page in ("evaluate.py", "inside.py", "compare.py"):
        app.switch_page(f"../pages/{page}").run()
        assert not app.exception, page
