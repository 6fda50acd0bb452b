"""``python -m mnist_lab assignment ...`` and ``train --owner``, through the real command."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from mnist_lab.cli.main import build_parser, main
from mnist_lab.cli.train import launch_request
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]
# 1,000 standardized digits in one epoch reach about 66% with this recipe; the goal is 50%.
RECIPE = {
    "subset": 1000,
    "learning_rate": 0.2,
    "batch_size": 16,
    "normalization": "standardize",
    "seed": 0,
}
TRAIN = ["--engine", "numpy", "--subset", "1000", "--epochs", "1", "--seed", "0"]
TRAIN += ["--lr", "0.2", "--batch-size", "16", "--normalization", "standardize"]


def train(runs_dir, owner, **settings):
    run = RunStore(runs_dir).create(NumpyNetSettings(**RECIPE, **settings).to_dict(), owner=owner)
    assert run_worker(run.path) == "finished"
    return run


def lab(runs_dir, *argv, user=None):
    env = dict(os.environ, MNIST_LAB_RUNS_DIR=str(runs_dir), PYTHONPATH=str(ROOT))
    env.pop("MNIST_LAB_USER", None)
    if user is not None:
        env["MNIST_LAB_USER"] = user
    return subprocess.run(
        [sys.executable, "-m", "mnist_lab", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=runs_dir,
    )


def test_a_teacher_creates_an_assignment_and_reads_the_gradebook_as_csv(
    tmp_path, monkeypatch, capsys
):
    created = lab(
        tmp_path,
        "assignment",
        "create",
        "--title",
        "At least 50% with at most 20,000 parameters in at most 3 epochs",
        "--min-accuracy",
        "0.5",
        "--max-params",
        "20000",
        "--max-epochs",
        "3",
        "--deadline",
        "2099-01-15T18:00Z",
    )
    assert created.returncode == 0, created.stderr
    assignment_id = created.stdout.splitlines()[-1]
    assert assignment_id.startswith("asg-")
    assert "Constraint: parameters at most 20,000" in created.stdout

    trained = lab(tmp_path, "train", *TRAIN, "--owner", "ada", user="somebody")
    assert trained.returncode == 0, trained.stderr
    (passing,) = RunStore(tmp_path).list()
    assert passing.owner == "ada"
    too_large = train(tmp_path, "bob", hidden_units=40, epochs=1)
    too_long = train(tmp_path, "cy", hidden_units=20, epochs=4)

    results = lab(tmp_path, "assignment", "results", assignment_id, "--csv")
    assert results.returncode == 0, results.stderr
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO(results.stdout))}
    assert {"student", "run", "passed", "broken"} <= set(next(iter(rows.values())))
    assert rows.keys() == {"ada", "bob", "cy"}
    assert rows["ada"]["passed"] == "true" and rows["ada"]["broken"] == ""
    assert rows["bob"]["passed"] == "false"
    assert rows["bob"]["broken"] == "the saved model has 31,810 parameters: at most 20,000 allowed"
    assert rows["cy"]["broken"] == "epochs is 4: at most 3 allowed"
    assert rows["ada"]["run"] == passing.id and rows["ada"]["hidden_accuracy"]
    assert rows["bob"]["run"] == too_large.id and rows["cy"]["run"] == too_long.id

    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    assert main(["assignment", "list"]) == 0
    assert assignment_id in capsys.readouterr().out
    assert main(["assignment", "close", assignment_id]) == 0
    assert "frozen (3 graded runs)" in capsys.readouterr().out


def test_train_records_the_student_of_owner_else_of_the_environment(monkeypatch):
    def owner(*flags):
        return launch_request(build_parser().parse_args(["train", *TRAIN, *flags])).owner

    monkeypatch.delenv("MNIST_LAB_USER", raising=False)
    assert owner() is None
    monkeypatch.setenv("MNIST_LAB_USER", "ada")
    assert owner() == "ada" and owner("--owner", "bob") == "bob"


def test_bad_input_is_one_line_on_stderr(capsys):
    for argv, message in (
        (["create", "--title", "x", "--min-accuracy", "1.5"], "accuracy must be a number"),
        (["create", "--title", "x"], "give the goal"),
        (["create", "--title", "x", "--min-accuracy", ".9", "--deadline", "soon"], "ISO 8601"),
        (["create", "--title", "x", "--min-accuracy", ".9", "--require", "colour=red"], "colour"),
        (["show", "asg-missing"], "no assignment 'asg-missing'"),
        (["results", "../etc"], "invalid run id"),
    ):
        assert main(["assignment", *argv]) == 2, argv
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and message in error, error
