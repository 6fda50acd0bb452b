"""Damaged run directories, made for real: each reads as damaged with its reason, on every page
and in the CLI, while the other runs keep working."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.cli.main import main
from mnist_lab.engines.keras_common import load_model_file
from mnist_lab.engines.numpy_net.network import WEIGHTS_FILE
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.evaluation import EVALUATION_FILE, PREDICTIONS_FILE
from mnist_lab.execution.worker import run_worker
from mnist_lab.files import DamagedRunError
from mnist_lab.records import METRICS_FILE
from mnist_lab.runs import CONFIG_FILE, RunStore
from mnist_lab.status import STATUS_FILE

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"
PAGES = ("home.py", "train.py", "evaluate.py", "compare.py", "inside.py", "playground.py")


def write_predictions(path: Path, y_true, probabilities) -> None:
    np.savez(path, y_true=np.asarray(y_true), probabilities=np.asarray(probabilities))


def damage(run, kind: str) -> None:
    """Break one file of ``run`` the way a crash, a disk or a person might."""
    evaluation = json.loads(run.file(EVALUATION_FILE).read_text())
    if kind == "accuracy-text":
        evaluation["test_accuracy"] = "abc"
    elif kind == "empty-evaluation":
        evaluation = {}
    elif kind == "ragged-confusion":
        evaluation["confusion_matrix"] = [[1, 2], [3]]
    if kind in ("accuracy-text", "empty-evaluation", "ragged-confusion"):
        run.file(EVALUATION_FILE).write_text(json.dumps(evaluation))
    elif kind == "labels-out-of-range":
        with np.load(run.file(PREDICTIONS_FILE)) as archive:
            probabilities = archive["probabilities"]
        write_predictions(
            run.file(PREDICTIONS_FILE), np.full(len(probabilities), 42), probabilities
        )
    elif kind == "five-predictions":
        write_predictions(run.file(PREDICTIONS_FILE), np.zeros(5), np.full((5, 10), 0.1))
    elif kind == "metrics-bytes":
        with open(run.file(METRICS_FILE), "ab") as handle:
            handle.write(b'{"kind": "epoch", "loss": \xff\xfe}\n\xff\n')
    elif kind == "weights-garbage":
        run.file(WEIGHTS_FILE).write_bytes(b"not an npz at all")
    elif kind == "normalizer-contents":
        run.file("normalizer.json").write_text('{"name": "scale", "mean": "x"}')
    elif kind == "progress-text":
        status = json.loads(run.file(STATUS_FILE).read_text())
        run.file(STATUS_FILE).write_text(json.dumps(dict(status, progress="half")))
    elif kind == "dataset-text":
        config = json.loads(run.file(CONFIG_FILE).read_text())
        run.file(CONFIG_FILE).write_text(json.dumps(dict(config, dataset="MNIST")))
    elif kind == "weights-shapes":
        weights = dict(np.load(run.file(WEIGHTS_FILE)))
        weights["W2"] = weights["W2"][:5]
        np.savez(run.file(WEIGHTS_FILE), **weights)
    elif kind == "records-missing-fields":
        with open(run.file(METRICS_FILE), "a") as handle:
            for record in RECORDS_MISSING_FIELDS:
                handle.write(json.dumps(record) + "\n")


KINDS = (
    "accuracy-text",
    "empty-evaluation",
    "ragged-confusion",
    "labels-out-of-range",
    "five-predictions",
    "metrics-bytes",
    "weights-garbage",
    "normalizer-contents",
    "progress-text",
    "dataset-text",
    "weights-shapes",
    "records-missing-fields",
)
# Records of each kind with a field the pages use left out or of the wrong type.
RECORDS_MISSING_FIELDS = (
    {"kind": "gradients", "epoch": 2, "layers": [{"name": "hidden", "grad_norm": 1.0}]},
    {"kind": "gradients", "epoch": 2, "step": 9, "layers": [{"name": "hidden"}]},
    {"kind": "gradients", "epoch": 2, "step": 9},
    {"kind": "histograms", "epoch": 2, "layers": [{"name": "hidden", "weights": {"counts": [1]}}]},
    {"kind": "histograms", "layers": []},
    {"kind": "epoch", "loss": 0.5},
    {"kind": "epoch", "epoch": "two", "fraction": None},
    {"kind": "batch", "epoch": 1, "step": 3, "loss": "low"},
    {"kind": "chunk", "chunk": 1},
)
# Kinds whose damage is left out while the rest of the run reads: not named damaged.
READ_AROUND = ("metrics-bytes", "records-missing-fields")


def healthy_run(store: RunStore):
    """A finished tiny NumPy run, named "healthy"."""
    good = store.create(NumpyNetSettings(epochs=1, subset=500).to_dict(), name="healthy")
    assert run_worker(good.path) == "finished"
    return good


def copy_run(store: RunStore, good, name: str):
    """A new run holding every file of ``good`` but its own config (named ``name``)."""
    copy = store.create(good.config(), name=name)
    shutil.copytree(
        good.path, copy.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns(CONFIG_FILE)
    )
    return copy


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """One healthy NumPy run, one damaged copy of it per kind, and a symlinked run."""
    root = tmp_path_factory.mktemp("runs")
    store = RunStore(root)
    good = healthy_run(store)
    for kind in KINDS:
        damage(copy_run(store, good, f"damaged {kind}"), kind)
    outside = tmp_path_factory.mktemp("elsewhere") / "target"
    shutil.copytree(good.path, outside)
    (root / "20990101-000000-000-linked-0000").symlink_to(outside, target_is_directory=True)
    return root


def damaged_run(root: Path, kind: str):
    """The copy damaged in ``kind`` (found by its config's text: a damaged config has no name)."""
    return next(
        run
        for run in RunStore(root).list()
        if f'"name": "damaged {kind}"' in run.file(CONFIG_FILE).read_text()
    )


def open_page(page: str, root: Path, monkeypatch, run_id: str | None = None) -> AppTest:
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(root))
    app = AppTest.from_file(str(HOME), default_timeout=90)
    if run_id:
        app.query_params["run"] = run_id
    app.run()
    app.switch_page(f"../pages/{page}").run()
    return app


