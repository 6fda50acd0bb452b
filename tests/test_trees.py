"""The trees engine: boosted trees or a random forest, grown stage by stage as epochs.

Its trees are saved as a node table and predicted with NumPy: these tests hold those
predictions to scikit-learn's own, and run small real runs through the worker, the pages,
the CLI and the exported script.
"""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from streamlit.testing.v1 import AppTest

from mnist_lab.cli.main import build_parser, main
from mnist_lab.cli.train import launch_request
from mnist_lab.engines import get_engine
from mnist_lab.engines.trees.model import (
    MODEL_ARRAYS,
    MODEL_FILE,
    Trees,
    concatenate,
    load_model,
    tree_table,
)
from mnist_lab.engines.trees.settings import MAX_MODEL_LEAVES, TreesSettings
from mnist_lab.engines.trees.training import (
    StageCurve,
    flat,
    grow_boosting,
    grow_forest,
    prepare_data,
)
from mnist_lab.execution.worker import run_worker
from mnist_lab.export import export_run
from mnist_lab.files import DamagedRunError
from mnist_lab.reporter import TrainingReporter
from mnist_lab.runs import RunStore
from tests.exported import run_exported_script

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"
# Small real runs: a few seconds each on a quiet machine.
BOOSTED = {"subset": 1500, "epochs": 12, "max_leaves": 15, "learning_rate": 0.3, "seed": 1}
FOREST = {
    "method": "forest",
    "subset": 1500,
    "epochs": 12,
    "max_leaves": 255,
    "max_depth": 14,
    "val_split": 0.0,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A boosted run and a forest run, trained once through the worker."""
    store = RunStore(tmp_path_factory.mktemp("trees-runs"))
    trained = {}
    for name, settings in (("boosted", BOOSTED), ("forest", FOREST)):
        run = store.create(TreesSettings(**settings).to_dict(), name=name)
        assert run_worker(run.path) == "finished", run.status()
        trained[name] = run
    return store, trained


# Settings


def test_settings_round_trip_and_name_what_they_grow():
    settings = TreesSettings(method="forest", epochs=50, max_leaves=1023, max_depth=20)
    assert TreesSettings.from_dict(settings.to_dict()) == settings
    assert settings.label == "forest-50x1023" and settings.model_leaves == 50 * 1023
    assert TreesSettings().model_leaves == 100 * 10 * 31
    speed = {name for name, d in TreesSettings.declared().items() if d.decides_speed}
    assert speed == {"method", "max_leaves", "max_depth"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"method": "forest", "learning_rate": 0.3}, "learning_rate applies to method 'boosting'"),
        ({"method": "bagging"}, r"method must be one of \['boosting', 'forest'\]"),
        ({"max_leaves": 1}, r"max_leaves must be a whole number in \[2, 8192\]"),
        ({"max_depth": 0}, r"max_depth must be a whole number in \[1, 64\]"),
        ({"learning_rate": 0.0}, r"learning_rate must be a number in \(0, 1\]"),
        ({"epochs": 1000, "max_leaves": 255}, "make up to 2,550,000 leaves, over the 1,000,000"),
        ({"method": "forest", "epochs": 200, "max_leaves": 8192}, "lower the stages or the"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(values, message):
    with pytest.raises(ValueError, match=message):
        TreesSettings.from_dict(values)


def test_the_largest_model_allowed_fits_the_bound():
    assert TreesSettings(epochs=1000, max_leaves=100).model_leaves == MAX_MODEL_LEAVES
    TreesSettings(epochs=1000, max_leaves=100).validate()


def test_a_forest_form_drops_the_learning_rate_it_ignores():
    chosen = {"method": "forest", "learning_rate": 0.5, "epochs": 40}
    assert TreesSettings.without_unused(chosen) == {**chosen, "learning_rate": 0.15}
    boosted = {"method": "boosting", "learning_rate": 0.5}
    assert TreesSettings.without_unused(boosted) == boosted


def test_the_cli_takes_its_flags():
    args = build_parser().parse_args(
        ["train", "--engine", "trees", "--method", "forest", "--epochs", "30"]
        + ["--max-leaves", "4095", "--max-depth", "25", "--subset", "5000"]
    )
    settings = launch_request(args).settings
    # No --seed: the CLI draws a fresh one for the run.
    assert settings == TreesSettings(
        method="forest", epochs=30, max_leaves=4095, max_depth=25, subset=5000, seed=settings.seed
    )
    args = build_parser().parse_args(["train", "--engine", "trees", "--lr", "0.3"])
    assert launch_request(args).settings.learning_rate == 0.3


def test_the_cli_explains_a_learning_rate_for_a_forest(capsys):
    assert main(["train", "--engine", "trees", "--method", "forest", "--lr", "0.3"]) == 2
    assert "learning_rate applies to method 'boosting' only" in capsys.readouterr().err


# The node table and its NumPy predictions


def stump(pixel: int, threshold: float, low: float, high: float, column: int = 0) -> Trees:
    """A one-split boosted tree, stored with its right leaf first (as scikit-learn may)."""
    return tree_table(
        feature=np.array([pixel, 0, 0]),
        threshold=np.array([threshold, 0.0, 0.0]),
        left=np.array([2, 0, 0]),
        right=np.array([1, 0, 0]),
        is_leaf=np.array([False, True, True]),
        value=np.array([[0.0], [high], [low]]),
        column=column,
    )


def test_a_hand_built_table_routes_each_digit_to_its_leaf():
    trees = concatenate([stump(3, 0.5, -1.0, 1.0), stump(5, 0.5, 10.0, 20.0, column=1)])
    x = np.zeros((3, 784), dtype=np.float32)
    x[1, [3, 5]] = 0.75
    # At the threshold goes left, as in scikit-learn.
    x[2, 5] = 0.5
    assert trees.roots.tolist() == [0, 3] and trees.depth.tolist() == [1, 1]
    assert trees.right.tolist() == [2, 1, 2, 5, 4, 5]
    assert trees.value[trees.leaves(x), 0].tolist() == [[-1.0, 10.0], [1.0, 20.0], [-1.0, 10.0]]
    assert trees.n_trees == 2 and trees.n_leaves == 4


def fitted(method: str, settings: dict, tmp_path, mnist):
    """A fit in memory through the lab's stage loop: the curve and the estimator."""
    config = TreesSettings(method=method, **settings)
    x, y, x_val, y_val, normalizer = prepare_data(config, mnist)
    run = RunStore(tmp_path).create(config.to_dict())
    reporter = TrainingReporter(run, "")
    reporter.begin(config.epochs, steps_per_epoch=1)
    reporter.begin_epoch(1)
    curve = StageCurve(config, reporter, 10, (x, y), (x_val, y_val))
    grow = grow_boosting if method == "boosting" else grow_forest
    return config, curve, grow(config, x, y, curve), x, y, flat(normalizer, mnist.x_test[:1000])


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        ("boosting", {"subset": 800, "epochs": 6, "max_leaves": 15, "learning_rate": 0.3}),
        ("forest", {"subset": 800, "epochs": 6, "max_leaves": 100, "max_depth": 9}),
    ],
)
def test_numpy_predictions_are_scikit_learns_and_a_plain_fit_grows_the_same_trees(
    method, settings, tmp_path, mnist
):
    config, curve, estimator, x, y, x_test = fitted(method, settings, tmp_path, mnist)
    ours = curve.model().predict_proba(x_test)
    np.testing.assert_allclose(ours, estimator.predict_proba(x_test), rtol=0, atol=1e-6)
    # The exported script fits once, without the stage loop: the very same trees.
    if method == "boosting":
        plain = HistGradientBoostingClassifier(
            learning_rate=config.learning_rate,
            max_iter=config.epochs,
            max_leaf_nodes=config.max_leaves,
            early_stopping=False,
            random_state=config.seed,
        )
    else:
        plain = RandomForestClassifier(
            n_estimators=config.epochs,
            max_leaf_nodes=config.max_leaves,
            max_depth=config.max_depth,
            random_state=config.seed,
        )
    np.testing.assert_array_equal(
        plain.fit(x, y).predict_proba(x_test), estimator.predict_proba(x_test)
    )
    # The curve's last point is the finished model's, on the validation digits.
    x_val, y_val = curve.validation
    val_accuracy = np.mean(estimator.predict(x_val) == y_val)
    assert curve.history[-1]["val_accuracy"] == pytest.approx(val_accuracy)
    assert [record["epoch"] for record in curve.history] == list(range(1, config.epochs + 1))


