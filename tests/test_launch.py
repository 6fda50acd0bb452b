"""The one launch: validation, the owner, reuse of a finished run, the executor, the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import mnist_lab.launch
from mnist_lab.cli.main import build_parser, main
from mnist_lab.cli.train import launch_request
from mnist_lab.execution.dispatcher import queue_state
from mnist_lab.execution.executor import Executor
from mnist_lab.files import read_json
from mnist_lab.launch import CLUSTER_ENV, REPEAT_SECONDS, RepeatedLaunchError, launch
from mnist_lab.lessons.catalogue import LESSONS
from mnist_lab.lessons.runner import lesson_tag, start_lesson
from mnist_lab.runs import RUNS_DIR_ENV, RunStore

BASELINE = {"engine": "sklearn", "subset": 500}
NETWORK = {"engine": "numpy", "subset": 500, "epochs": 1}
TAG_FILE = "tag.json"
HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"


class Recording(Executor):
    """An executor that only records what it was made with and what it was asked to launch."""

    where = "a test"

    def __init__(self, store, *where, **options):
        self.store, self.made_with, self.options = store, where, options
        self.launched = []

    def launch(self, run):
        # Whether `prepare` had written its file before the run was queued.
        self.launched.append((run, run.file(TAG_FILE).exists()))


@pytest.fixture
def made(monkeypatch):
    """Every executor `launch` builds, by kind; none really trains anything."""
    made = {"local": [], "ray": []}

    def factory(kind):
        def make(*args, **kwargs):
            executor = Recording(*args, **kwargs)
            made[kind].append(executor)
            return executor

        return make

    monkeypatch.delenv(CLUSTER_ENV, raising=False)
    monkeypatch.setattr(mnist_lab.launch, "LocalExecutor", factory("local"))
    monkeypatch.setattr(mnist_lab.launch, "RayExecutor", factory("ray"))
    return made


def finished_run(store: RunStore, config: dict):
    run = launch(store, config, force=True).run
    run.update_status(state="finished", message="Done.")
    return run


def test_a_new_run_is_created_with_its_name_and_owner_and_launched_here(tmp_path, made):
    store = RunStore(tmp_path)
    launched = launch(store, NETWORK, name="first try", owner="  Ada ")
    run = launched.run
    assert not launched.reused and store.list() == [run]
    assert run.name == "first try" and run.owner == "Ada"
    assert run.status()["state"] == "queued"
    [executor] = made["local"]
    assert executor.launched == [(run, False)] and not made["ray"]


def test_a_partial_config_is_recorded_whole_and_keeps_its_tags(tmp_path, made):
    store = RunStore(tmp_path)
    engine_settings = mnist_lab.launch.get_engine("numpy").settings_class
    expected = engine_settings.from_dict(NETWORK).to_dict()
    tag = {"id": "s1", "point": 0, "repeat": 0}
    config = launch(store, {**NETWORK, "sweep": tag}).run.config()
    assert {key: config[key] for key in expected} == expected and config["sweep"] == tag


def test_a_copied_configs_owner_and_name_are_not_the_new_runs(tmp_path, made):
    store = RunStore(tmp_path)
    old = launch(store, NETWORK, name="Bob's run", owner="Bob").run
    copy = launch(store, old.config()).run
    assert copy.owner is None and copy.name != "Bob's run"
    assert launch(store, old.config(), owner="Ada").run.owner == "Ada"


def test_a_finished_run_with_the_same_settings_is_reused(tmp_path, made):
    store = RunStore(tmp_path)
    stored = finished_run(store, BASELINE)
    built = len(made["local"])
    launched = launch(store, BASELINE, owner="Ada", prepare=lambda run: pytest.fail("prepared"))
    assert launched.reused and launched.run == stored
    # Nothing was created, connected or queued.
    assert store.list() == [stored] and len(made["local"]) == built


def test_force_trains_again_and_other_settings_are_not_reused(tmp_path, made):
    store = RunStore(tmp_path)
    stored = finished_run(store, BASELINE)
    forced = launch(store, BASELINE, force=True)
    assert not forced.reused and forced.run != stored
    other = launch(store, {**BASELINE, "seed": 7})
    assert not other.reused and len(store.list()) == 3


def test_a_live_run_or_an_engine_that_does_not_reuse_trains_again(tmp_path, made):
    store = RunStore(tmp_path)
    live = launch(store, BASELINE).run
    assert launch(store, BASELINE, owner="Ada").run != live
    network = finished_run(store, NETWORK)
    assert not mnist_lab.launch.get_engine("numpy").reuses_finished_runs
    assert launch(store, NETWORK, owner="Ada").run != network


def test_the_same_run_launched_seconds_later_is_asked_about(tmp_path, made):
    store = RunStore(tmp_path)
    first = launch(store, NETWORK, name="twice", owner="Ada").run
    with pytest.raises(RepeatedLaunchError, match=r"^You launched the same run \d+ s ago\. Launch"):
        launch(store, NETWORK, name="twice", owner="Ada", prepare=lambda run: pytest.fail("made"))
    assert store.list() == [first]
    # Another name, owner or setting is another run; force launches it again.
    launch(store, NETWORK, name="other", owner="Ada")
    launch(store, NETWORK, name="twice", owner="Bob")
    launch(store, {**NETWORK, "seed": 7}, name="twice", owner="Ada")
    again = launch(store, NETWORK, name="twice", owner="Ada", force=True).run
    assert again != first and len(store.list()) == 5


def test_the_same_run_launched_long_ago_is_launched_without_asking(tmp_path, made):
    store = RunStore(tmp_path)
    first = launch(store, NETWORK, owner="Ada").run
    created = datetime.now(UTC) - timedelta(seconds=REPEAT_SECONDS + 1)
    first.write_json("config.json", dict(first.config(), created=created.isoformat()))
    assert launch(store, NETWORK, owner="Ada").run != first


def test_the_cli_says_the_question_and_how_to_insist(tmp_path, made, monkeypatch, capsys):
    monkeypatch.setenv(RUNS_DIR_ENV, str(tmp_path))
    launch(RunStore(tmp_path), {**BASELINE, "seed": 3})
    assert main(["train", "--engine", "sklearn", "--subset", "500", "--seed", "3"]) == 2
    error = capsys.readouterr().err
    assert "You launched the same run" in error and "--force" in error


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({**NETWORK, "epochs": 0}, "epochs must be"),
        ({**BASELINE, "C": -1.0}, "C must be"),
        ({**NETWORK, "hidden": 3}, "unknown config key"),
        ({"engine": "torch"}, "unknown engine 'torch'"),
        ({"subset": 500}, "unknown engine None"),
        (["numpy"], "must be a JSON object"),
    ],
)
def test_bad_settings_are_refused_naming_the_field_and_leave_nothing(
    tmp_path, made, config, message
):
    with pytest.raises(ValueError, match=message):
        launch(RunStore(tmp_path / "runs"), config)
    assert not (tmp_path / "runs").exists() and made == {"local": [], "ray": []}


@pytest.mark.parametrize(
    ("options", "message"), [({"owner": "\t"}, "a name cannot be empty"), ({"name": " "}, "empty")]
)
def test_a_bad_owner_or_name_is_refused_before_anything(tmp_path, made, options, message):
    with pytest.raises(ValueError, match=message):
        launch(RunStore(tmp_path / "runs"), NETWORK, **options)
    assert not (tmp_path / "runs").exists() and made == {"local": [], "ray": []}


def test_the_cluster_comes_from_the_environment_unless_one_is_given(tmp_path, made, monkeypatch):
    store = RunStore(tmp_path)
    launch(store, NETWORK, parallel=3)
    assert made["local"][-1].options == {"parallel": 3} and not made["ray"]
    monkeypatch.setenv(CLUSTER_ENV, "10.0.0.1:6379")
    run = launch(store, NETWORK, parallel=3, force=True).run
    [ray] = made["ray"]
    assert ray.made_with == ("10.0.0.1:6379",) and ray.launched == [(run, False)]
    launch(store, NETWORK, cluster="10.0.0.2:6379", force=True)
    assert made["ray"][-1].made_with == ("10.0.0.2:6379",) and len(made["local"]) == 1


def test_an_unreachable_cluster_leaves_no_run_behind(tmp_path, made, monkeypatch):
    def unreachable(store, cluster):
        raise ValueError(f"cannot reach the Ray cluster at {cluster}")

    monkeypatch.setattr(mnist_lab.launch, "RayExecutor", unreachable)
    with pytest.raises(ValueError, match="cannot reach"):
        launch(RunStore(tmp_path / "runs"), NETWORK, cluster="127.0.0.1:1")
    assert not (tmp_path / "runs").exists()


def test_a_batch_shares_one_executor_and_each_run_is_prepared_before_it_queues(tmp_path, made):
    store = RunStore(tmp_path)
    executor = Recording(store)
    runs = [
        launch(
            store,
            NETWORK,
            owner="Ada",
            force=True,
            executor=executor,
            prepare=lambda run, step=step: run.write_json(TAG_FILE, {"step": step}),
        ).run
        for step in ("a", "b")
    ]
    assert executor.launched == [(runs[0], True), (runs[1], True)]
    assert [read_json(run.file(TAG_FILE))["step"] for run in runs] == ["a", "b"]
    assert made == {"local": [], "ray": []}


def test_a_local_launch_waits_in_the_fair_queue(tmp_path, monkeypatch):
    monkeypatch.delenv(CLUSTER_ENV, raising=False)
    # The dispatcher would train it for real: the queue entry is what is checked here.
    monkeypatch.setattr("mnist_lab.execution.local.ensure_dispatcher", lambda store: None)
    store = RunStore(tmp_path)
    run = launch(store, NETWORK, owner="Ada", parallel=2).run
    assert queue_state(store)[0] == [(run, 2)]


def test_lessons_follow_the_cluster_that_the_lab_is_configured_for(tmp_path, made, monkeypatch):
    monkeypatch.setenv(CLUSTER_ENV, "10.0.0.1:6379")
    lesson = next(iter(LESSONS.values()))
    runs = start_lesson(RunStore(tmp_path), lesson, owner="Ada")
    (executor,) = made["ray"]
    assert made["local"] == [] and executor.made_with == ("10.0.0.1:6379",)
    assert [run for run, _ in executor.launched] == runs
    assert [lesson_tag(run)["step"] for run in runs] == [step.step for step in lesson.runs]
    assert {run.owner for run in runs} == {"Ada"}


def test_the_one_click_model_follows_the_cluster_too(tmp_path, made, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv(CLUSTER_ENV, "10.0.0.1:6379")
    app = AppTest.from_file(str(HOME), default_timeout=60)
    app.session_state["identity_name"] = "Ada"
    app.run()
    app.switch_page("../pages/playground.py").run()
    app.button(key="playground_quick_run_button").click().run()
    assert not app.exception
    (executor,) = made["ray"]
    ((run, _),) = executor.launched
    assert made["local"] == [] and run.config()["preset"] == "fast-cnn"
    assert run.owner == "Ada"


@pytest.mark.parametrize(
    "name", ["x" * 81, "tab\there", "bell\x07", "escape\x1b[31m", "line\nbreak"]
)
def test_an_invalid_name_on_the_command_line_leaves_no_run_directory(
    tmp_path, monkeypatch, capsys, name
):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path / "runs"))
    code = main(["train", "--engine", "numpy", "--subset", "500", "--epochs", "1", "--name", name])
    error = capsys.readouterr().err
    assert code == 2 and error.startswith("error: a run name") and error.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_a_run_store_refuses_a_bad_name_before_making_the_directory(tmp_path):
    store = RunStore(tmp_path / "runs")
    with pytest.raises(ValueError, match="at most 80 characters"):
        store.create(NETWORK, name="x" * 81)
    assert not store.root.exists()


def test_cli_train_draws_a_fresh_seed_unless_given(tmp_path):
    def request(*flags):
        return launch_request(build_parser().parse_args(["train", "--engine", "numpy", *flags]))

    first, second = request(), request()
    assert first.fresh_seed and second.fresh_seed
    assert first.settings.seed != second.settings.seed
    fixed = request("--seed", "7")
    assert not fixed.fresh_seed and fixed.settings.seed == 7
    config = tmp_path / "config.json"
    config.write_text('{"engine": "numpy", "seed": 3}')
    assert request("--config", str(config)).settings.seed == 3, "a config's seed is kept"
    baseline = launch_request(build_parser().parse_args(["baseline"]))
    assert not baseline.fresh_seed and baseline.settings.seed == 0, "a baseline is shared"
