"""AppTest of the Train page inside the real dashboard frame: launch, watch, stop, reuse."""

import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.engines.keras_net.models import PRESETS, count_params, preset_layers
from mnist_lab.engines.keras_net.settings import ARCHITECTURE
from mnist_lab.ownership import TEACHER_KEY_ENV
from mnist_lab.processes import process_start_time
from mnist_lab.runs import RunStore

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def open_train_page() -> AppTest:
    app = AppTest.from_file(str(HOME), default_timeout=90).run()
    app.switch_page("../pages/train.py").run()
    assert not app.exception
    return app


def architecture_summary(app: AppTest) -> str:
    """The label of the expander that sums up the chosen architecture."""
    return next(e.label for e in app.expander if "parameters" in e.label)


def wait_for_state(app: AppTest, run_dir: Path, states: set[str], timeout: float = 120) -> str:
    """Rerun the page until the run reaches one of ``states``; return the state."""
    store = RunStore(run_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.run()
        assert not app.exception
        state = store.list()[0].status()["state"]
        if state in states:
            return state
        time.sleep(1)
    raise AssertionError(f"run did not reach {states} in {timeout} s")


def test_empty_page_shows_the_architecture_summary(runs_dir):
    app = open_train_page()
    assert app.info[0].value.startswith("No runs yet")
    assert "79,510 parameters" in architecture_summary(app)
    app.selectbox(key="train_keras_preset").set_value("simple-cnn").run()
    expected = count_params(preset_layers("simple-cnn"))
    assert architecture_summary(app).startswith(f"{expected:,} parameters")
    assert PRESETS["simple-cnn"]["description"] in [caption.value for caption in app.caption]


def test_custom_layers_are_summarized_and_checked(runs_dir):
    app = open_train_page()
    app.selectbox(key="train_keras_preset").set_value("custom").run()
    assert not app.exception
    starter = [dict(layer) for layer in ARCHITECTURE.starter_layers]
    assert architecture_summary(app).startswith(f"{count_params(starter):,} parameters")


def test_invalid_settings_are_an_error_not_a_traceback(runs_dir):
    app = open_train_page()
    app.selectbox(key="train_keras_optimizer").set_value("adam")
    app.checkbox(key="train_keras_nesterov").check()
    app.slider(key="train_keras_momentum").set_value(0.5)
    app.slider(key="train_keras_val_split").set_value(0.0)
    app.number_input(key="train_keras_early_stopping_patience").set_value(3)
    app.button(key="train_keras_launch").click().run()
    assert not app.exception
    assert "early stopping" in app.error[0].value
    assert RunStore(runs_dir).list() == []


@pytest.mark.slow
def test_launch_a_keras_run_and_watch_it_finish(runs_dir):
    app = open_train_page()
    app.number_input(key="train_keras_subset").set_value(1000)
    app.number_input(key="train_keras_epochs").set_value(1)
    app.text_input(key="train_keras_name").input("first try")
    app.button(key="train_keras_launch").click().run()
    assert wait_for_state(app, runs_dir, {"finished"}) == "finished"
    app.run()
    assert app.subheader[0].value == "first try"
    assert app.success, "a finished run says so"
    assert [metric.label for metric in app.metric] == [
        "Test accuracy",
        "Test loss",
        "Training time",
    ]
    assert float(app.metric[0].value.rstrip("%")) > 50
    links = [link.proto.label for link in app.get("page_link")]
    assert "Evaluate this run" in links
    assert len(app.get("plotly_chart")) >= 2


def test_stop_a_numpy_run_keeps_what_it_learned(runs_dir):
    app = open_train_page()
    app.segmented_control(key="train_engine").set_value("numpy").run()
    app.number_input(key="train_numpy_epochs").set_value(100)
    app.button(key="train_numpy_launch").click().run()
    wait_for_state(app, runs_dir, {"running"})
    assert app.button(key="train_stop").label == "Stop"
    app.button(key="train_stop").click().run()
    assert wait_for_state(app, runs_dir, {"stopped"}) == "stopped"
    run = RunStore(runs_dir).list()[0]
    assert run.metrics(), "metrics logged before the stop are kept"


@pytest.mark.slow
def test_the_same_baseline_twice_is_answered_from_the_stored_run(runs_dir):
    app = open_train_page()
    app.segmented_control(key="train_engine").set_value("sklearn").run()
    app.number_input(key="train_sklearn_subset").set_value(1000)
    app.button(key="train_sklearn_launch").click().run()
    assert wait_for_state(app, runs_dir, {"finished"}) == "finished"
    assert not app.tabs, "a baseline has no per-batch curves to tab between"
    assert "L-BFGS iterations" in str(app.get("progress")[0].proto)
    app.button(key="train_sklearn_launch").click().run()
    assert not app.exception
    assert len(RunStore(runs_dir).list()) == 1
    assert "stored result" in app.toast[0].value


def test_the_layer_builder_adds_removes_and_reorders_layers(runs_dir):
    app = open_train_page()
    app.selectbox(key="train_keras_preset").set_value("custom").run()
    types = [box.value for box in app.selectbox if box.label.startswith("layer ")]
    assert types == ["Conv2D", "MaxPool", "Dense", "Dropout"]
    app.button(key="train_keras_custom_layers_add").click().run()
    types = [box.value for box in app.selectbox if box.label.startswith("layer ")]
    assert types == ["Conv2D", "MaxPool", "Dense", "Dropout", "Dense"]
    removes = [b for b in app.button if b.key and b.key.endswith("_remove")]
    removes[3].click().run()
    ups = [b for b in app.button if b.key and b.key.endswith("_up")]
    ups[3].click().run()
    types = [box.value for box in app.selectbox if box.label.startswith("layer ")]
    assert types == ["Conv2D", "MaxPool", "Dense", "Dense"][:2] + ["Dense", "Dense"]
    activations = [box.value for box in app.selectbox if box.label == "activation"]
    assert activations == ["relu", "relu", "relu"], "every field is visible, none blank"
    assert not app.exception and not app.error
    (summary,) = [frame.value for frame in app.dataframe if "activation" in frame.value]
    assert summary["activation"].tolist()[:2] == ["relu", ""], "conv is relu, pooling has none"


def test_a_classmates_live_run_does_not_stop_a_student_launching(runs_dir, monkeypatch):
    monkeypatch.setenv(TEACHER_KEY_ENV, "owl-42")
    store = RunStore(runs_dir)
    bobs = store.create({"engine": "numpy"}, name="bob's finished", owner="Bob")
    bobs.update_status(state="finished")
    time.sleep(0.002)
    adas = store.create({"engine": "numpy"}, name="ada's live", owner="Ada")
    pid = os.getpid()
    adas.update_status(state="running", pid=pid, pid_start=process_start_time(pid))
    app = AppTest.from_file(str(HOME), default_timeout=90)
    app.session_state["identity_name"] = "Bob"
    app.run()
    app.switch_page("../pages/train.py").run()
    assert not app.exception
    # Bob finds his own run, not the newest one, and may launch while Ada trains.
    assert app.selectbox(key="train_watch").value == bobs.id
    assert not app.button(key="train_keras_launch").disabled
    app.selectbox(key="train_watch").set_value(adas.id).run()
    assert not app.button(key="train_keras_launch").disabled, "Ada's run blocks Bob"


@pytest.fixture
def no_dispatcher(monkeypatch):
    """Queued runs stay queued: no dispatcher starts a worker that would train them."""
    started = []
    for module in ("mnist_lab.execution.dispatcher", "mnist_lab.execution.local"):
        monkeypatch.setattr(f"{module}.ensure_dispatcher", lambda store: started.append(store))
    return started


def test_a_second_run_can_be_queued_while_the_first_is_live(runs_dir, no_dispatcher):
    app = open_train_page()
    app.segmented_control(key="train_engine").set_value("numpy").run()
    app.number_input(key="train_numpy_epochs").set_value(2)
    app.button(key="train_numpy_launch").click().run()
    assert not app.exception
    (first,) = RunStore(runs_dir).list()
    assert first.status()["state"] == "queued"
    launch = app.button(key="train_numpy_launch")
    assert not launch.disabled, "a live run of one's own does not stop the next launch"
    app.number_input(key="train_numpy_epochs").set_value(3)
    app.button(key="train_numpy_launch").click().run()
    assert not app.exception
    runs = RunStore(runs_dir).list()
    assert len(runs) == 2 and all(run.status()["state"] == "queued" for run in runs)
    second = next(run for run in runs if run.id != first.id)
    assert app.selectbox(key="train_watch").value == second.id, "the page watches the new run"
    assert set(app.selectbox(key="train_watch").options) >= {first.name, second.name}


def test_the_run_name_is_cleared_after_a_launch_and_a_reused_name_warned(runs_dir, no_dispatcher):
    app = open_train_page()
    app.segmented_control(key="train_engine").set_value("numpy").run()
    app.text_input(key="train_numpy_name").input("first try").run()
    assert not app.warning
    app.button(key="train_numpy_launch").click().run()
    assert not app.exception
    assert app.text_input(key="train_numpy_name").value == "", "the next run needs its own name"
    app.text_input(key="train_numpy_name").input("first try").run()
    assert "already have a run named first try" in app.warning[0].value
    app.number_input(key="train_numpy_epochs").set_value(3)
    app.button(key="train_numpy_launch").click().run()
    assert [run.name for run in RunStore(runs_dir).list()] == ["first try", "first try"]


def test_the_same_launch_twice_in_a_row_is_asked_about_then_launched(runs_dir, no_dispatcher):
    app = open_train_page()
    app.segmented_control(key="train_engine").set_value("numpy").run()
    app.checkbox(key="train_numpy_fresh_seed").uncheck().run()
    app.button(key="train_numpy_launch").click().run()
    app.button(key="train_numpy_launch").click().run()
    assert not app.exception and len(RunStore(runs_dir).list()) == 1
    assert "Launch it again?" in app.warning[0].value.replace("\\", "")
    app.button(key="train_launch_again_button").click().run()
    assert not app.exception and len(RunStore(runs_dir).list()) == 2


def test_each_launch_draws_a_fresh_seed_unless_one_is_fixed(runs_dir, no_dispatcher):
    app = open_train_page()
    app.segmented_control(key="train_engine").set_value("numpy").run()
    assert app.checkbox(key="train_numpy_fresh_seed").value, "fresh by default"
    assert app.number_input(key="train_numpy_seed").disabled
    seeds = []
    for epochs in (2, 3):
        app.number_input(key="train_numpy_epochs").set_value(epochs)
        app.button(key="train_numpy_launch").click().run()
        (new,) = {run.config()["seed"] for run in RunStore(runs_dir).list()} - set(seeds)
        seeds.append(new)
        assert app.number_input(key="train_numpy_seed").value == new, "the form shows it"
    app.checkbox(key="train_numpy_fresh_seed").uncheck().run()
    app.number_input(key="train_numpy_seed").set_value(42)
    app.number_input(key="train_numpy_epochs").set_value(4)
    app.button(key="train_numpy_launch").click().run()
    assert {run.config()["seed"] for run in RunStore(runs_dir).list()} == {*seeds, 42}


def test_a_baseline_keeps_its_declared_seed(runs_dir, no_dispatcher):
    app = open_train_page()
    app.segmented_control(key="train_engine").set_value("sklearn").run()
    keys = [box.key for box in app.checkbox]
    assert "train_sklearn_fresh_seed" not in keys, "a baseline is shared, not drawn anew"
    assert app.number_input(key="train_sklearn_seed").value == 0