def test_two_classes_take_scikit_learns_single_score(tmp_path, mnist):
    keep = mnist.y_train < 2
    x = mnist.x_train[keep][:600].reshape(600, -1).astype(np.float32) / 255
    y = mnist.y_train[keep][:600].astype(np.int64)
    config = TreesSettings(epochs=4, max_leaves=7)
    run = RunStore(tmp_path).create(config.to_dict())
    reporter = TrainingReporter(run, "")
    reporter.begin(config.epochs, steps_per_epoch=1)
    reporter.begin_epoch(1)
    curve = StageCurve(config, reporter, 10, (x, y), (x[:0], y[:0]))
    estimator = grow_boosting(config, x, y, curve)
    model = curve.model()
    assert model.baseline.shape == (1,) and model.predict_proba(x[:5]).shape == (5, 10)
    np.testing.assert_allclose(
        model.predict_proba(x)[:, :2], estimator.predict_proba(x), rtol=0, atol=1e-9
    )


# Real runs through the worker


def test_a_boosted_run_draws_its_curve_stage_by_stage(runs, mnist):
    _, trained = runs
    run = trained["boosted"]
    epochs = [record for record in run.metrics() if record["kind"] == "epoch"]
    assert [record["epoch"] for record in epochs] == list(range(1, BOOSTED["epochs"] + 1))
    assert all(record["val_accuracy"] is not None for record in epochs)
    assert epochs[-1]["val_accuracy"] > epochs[0]["val_accuracy"]
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    evaluation = run.evaluation()
    assert evaluation["test_accuracy"] > 0.8
    assert "Grew 12 of 12 stages (120 trees, " in run.status()["message"]
    assert run.file("history.csv").read_text().count("\n") == BOOSTED["epochs"] + 1
    engine = get_engine("trees")
    probabilities = engine.predict_proba(run, mnist.x_test[:50], engine.load_model(run))
    assert probabilities.argmax(axis=1).tolist() == evaluation["predictions"][:50]
    assert engine.predict_proba(run, mnist.x_test[0]).shape == (1, 10)


