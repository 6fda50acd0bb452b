"""One click on the Playground trains the fast CNN to 99.2% on all 60,000 digits."""

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.runs import RunStore
from mnist_lab.status import LIVE_STATES

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"
TIMEOUT_S = 240


@pytest.mark.slow
def test_one_click_trains_a_99_percent_model_the_playground_then_uses(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    app = AppTest.from_file(str(HOME), default_timeout=90).run()
    app.switch_page("../pages/playground.py").run()
    button = app.button(key="playground_quick_run_button")
    assert button.label.startswith("Train a 99% model (about ")
    button.click().run()
    assert not app.exception
    (run,) = RunStore(tmp_path).list()
    assert run.config()["preset"] == "fast-cnn" and run.config()["lr_schedule"] == "one-cycle"
    deadline = time.monotonic() + TIMEOUT_S
    while run.status()["state"] in LIVE_STATES and time.monotonic() < deadline:
        time.sleep(2)
    assert run.status()["state"] == "finished", run.status()["message"]
    # Seed 0 on all 60,000 digits: the recipe's promise.
    assert run.evaluation()["test_accuracy"] >= 0.992
    app.run()
    assert not app.exception
    assert app.multiselect(key="playground_runs").value == [run.id]