def shown_text(app: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "subheader"):
        parts += [str(element.value) for element in app.get(kind)]
    for kind in ("selectbox", "multiselect"):
        for box in app.get(kind):
            parts += [str(option) for option in box.options]
    return "\n".join(parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_beside_damaged_runs(page, runs_dir, monkeypatch):
    app = open_page(page, runs_dir, monkeypatch)
    assert not app.exception, app.exception


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("page", ("evaluate.py", "inside.py", "train.py"))
def test_a_damaged_run_opened_directly_says_why(kind, page, runs_dir, monkeypatch):
    run = damaged_run(runs_dir, kind)
    if page == "train.py":
        monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(runs_dir))
    app = open_page(page, runs_dir, monkeypatch, run.id)
    if page == "train.py":
        app.selectbox(key="train_watch").set_value(run.id).run()
    assert not app.exception, app.exception
    if kind not in READ_AROUND:
        assert "damaged" in shown_text(app).lower(), f"{kind} on {page} is not named damaged"


def test_the_cli_lists_every_run_and_names_the_damaged_ones(runs_dir, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(runs_dir))
    assert main(["runs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 1 + len(KINDS) + 1, "one line per run, none stops the list"
    ids = {run.name: run.id for run in RunStore(runs_dir).list()}
    for kind in ("accuracy-text", "empty-evaluation", "ragged-confusion", "progress-text"):
        (line,) = [line for line in lines if line.startswith(damaged_run(runs_dir, kind).id)]
        assert " damaged " in line and "(" in line, line
    (healthy,) = [line for line in lines if line.startswith(ids["healthy"])]
    assert " finished " in healthy and " 0." in healthy


def test_deleting_a_symlinked_run_removes_the_link_only(runs_dir):
    store = RunStore(runs_dir)
    linked = store.get("20990101-000000-000-linked-0000")
    assert linked.status()["state"] == "damaged"
    target = linked.path.resolve()
    store.delete(linked.id)
    assert not linked.path.exists() and target.is_dir()


def test_export_of_a_run_whose_dataset_is_text_says_why_in_one_line(runs_dir, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(runs_dir))
    assert main(["export", damaged_run(runs_dir, "dataset-text").id]) == 2
    err = capsys.readouterr().err
    assert "config.json: dataset is not" in err and len(err.splitlines()) == 1


def test_a_fifo_or_a_device_as_a_keras_model_reads_as_damaged_without_hanging(tmp_path):
    fifo = tmp_path / "model.keras"
    os.mkfifo(fifo)
    with pytest.raises(DamagedRunError, match="not a regular file"):
        load_model_file(fifo)
    device = tmp_path / "device.keras"
    device.symlink_to("/dev/zero")
    with pytest.raises(DamagedRunError):
        load_model_file(device)
