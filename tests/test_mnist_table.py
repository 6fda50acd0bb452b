"""The MNIST table: its rows, matching finished runs to them, queueing, and ``table`` in the CLI."""

import numpy as np
import pytest

from mnist_lab import mnist_table
from mnist_lab.cli.main import main
from mnist_lab.evaluation import write_evaluation
from mnist_lab.execution.local import LocalExecutor
from mnist_lab.execution.worker import run_worker
from mnist_lab.runs import MAX_NAME_LENGTH, RunStore

SUBSET = 1000


def train_row(store: RunStore, key: str, subset: int = SUBSET, **changes):
    """Train the recipe of row ``key`` on ``subset`` digits in this process; the run."""
    run = store.create({**mnist_table.ROW[key].config(subset), **changes}, name=f"tiny {key}")
    assert run_worker(run.path) == "finished"
    return run


def finish_fake(store: RunStore, config: dict, accuracy: float, seconds: float = 10.0):
    """A finished run of ``config`` with exactly ``accuracy`` on 1,000 digits, in ``seconds``."""
    run = store.create(config, name="fake")
    labels = np.arange(1000) % 10
    wrong = np.arange(1000) < round((1 - accuracy) * 1000)
    write_evaluation(run, labels, np.eye(10)[np.where(wrong, (labels + 1) % 10, labels)], None)
    run.update_status(state="running", started="2026-01-01T10:00:00+00:00")
    run.update_status(state="finished", ended=f"2026-01-01T10:00:{seconds:02.0f}+00:00")
    return run


@pytest.fixture(scope="module")
def knn_store(tmp_path_factory):
    """One real k-NN run of the row ``knn-l2`` on 1,000 digits (a second or two)."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    train_row(store, "knn-l2")
    return store


def test_every_row_is_a_valid_recipe_or_says_why_not():
    assert len({row.key for row in mnist_table.ROWS}) == len(mnist_table.ROWS)
    for row in mnist_table.ROWS:
        assert 0 < row.published_error < 0.2 and row.source and row.preprocessing
        name = mnist_table.RUN_NAME.format(title=row.title)
        assert len(name) <= MAX_NAME_LENGTH, name
        if row.recipe is None:
            assert row.config() is None and row.note.startswith("Not reproduced")
        else:
            assert row.config(2000)["subset"] == 2000
    assert mnist_table.ROW["lenet-5"].config()["epochs"] == 8, "the preset's recipe filled in"
    assert mnist_table.ROW["lenet-5"].published_error == 0.0095


def test_a_finished_run_fills_its_row_only(knn_store):
    entries = {entry.row.key: entry for entry in mnist_table.table(knn_store, subset=SUBSET)}
    filled = {key for key, entry in entries.items() if entry.best is not None}
    assert filled == {"knn-l2"}, "the uniform-vote k-NN row is another recipe"
    best = entries["knn-l2"].best
    evaluation = best.run.evaluation()
    assert best.test_error == pytest.approx(1 - evaluation["test_accuracy"])
    assert 0 < best.predict_s_per_1000 == pytest.approx(evaluation["predict_seconds"] / 10)
    assert best.model_bytes > 0 and best.training_s is not None and best.parameters is None
    cells = mnist_table.entry_cells(entries["knn-l2"])
    assert cells["run"] == "tiny knn-l2" and cells["lab"].endswith("%")
    assert all(entry.best is None for entry in mnist_table.table(knn_store))


def test_the_best_of_several_seeds_is_shown_and_counted(tmp_path):
    store = RunStore(tmp_path)
    config = mnist_table.ROW["svm"].config(SUBSET)
    finish_fake(store, config, 0.90)
    best = finish_fake(store, {**config, "seed": 3}, 0.95, seconds=30)
    finish_fake(store, {**config, "C": 1.0}, 0.99)
    entry = next(e for e in mnist_table.table(store, SUBSET) if e.row.key == "svm")
    assert (entry.best.run, entry.finished) == (best, 2)
    assert entry.best.test_error == pytest.approx(0.05)
    assert entry.best.training_s == 30.0 and entry.best.predict_s_per_1000 is None
    assert mnist_table.entry_cells(entry)["run"] == "fake (best of 2)"


def test_a_damaged_run_is_skipped(tmp_path):
    store = RunStore(tmp_path)
    finish_fake(store, mnist_table.ROW["svm"].config(SUBSET), 0.9)
    broken = finish_fake(store, mnist_table.ROW["linear"].config(SUBSET), 0.9)
    broken.file("config.json").write_text("{not json")
    entries = {e.row.key: e for e in mnist_table.table(store, SUBSET)}
    assert entries["svm"].best is not None and entries["linear"].best is None


def test_queueing_launches_the_rows_recipe(tmp_path, monkeypatch):
    launched = []
    monkeypatch.setattr(LocalExecutor, "launch", lambda executor, run: launched.append(run) or 0)
    store = RunStore(tmp_path)
    run = mnist_table.queue_row(store, mnist_table.ROW["mlp-300"], subset=500, owner="Ada").run
    assert launched == [run] and run.owner == "Ada"
    assert mnist_table.matches(mnist_table.ROW["mlp-300"].config(500), run.config())
    entry = next(e for e in mnist_table.table(store, 500) if e.row.key == "mlp-300")
    assert entry.live == run and entry.best is None
    with pytest.raises(ValueError, match="no recipe"):
        mnist_table.queue_row(store, mnist_table.ROW["pca-quadratic"])
    # Every other reproducible row is queued once; the live one is not queued again.
    again = mnist_table.queue_missing(store, subset=500)
    reproducible = [row for row in mnist_table.ROWS if row.recipe is not None]
    assert len(again) == len(reproducible) - 1


def test_cli_prints_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    assert main(["table"]) == 0
    out = capsys.readouterr().out
    assert "LeNet-5" in out and "0.95%" in out and "LeCun et al. 1998" in out
    assert "not reproduced" in out


def test_cli_run_trains_the_missing_rows_and_prints_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    store = RunStore(tmp_path)
    for row in mnist_table.ROWS:
        if row.recipe is not None and row.key != "knn-l2-lecun":
            finish_fake(store, row.config(SUBSET), 0.9)
    # The executor trains at once in this process, as the worker would.
    monkeypatch.setattr(LocalExecutor, "launch", lambda executor, run: run_worker(run.path))
    assert main(["table", "--run", "--subset", str(SUBSET), "--poll", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "Queued 1 row(s); waiting for 1 run(s)." in out
    assert "MNIST table: k-NN, Euclidean (L2) (LeCun et al. 1998): finished" in out
    entry = next(e for e in mnist_table.table(store, SUBSET) if e.row.key == "knn-l2-lecun")
    assert entry.best is not None
    assert mnist_table.format_error(entry.best.test_error) in out


def test_cli_refuses_a_bad_subset_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    assert main(["table", "--run", "--subset", "5"]) == 2
    assert capsys.readouterr().err.startswith("error: subset")
