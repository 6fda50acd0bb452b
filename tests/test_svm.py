"""The kernel SVM engine: settings, a real small fit through the worker, stop, damage, pages,
CLI and the exported script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.cli.main import build_parser, main
from mnist_lab.cli.train import launch_request
from mnist_lab.engines import get_engine
from mnist_lab.engines.svm import fit
from mnist_lab.engines.svm.model import MODEL_FILE, KernelSvm, softmax
from mnist_lab.engines.svm.settings import SvmSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.files import DamagedRunError
from mnist_lab.records import METRICS_FILE
from mnist_lab.runs import RunStore
from tests.exported import run_exported_script

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"
SMALL = {"subset": 1500, "pca_dims": 30, "seed": 3}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small finished SVM run, shared by the module's tests."""
    store = RunStore(tmp_path_factory.mktemp("svm-runs"))
    run = store.create(SvmSettings(**SMALL).to_dict(), name="small svm")
    assert run_worker(run.path) == "finished", run.status()
    return run


def test_settings_round_trip_and_refusals():
    settings = SvmSettings(C=3.0, gamma=0.05, pca_dims=None, subset=2000, seed=7)
    assert SvmSettings.from_dict(settings.to_dict()) == settings
    assert settings.label == "svm-C3-g0.05-pixels"
    for bad in ({"C": 0.0}, {"gamma": -1.0}, {"pca_dims": 1}, {"pca_dims": 785}, {"C": "10"}):
        with pytest.raises(ValueError):
            SvmSettings(**bad).validate()
    with pytest.raises(ValueError, match="cannot exceed the training subset"):
        SvmSettings(pca_dims=200, subset=150).validate()
    speed = {name for name, d in SvmSettings.declared().items() if d.decides_speed}
    assert speed == {"C", "gamma", "pca_dims"}


def test_a_small_fit_through_the_worker_is_accurate_and_reported_per_pair(trained):
    engine = get_engine("svm")
    assert trained.evaluation()["test_accuracy"] > 0.9
    chunks = [
        line for line in trained.file(METRICS_FILE).read_text().splitlines() if "chunk" in line
    ]
    assert len(chunks) == 45
    assert trained.status()["progress"] == 1.0
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    probabilities = engine.predict_proba(trained, images)
    assert probabilities.shape == (7, 10) and np.allclose(probabilities.sum(axis=1), 1.0)
    assert engine.first_layer_weights(trained).shape == (30, 28, 28)


def test_the_input_gradient_matches_finite_differences(trained, mnist):
    engine = get_engine("svm")
    images = mnist.x_test[:3].astype(np.float64)
    gradient, _ = engine.input_gradient(trained, images, 5, score="log_probability")
    row, col, step = 14, 12, 0.5
    moved = images.copy()
    moved[:, row, col] += step
    before = np.log(engine.predict_proba(trained, images)[:, 5])
    after = np.log(engine.predict_proba(trained, moved)[:, 5])
    assert np.allclose((after - before) / step, gradient[:, row, col], rtol=1e-2, atol=1e-7)


def test_the_smooth_vote_follows_the_pairs_and_gives_absent_classes_nothing():
    # Three classes, one support vector each side; class 2 never seen in training.
    model = KernelSvm(
        mean=np.zeros(2),
        components=np.zeros((0, 2)),
        support_vectors=np.array([[1.0, 0.0], [-1.0, 0.0]]),
        pair_coef=np.array([[1.0], [-1.0]]),
        pair_intercept=np.zeros(1),
        pair_classes=np.array([[0, 1]]),
        gamma=1.0,
        n_classes=3,
    )
    probabilities = model.predict_proba(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    assert probabilities.argmax(axis=1).tolist() == [0, 1]
    assert probabilities[:, 2].max() < 1e-20
    assert np.allclose(softmax(np.array([[0.0, np.log(3.0)]])), [[0.25, 0.75]])


def test_a_stop_request_ends_the_fit_between_pairs(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    run = store.create(SvmSettings(subset=500, pca_dims=20).to_dict())
    fit_one_pair = fit.fit_pair

    def fit_and_ask_to_stop(*args, **kwargs):
        run.request_stop()
        return fit_one_pair(*args, **kwargs)

    monkeypatch.setattr(fit, "fit_pair", fit_and_ask_to_stop)
    assert run_worker(run.path) == "stopped"
    assert "after 1 of 45 pairs" in run.status()["message"]
    assert not get_engine("svm").has_model(run)


def test_a_damaged_model_file_reads_as_damaged(trained, tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    copy = store.create(trained.config(), name="damaged svm")
    for name in os.listdir(trained.path):
        if name != "config.json" and (trained.path / name).is_file():
            (copy.path / name).write_bytes((trained.path / name).read_bytes())
    copy.file(MODEL_FILE).write_bytes(b"not an npz at all")
    with pytest.raises(DamagedRunError):
        get_engine("svm").predict_proba(copy, np.zeros((1, 28, 28), np.uint8))
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    app = AppTest.from_file(str(HOME), default_timeout=90)
    app.query_params["run"] = copy.id
    app.run()
    app.switch_page("../pages/evaluate.py").run()
    assert not app.exception, app.exception
    shown = "\n".join(str(e.value) for k in ("error", "warning", "info") for e in app.get(k))
    assert "damaged" in shown.lower()


@pytest.mark.parametrize("page", ["evaluate.py", "compare.py", "inside.py", "playground.py"])
def test_the_finished_run_opens_on_every_page(page, trained, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(trained.path.parent))
    app = AppTest.from_file(str(HOME), default_timeout=120)
    app.query_params["run"] = trained.id
    app.run()
    app.switch_page(f"../pages/{page}").run()
    assert not app.exception, app.exception


def test_the_cli_flags_train_it(tmp_path, monkeypatch, capsys):
    flags = ["--engine", "svm", "--C", "5", "--gamma", "0.05", "--pca-dims", "20"]
    settings = launch_request(build_parser().parse_args(["train", *flags])).settings
    assert (settings.C, settings.gamma, settings.pca_dims) == (5.0, 0.05, 20)
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    assert main(["train", *flags, "--subset", "400"]) == 0
    assert "Test accuracy: 0." in capsys.readouterr().out


@pytest.mark.slow
def test_the_exported_script_reproduces_the_runs_test_accuracy(trained, tmp_path):
    result = run_exported_script(trained, tmp_path)
    assert abs(result.accuracy - trained.evaluation()["test_accuracy"]) <= 0.002
    script = result.path
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is not None:
        options = ["--isolated", "--line-length", "100", "--no-cache", str(script)]
        lint = [ruff, "check", "--select", "E,F,W,I,B,UP,NPY", *options]
        assert subprocess.run(lint, capture_output=True).returncode == 0
        assert subprocess.run([ruff, "format", "--check", *options]).returncode == 0
