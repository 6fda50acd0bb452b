"""``python -m mnist_lab train``: flags, config files, bad input, and a real run end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_lab.cli.main import build_parser, main
from mnist_lab.cli.train import launch_request
from mnist_lab.engines import all_engines
from mnist_lab.launch import draws_fresh_seed

ROOT = Path(__file__).resolve().parents[1]


def parse_train(*flags):
    return launch_request(build_parser().parse_args(["train", *flags])).settings


def test_flags_become_a_train_config():
    config = parse_train(
        "--preset",
        "deep-sigmoid",
        "--optimizer",
        "sgd",
        "--lr",
        "0.1",
        "--momentum",
        "0.9",
        "--nesterov",
        "--batch-size",
        "64",
        "--epochs",
        "3",
        "--normalization",
        "standardize",
        "--seed",
        "7",
    )
    assert (config.preset, config.optimizer, config.learning_rate, config.momentum) == (
        "deep-sigmoid",
        "sgd",
        0.1,
        0.9,
    )
    assert config.nesterov and config.batch_size == 64 and config.seed == 7


def seed_help(command: str) -> str:
    """What ``command --help`` says of ``--seed``, on one line."""
    parser = build_parser()
    subcommand = parser._subparsers._group_actions[0].choices[command]
    action = next(a for a in subcommand._actions if "--seed" in a.option_strings)
    return " ".join(action.help.split())


def test_the_seed_help_says_train_draws_a_fresh_seed_and_which_engines_keep_0():
    train = seed_help("train")
    assert "Default: a fresh seed drawn for each run" in train and "Default: 0." not in train
    keeping = [e.name for e in all_engines() if not draws_fresh_seed(e)]
    assert keeping and f"0 for {', '.join(keeping)}, which reuse finished runs" in train
    # The drawn seed is what `train` does when no seed is given.
    assert parse_train("--engine", "numpy").seed != parse_train("--engine", "numpy").seed
    # A baseline and a sweep's fixed settings keep the declared default.
    assert seed_help("baseline").endswith("Default: 0.")
    assert seed_help("sweep").endswith("Default: 0.")


def test_flags_override_a_config_file(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"preset": "softmax", "epochs": 9, "learning_rate": 0.5}))
    config = parse_train("--config", str(path), "--epochs", "2")
    assert (config.preset, config.epochs, config.learning_rate) == ("softmax", 2, 0.5)


def test_layers_flag_trains_a_custom_architecture():
    config = parse_train("--layers", '[{"type": "Dense", "units": 50}]')
    assert config.preset == "custom" and config.model_layers()[0]["units"] == 50


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--lr", "-1"], r"learning_rate must be a number in (0, 100]"),
        (
            ["--optimizer", "adagrad"],
            "optimizer must be one of ['sgd', 'adam', 'adamw', 'rmsprop']",
        ),
        (["--layers", "[{"], "--layers is not valid JSON"),
        (["--config", "missing.json"], "missing.json is missing"),
    ],
)
def test_bad_values_exit_2_with_a_message(capsys, flags, message):
    assert main(["train", *flags]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_malformed_flags_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "many"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "epochs must be a whole number written in the digits 0-9, got 'many'" in error


@pytest.mark.slow
def test_train_end_to_end_on_a_small_subset(tmp_path):
    env = dict(os.environ, MNIST_LAB_RUNS_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mnist_lab",
            "train",
            "--subset",
            "1000",
            "--epochs",
            "1",
            "--name",
            "cli check",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "epoch 1:" in result.stdout
        and "finished: Finished: trained 1 epochs, evaluated" in result.stdout
    )
    assert "Test accuracy: 0." in result.stdout
    (run_dir,) = [path for path in tmp_path.iterdir() if path.is_dir() and path.name[0] != "."]
    assert f"Run directory: {run_dir}" in result.stdout
    assert json.loads((run_dir / "config.json").read_text())["name"] == "cli check"


def test_train_without_a_validation_split_prints_its_progress(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    flags = ["--preset", "softmax", "--subset", "500", "--epochs", "2", "--val-split", "0"]
    assert main(["train", *flags]) == 0
    output = capsys.readouterr().out
    assert "epoch 1: loss " in output and "epoch 2: loss " in output
    assert "val_loss" not in output and "Test accuracy: 0." in output