def test_a_forest_run_grows_one_tree_per_stage(runs):
    _, trained = runs
    run = trained["forest"]
    model = load_model(run)
    assert model.method == "forest" and model.trees.n_trees == FOREST["epochs"]
    assert model.trees.depth.max() <= FOREST["max_depth"]
    assert model.trees.n_leaves <= FOREST["epochs"] * FOREST["max_leaves"]
    assert run.evaluation()["test_accuracy"] > 0.75


@pytest.mark.parametrize("settings", [BOOSTED, FOREST], ids=["boosting", "forest"])
def test_a_stop_request_keeps_and_evaluates_the_stages_so_far(settings, tmp_path):
    run = RunStore(tmp_path).create(TreesSettings(**settings).to_dict())
    run.request_stop()
    assert run_worker(run.path) == "stopped"
    assert "Stopped after 1 of 12 stages" in run.status()["message"]
    assert [record["epoch"] for record in run.metrics() if record["kind"] == "epoch"] == [1]
    trees_per_stage = 10 if "method" not in settings else 1
    assert load_model(run).trees.n_trees == trees_per_stage
    assert run.evaluation()["n_test"] == 10_000


# A damaged model file


def rewrite(run, **changes) -> None:
    """Rewrite ``trees.npz`` with some of its arrays changed."""
    with np.load(run.file(MODEL_FILE), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in MODEL_ARRAYS}
    buffer = io.BytesIO()
    np.savez(buffer, **{**arrays, **changes})
    run.file(MODEL_FILE).write_bytes(buffer.getvalue())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda a: {"left": a["left"] + 10**6}, "a node out of range"),
        (lambda a: {"feature": np.full_like(a["feature"], 900)}, "a pixel out of range"),
        (lambda a: {"right": a["left"]}, "children that are not side by side"),
        (lambda a: {"value": a["value"][:-1]}, "arrays of different lengths"),
        (lambda a: {"classes": a["classes"] + 5}, "classes out of range"),
        (lambda a: {"method": np.array("svm")}, "an unknown method"),
        (lambda a: {"depth": np.zeros_like(a["depth"])}, "deeper than its recorded depth"),
    ],
)
def test_inconsistent_trees_read_as_damaged(change, reason, runs, tmp_path, mnist):
    _, trained = runs
    run = RunStore(tmp_path).create(trained["boosted"].config(), name="copy")
    for name in ("trees.npz", "normalizer.json"):
        run.file(name).write_bytes(trained["boosted"].file(name).read_bytes())
    with np.load(run.file(MODEL_FILE), allow_pickle=False) as archive:
        rewrite(run, **change({name: archive[name] for name in MODEL_ARRAYS}))
    with pytest.raises(DamagedRunError, match=re.escape(reason)):
        get_engine("trees").predict_proba(run, mnist.x_test[:3])


