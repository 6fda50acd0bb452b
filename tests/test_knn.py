"""The k-nearest-neighbours engine: settings, search, votes, a real run, pages, CLI, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.assignments.heldout import dataset_cut
from mnist_lab.cli.main import build_parser
from mnist_lab.cli.train import launch_request
from mnist_lab.engines import get_engine
from mnist_lab.engines.knn import neighbours
from mnist_lab.engines.knn.neighbours import MODEL_FILE, NeighbourModel, nearest, vote_shares
from mnist_lab.engines.knn.settings import KnnSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.files import DamagedRunError
from mnist_lab.preprocess import Normalizer
from mnist_lab.runs import RunStore
from tests.exported import run_exported_script

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"


def model_of(points, labels, k=2, p=2, weights="uniform") -> NeighbourModel:
    points = np.asarray(points, np.float32)
    return NeighbourModel(
        points=points,
        squared_norms=(points**2).sum(axis=1),
        labels=np.asarray(labels),
        n_classes=3,
        normalizer=Normalizer("raw"),
        mean=np.zeros(points.shape[1], np.float32),
        components=np.zeros((0, points.shape[1]), np.float32),
        k=k,
        p=p,
        weights=weights,
    )


def test_settings_round_trip_and_refusals():
    settings = KnnSettings(k=5, distance="L3", weights="uniform", pca=40, subset=1000)
    assert KnnSettings.from_dict(settings.to_dict()) == settings
    assert settings.label == "knn-k5-L3-pca40" and KnnSettings().label == "knn-k3-L2"
    assert KnnSettings().pca is None and KnnSettings().weights == "distance"
    for bad in ({"k": 0}, {"k": 51}, {"distance": "L4"}, {"weights": "x"}, {"pca": 1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            KnnSettings(**bad).validate()
    speed = {n for n, d in KnnSettings.declared().items() if d.decides_speed}
    assert speed == {"distance", "pca"}


@pytest.mark.parametrize("p", [1, 2, 3])
def test_the_search_finds_the_nearest_by_each_distance(p):
    rng = np.random.default_rng(p)
    points, queries = rng.normal(size=(200, 6)), rng.normal(size=(7, 6))
    model = model_of(points, rng.integers(0, 3, 200), k=4, p=p)
    distances, indices = nearest(model, queries.astype(np.float32))
    truth = (np.abs(queries[:, None] - points[None]) ** p).sum(axis=2) ** (1 / p)
    assert np.array_equal(indices, np.argsort(truth, axis=1)[:, :4])
    assert np.allclose(distances, np.sort(truth, axis=1)[:, :4], rtol=1e-4)


def test_votes_are_shares_weighted_by_inverse_distance_and_an_exact_match_decides():
    model = model_of([[0.0], [1.0], [2.0]], [0, 1, 1], k=3, weights="distance")
    shares = vote_shares(
        model, np.array([[1.0, 2.0, 2.0], [0.0, 1.0, 3.0]]), np.array([[0, 1, 2], [1, 0, 2]])
    )
    assert np.allclose(shares, [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    uniform = model_of([[0.0], [1.0], [2.0]], [0, 1, 1], k=3)
    assert np.allclose(
        vote_shares(uniform, np.ones((1, 3)), np.array([[0, 1, 2]])), [[1 / 3, 2 / 3, 0]]
    )


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """A finished run on 1,000 digits with PCA, a damaged copy, all in one runs directory."""
    root = tmp_path_factory.mktemp("knn-runs")
    store = RunStore(root)
    run = store.create(KnnSettings(subset=1000, pca=30, k=4).to_dict(), name="knn small")
    assert run_worker(run.path) == "finished", run.status()["message"]
    broken = store.create(KnnSettings(subset=1000, k=1).to_dict(), name="knn broken")
    assert run_worker(broken.path) == "finished"
    broken.file(MODEL_FILE).write_bytes(b"not an npz at all")
    return root


def run_named(root, name):
    return next(run for run in RunStore(root).list() if run.name == name)


def test_a_small_run_stores_the_digits_and_predicts_any_images(runs_dir, mnist):
    run = run_named(runs_dir, "knn small")
    engine = get_engine("knn")
    assert run.evaluation()["test_accuracy"] > 0.85
    assert run.metrics()[-1]["kind"] == "chunk" and run.status()["progress"] == 1.0
    probabilities = engine.predict_proba(run, mnist.x_test[:5])
    assert probabilities.shape == (5, 10) and np.allclose(probabilities.sum(axis=1), 1)
    saved = np.load(run.file("predictions.npz"))["probabilities"][:5]
    assert np.allclose(probabilities, saved)
    assert engine.layer_outputs(run, mnist.x_test[0])[0].values.shape == (10,)
    # The digits are stored once as uint8 pixels, however many PCA dimensions.
    assert run.file(MODEL_FILE).stat().st_size < 1_000 * 784


def test_the_live_curve_counts_only_the_digits_an_assignment_leaves_visible(runs_dir, mnist):
    run = run_named(runs_dir, "knn small")
    visible = ~dataset_cut(mnist.sha256, len(mnist.y_test))
    predicted = np.load(run.file("predictions.npz"))["probabilities"].argmax(axis=1)
    on_visible = np.mean(predicted[visible] == mnist.y_test[visible])
    assert run.metrics()[-1]["accuracy"] == pytest.approx(on_visible)
    assert run.metrics()[-1]["accuracy"] != pytest.approx(run.evaluation()["test_accuracy"])


def test_a_damaged_model_file_reads_as_damaged(runs_dir, mnist, monkeypatch):
    broken = run_named(runs_dir, "knn broken")
    with pytest.raises(DamagedRunError):
        get_engine("knn").predict_proba(broken, mnist.x_test[:1])
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(runs_dir))
    app = AppTest.from_file(str(HOME), default_timeout=90)
    app.query_params["run"] = broken.id
    app.run()
    app.switch_page("../pages/evaluate.py").run()
    assert not app.exception, app.exception
    shown = " ".join(str(e.value) for kind in ("warning", "error", "info") for e in app.get(kind))
    assert "damaged" in shown.lower()


@pytest.mark.parametrize("page", ["evaluate.py", "compare.py", "inside.py", "playground.py"])
def test_the_finished_run_opens_on_every_page(page, runs_dir, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(runs_dir))
    app = AppTest.from_file(str(HOME), default_timeout=90)
    app.query_params["run"] = run_named(runs_dir, "knn small").id
    app.run()
    app.switch_page(f"../pages/{page}").run()
    assert not app.exception, app.exception
    if page == "playground.py":
        app.segmented_control(key="playground_source").set_value("test").run()
        app.button(key="playground_random").click().run()
        assert not app.exception, app.exception
        assert app.dataframe[0].value["Model"].str.startswith("knn").any()


def test_the_train_page_offers_its_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    app = AppTest.from_file(str(HOME), default_timeout=60).run()
    app.switch_page("../pages/train.py").run()
    app.segmented_control(key="train_engine").set_value("knn").run()
    assert app.select_slider(key="train_knn_k").value == 3
    app.select_slider(key="train_knn_k").set_value(4)
    app.selectbox(key="train_knn_distance").set_value("L3")
    app.number_input(key="train_knn_pca").set_value(40).run()
    assert not app.exception and not app.error, app.error


def test_a_stop_request_ends_the_predictions_between_batches(tmp_path, monkeypatch):
    # 100 test digits per batch, so the stop comes after the first of 100 batches.
    monkeypatch.setattr(neighbours, "L2_BATCH_FLOATS", 100 * 500)
    run = RunStore(tmp_path).create(KnnSettings(subset=500).to_dict())
    run.update_status(state="running")
    run.request_stop()
    outcome = get_engine("knn").train(run)
    assert outcome.state == "stopped" and "100 of 10,000" in outcome.message
    assert get_engine("knn").has_model(run) and run.evaluation() is None


def test_the_cli_offers_the_settings_as_flags():
    args = build_parser().parse_args(
        ["train", "--engine", "knn", "--k", "3", "--distance", "L3", "--weights", "uniform"]
        + ["--pca", "40"]
    )
    request = launch_request(args)
    assert request.settings == KnnSettings(k=3, distance="L3", weights="uniform", pca=40)
    with pytest.raises(ValueError, match="k must be"):
        launch_request(build_parser().parse_args(["train", "--engine", "knn", "--k", "60"]))


def test_the_exported_script_reproduces_the_runs_accuracy(tmp_path):
    config = KnnSettings(subset=800, pca=20, distance="L3", normalization="standardize", seed=3)
    run = RunStore(tmp_path / "runs").create(config.to_dict())
    assert run_worker(run.path) == "finished"
    printed = run_exported_script(run, tmp_path).accuracy
    assert abs(printed - run.evaluation()["test_accuracy"]) <= 0.005
