"""Every field of status.json and config.json damaged in every way, and special files in place of
each run file: the one reader of each format refuses it by name, and the CLI and the pages that
list runs show the run damaged and keep working."""

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab import status
from mnist_lab.cli.main import main
from mnist_lab.engines import engine_of
from mnist_lab.engines.numpy_net.network import WEIGHTS_FILE
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.evaluation import EVALUATION_FILE, PREDICTIONS_FILE, load_predictions
from mnist_lab.files import DamagedRunError
from mnist_lab.preprocess import NORMALIZER_FILE, load_normalizer
from mnist_lab.records import METRICS_FILE
from mnist_lab.runs import CONFIG_FILE, RunStore
from mnist_lab.status import STATUS_FILE
from tests.test_damaged_runs import copy_run, healthy_run

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"

# Raw JSON written in place of a field's value; None removes the field.
WAYS = {
    "missing": None,
    "text": '"12"',
    "number": "5",
    "fraction": "1.5",
    "negative": "-1",
    "flag": "true",
    "list": "[1, 2]",
    "object": '{"a": 1}',
    "5000-digits": "9" * 5000,
    "nan": "NaN",
    "infinity": "Infinity",
    "nested": "[" * 40 + "]" * 40,
    "naive-time": '"2026-01-02T03:04:05"',
}
TEXT = ("number", "list", "object", "nested", "5000-digits", "nan", "flag")
NUMBER = ("text", "list", "object", "nested", "5000-digits", "nan", "infinity", "flag")
TIME = ("naive-time", "text", "number", "list", "5000-digits")
STATUS_DAMAGE = {
    "state": ("missing", "text", "number", "list", "nested", "5000-digits"),
    **dict.fromkeys(("message", "position", "hint", "node", "pid_start"), TEXT),
    **dict.fromkeys(status.NUMERIC_FIELDS, NUMBER),
    "pid": ("text", "fraction", "negative", "list", "5000-digits", "nan", "flag"),
    **dict.fromkeys(status.TIME_FIELDS, TIME),
}
CONFIG_DAMAGE = {
    "engine": ("missing", "number", "list", "nested", "5000-digits"),
    **dict.fromkeys(("label", "name", "owner"), TEXT),
    "created": TIME,
    "dataset": ("text", "number", "list", "object", "nested", "5000-digits"),
    "versions": ("text", "list", "object", "nested"),
    "sweep": ("text", "list", "object", "nested"),
    "epochs": (*NUMBER, "fraction", "negative"),
    "learning_rate": NUMBER,
    **dict.fromkeys(("seed", "subset"), (*NUMBER, "fraction")),
    "hidden_units": (*NUMBER, "negative"),
    "normalization": TEXT,
    "val_split": NUMBER,
}
CASES = [
    (file, field, way)
    for file, damage in ((STATUS_FILE, STATUS_DAMAGE), (CONFIG_FILE, CONFIG_DAMAGE))
    for field, ways in damage.items()
    for way in ways
]
# Every file a NumPy run's readers open, replaced by something that blocks or never ends.
RUN_FILES = (
    CONFIG_FILE,
    STATUS_FILE,
    METRICS_FILE,
    EVALUATION_FILE,
    PREDICTIONS_FILE,
    WEIGHTS_FILE,
    NORMALIZER_FILE,
)
SPECIALS = ("fifo", "dev-zero")


def with_field(text: str, field: str, way: str) -> str:
    """JSON ``text`` with ``field`` set to the raw JSON of ``way`` (or removed)."""
    data = json.loads(text)
    if WAYS[way] is None:
        data.pop(field, None)
        return json.dumps(data)
    data[field] = "@@raw@@"
    return json.dumps(data).replace('"@@raw@@"', WAYS[way])


def make_special(path: Path, kind: str) -> None:
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """One healthy NumPy run and, beside it, one copy per damaged field and per special file."""
    root = tmp_path_factory.mktemp("runs")
    store = RunStore(root)
    good = healthy_run(store)
    # A finished run's status lacks some fields; damaging one must still be noticed.
    good.update_status(position="done", node="here", expected_training_s=3.0)
    copies = [f"{file} {field} {way}" for file, field, way in CASES]
    copies += [f"{name} {kind}" for name in RUN_FILES for kind in SPECIALS]
    for label in copies:
        copy = copy_run(store, good, label)
        file, what, *way = label.split(" ")
        if way:
            copy.file(file).write_text(with_field(copy.file(file).read_text(), what, way[0]))
        else:
            make_special(copy.file(file), what)
    return root


def reader_of(run, file: str):
    return {CONFIG_FILE: run.config, STATUS_FILE: lambda: status.check(run.raw_status())}[file]


@pytest.mark.parametrize(("file", "field", "way"), CASES)
def test_the_reader_refuses_a_damaged_field_by_name(file, field, way, tmp_path):
    store = RunStore(tmp_path)
    run = store.create(NumpyNetSettings(epochs=1, subset=500).to_dict(), name="one", owner="Ada")
    run.update_status(state="finished", pid=1, started="2026-01-02T03:04:05+00:00")
    run.file(file).write_text(with_field(run.file(file).read_text(), field, way))
    with pytest.raises(DamagedRunError) as raised:
        reader_of(run, file)()
    assert file in str(raised.value) and (field in str(raised.value) or way == "missing")
    assert run.status()["state"] == "damaged"
    assert store.list() == [run]


def test_the_runs_command_lists_every_run_and_names_each_damaged_one(runs_dir, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(runs_dir))
    assert main(["runs"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    runs = RunStore(runs_dir).list()
    assert len(lines) == len(runs) == 1 + len(CASES) + len(RUN_FILES) * len(SPECIALS)
    damaged = [line for line in lines if " damaged " in line]
    assert len(damaged) == len(runs) - 1, [line for line in lines if " damaged " not in line]


def read_everything(run) -> None:
    """Every reader of a NumPy run's files, as the pages call them; damage is an answer."""
    for read in (
        run.status,
        run.metrics,
        run.evaluation,
        lambda: load_predictions(run),
        lambda: load_normalizer(run),
        lambda: engine_of(run).predict_proba(run, np.zeros((1, 28, 28), np.uint8)),
    ):
        try:
            read()
        except (DamagedRunError, FileNotFoundError):
            pass


@pytest.mark.parametrize("kind", SPECIALS)
@pytest.mark.parametrize("name", RUN_FILES)
def test_a_special_file_reads_as_damaged_without_blocking(name, kind, tmp_path):
    store = RunStore(tmp_path)
    run = store.create(NumpyNetSettings(epochs=1, subset=500).to_dict(), name="special")
    make_special(run.file(name), kind)
    errors = []
    reader = threading.Thread(target=lambda: errors.append(read_everything(run)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), f"reading a run whose {name} is a {kind} blocked"
    assert errors == [None]
    assert run.status()["state"] == "damaged" and name in run.status()["error"]


@pytest.mark.parametrize(
    "page", ("home.py", "compare.py", "classroom.py", "evaluate.py", "train.py")
)
def test_pages_that_list_runs_open_beside_every_damaged_run(page, runs_dir, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(runs_dir))
    app = AppTest.from_file(str(HOME), default_timeout=120)
    app.run()
    app.switch_page(f"../pages/{page}").run()
    assert not app.exception, app.exception