def test_a_garbage_model_file_reads_as_damaged_on_evaluate(runs, tmp_path, monkeypatch):
    _, trained = runs
    damaged = RunStore(tmp_path)
    run = damaged.create(trained["boosted"].config(), name="garbage")
    for path in trained["boosted"].path.iterdir():
        if path.name != "config.json":
            run.file(path.name).write_bytes(path.read_bytes())
    run.file(MODEL_FILE).write_bytes(b"not an npz at all")
    with pytest.raises(DamagedRunError, match="trees.npz is unreadable"):
        load_model(run)
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    app = AppTest.from_file(str(HOME), default_timeout=90)
    app.query_params["run"] = run.id
    app.run()
    app.switch_page("../pages/evaluate.py").run()
    assert not app.exception, app.exception
    # The reason is shown as plain text: escaped for markdown.
    warnings = " ".join(str(warning.value) for warning in app.warning).replace("\\", "")
    assert "damaged" in warnings and "trees.npz is unreadable" in warnings


# The pages


@pytest.mark.parametrize("page", ["evaluate.py", "compare.py", "inside.py", "playground.py"])
def test_the_pages_open_its_runs(page, runs, monkeypatch):
    store, trained = runs
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(store.root))
    for run in trained.values():
        app = AppTest.from_file(str(HOME), default_timeout=90)
        app.query_params["run"] = run.id
        app.run()
        app.switch_page(f"../pages/{page}").run()
        assert not app.exception, (page, app.exception)


# The exported script


@pytest.mark.parametrize("name", ["boosted", "forest"])
def test_the_exported_script_regrows_the_run(name, runs, tmp_path):
    _, trained = runs
    run = trained[name]
    script = export_run(run, "script")
    assert "import mnist_lab" not in script and "from mnist_lab" not in script
    result = run_exported_script(run, tmp_path)
    # Boosting bins the pixels by rank: the same trees. The script's "/ 255" and the lab's
    # "* (1 / 255)" differ in the last bit of some pixels, which a forest's splits can feel.
    close = 1e-4 if name == "boosted" else 0.005
    assert result.accuracy == pytest.approx(run.evaluation()["test_accuracy"], abs=close)
    curve = f"stage {run.config()['epochs']}: validation accuracy"
    assert (curve in result.stdout) == bool(run.config()["val_split"])
