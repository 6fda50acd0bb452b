"""Runs exported as code: a script and a notebook that retrain the run without mnist_lab.

The fast tests execute the exported steps piece by piece against the lab's own objects (the
same model, the same optimizer, the same normalized digits); the slow ones train small real
runs of every engine and run their script and notebook to the same test accuracy.
"""

import ast
import io
import math
import shutil
import subprocess
import tokenize
from pathlib import Path

import nbformat
import numpy as np
import pytest

from mnist_lab.cli.main import main
from mnist_lab.data import EMBEDDED_PATH, NPZ_KEYS
from mnist_lab.engines import get_engine
from mnist_lab.engines.code import ACCURACY_PREFIX, check_exportable
from mnist_lab.engines.keras_net.export import EXPORTED_SETTINGS as KERAS_EXPORTED
from mnist_lab.engines.keras_net.models import PRESETS
from mnist_lab.engines.keras_net.settings import CUSTOM, KerasSettings
from mnist_lab.engines.logreg.fit import training_inputs
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.export import export_run
from mnist_lab.preprocess import NORMALIZATIONS, fit_normalizer, save_normalizer
from mnist_lab.runs import CONFIG_FILE, RunStore
from tests.exported import ACCURACY, run_exported_script

ROOT = Path(__file__).resolve().parents[1]
# A name that would end a docstring and run code if it were pasted into the program as is.
HOSTILE_NAME = "net\"\"\"; import shutil; shutil.rmtree('/') #'"
EVERY_LAYER_TYPE = [
    {"type": "RandomTranslation", "fraction": 0.2},
    {"type": "RandomRotation", "degrees": 15},
    {"type": "Conv2D", "filters": 4, "kernel": 5, "activation": "tanh"},
    {"type": "BatchNormalization"},
    {"type": "Conv2D", "filters": 6, "padding": "same", "activation": "elu"},
    {"type": "MaxPool", "size": 3},
    {"type": "Dropout", "rate": 0.2},
    {"type": "Flatten"},
    {"type": "Dense", "units": 16, "activation": "gelu"},
    {"type": "Dense", "units": 8, "activation": "sigmoid"},
]
# How the comments of the steps that load, subset, split, normalize and encode the data begin.
DATA_STEPS = ("Load MNIST", "Keep SUBSET", "Hold out", "Normalize", "Label smoothing")
# Small real runs of every engine, each with more than the default settings.
REAL_RUNS = {
    "keras": {
        "preset": CUSTOM,
        "layers": [
            {"type": "RandomRotation", "degrees": 10},
            {"type": "Conv2D", "filters": 8, "padding": "same"},
            {"type": "BatchNormalization"},
            {"type": "MaxPool", "size": 2},
            {"type": "Dropout", "rate": 0.25},
            {"type": "Dense", "units": 32},
        ],
        "optimizer": "sgd",
        "learning_rate": 0.03,
        "momentum": 0.9,
        "nesterov": True,
        "lr_schedule": "exponential",
        "batch_size": 64,
        "epochs": 2,
        "normalization": "standardize",
        "label_smoothing": 0.1,
        "subset": 1500,
        "early_stopping_patience": 1,
        "seed": 3,
    },
    "numpy": {"subset": 1500, "epochs": 2, "normalization": "per-pixel", "seed": 3},
    "sklearn": {"subset": 1500, "max_iter": 300, "normalization": "scale", "seed": 3},
}


def fitted_run(store: RunStore, engine: str, name: str | None = None, **settings):
    """A run as it is once its normalization is fitted: config and ``normalizer.json``."""
    config = get_engine(engine).settings_class(**settings).validate()
    run = store.create(config.to_dict(), name=name)
    x_train = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    save_normalizer(run, fit_normalizer(config.normalization, x_train))
    return run


def steps_namespace(run, upto: str, **stubs) -> dict:
    """Execute the run's exported steps up to the one whose comment starts with ``upto``.

    Given stub arrays (``x_train=...``), the data steps are left out and the stubs stand in.
    """
    namespace = dict(stubs)
    for step in get_engine(run.config()["engine"]).export_steps(run):
        if not (stubs and step.comment.startswith(DATA_STEPS)):
            exec(step.code, namespace)
        if step.comment.startswith(upto):
            return namespace
    raise AssertionError(f"no step starts with {upto!r}")


def without_names(model) -> list[tuple[str, dict]]:
    return [
        (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
        for layer in model.layers
    ]


@pytest.mark.parametrize(
    "settings",
    [{"preset": preset} for preset in PRESETS]
    + [{"preset": CUSTOM, "layers": EVERY_LAYER_TYPE}, {"preset": CUSTOM, "layers": []}],
    ids=[*PRESETS, "every-layer-type", "no-hidden-layer"],
)
def test_the_exported_model_is_the_model_the_lab_builds(tmp_path, settings):
    from mnist_lab.engines.keras_net.models import build_model

    run = fitted_run(RunStore(tmp_path), "keras", **settings)
    exported = steps_namespace(run, "Build the network", x_train=np.zeros((10, 28, 28, 1)))
    lab = build_model(KerasSettings(**settings).model_layers())
    assert without_names(exported["model"]) == without_names(lab)
    assert exported["model"].count_params() == lab.count_params()


@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "adam", "learning_rate": 0.003},
        {"optimizer": "rmsprop", "lr_schedule": "cosine", "lr_min_fraction": 0.1, "epochs": 3},
        {"optimizer": "sgd", "learning_rate": 0.1},
        {
            "optimizer": "sgd",
            "momentum": 0.9,
            "nesterov": True,
            "lr_schedule": "exponential",
            "lr_decay_rate": 0.7,
            "batch_size": 128,
        },
        {"optimizer": "adam", "beta_1": 0.7, "beta_2": 0.9, "lr_schedule": "one-cycle"},
        {
            "optimizer": "adamw",
            "weight_decay": 0.001,
            "lr_schedule": "one-cycle",
            "warmup_fraction": 0.3,
            "epochs": 2,
            "label_smoothing": 0.1,
        },
        {"optimizer": "adamw", "learning_rate": 0.01},
    ],
)
def test_the_exported_optimizer_and_schedule_are_the_labs(tmp_path, settings):
    from mnist_lab.engines.keras_net.training import make_loss, make_optimizer

    run = fitted_run(RunStore(tmp_path), "keras", **settings)
    x_train = np.zeros((1000, 28, 28, 1), dtype=np.float32)
    exported = steps_namespace(run, "Compile", x_train=x_train)
    config = KerasSettings(**settings)
    lab = make_optimizer(config, math.ceil(len(x_train) / config.batch_size))

    def described(optimizer) -> dict:
        return {k: v for k, v in optimizer.get_config().items() if k != "name"}

    assert described(exported["optimizer"]) == described(lab)
    assert type(exported["optimizer"]) is type(lab)
    loss = exported["model"].loss
    assert (loss if isinstance(loss, str) else loss.get_config()) == (
        make_loss(config) if isinstance(make_loss(config), str) else make_loss(config).get_config()
    )


@pytest.mark.parametrize("normalization", list(NORMALIZATIONS))
def test_the_exported_data_are_the_digits_the_lab_trains_on(tmp_path, monkeypatch, normalization):
    from mnist_lab.engines.keras_net.training import prepare_data

    monkeypatch.setenv("MNIST_NPZ", str(EMBEDDED_PATH))
    settings = {"subset": 700, "val_split": 0.2, "seed": 5, "normalization": normalization}
    data = prepare_data(KerasSettings(**settings))
    run = RunStore(tmp_path).create(KerasSettings(**settings).to_dict())
    save_normalizer(run, data.normalizer)
    exported = steps_namespace(run, "Normalize")
    for split in ("train", "val", "test"):
        np.testing.assert_allclose(exported[f"x_{split}"], getattr(data, f"x_{split}"), atol=1e-5)
        np.testing.assert_array_equal(exported[f"y_{split}"], getattr(data, f"y_{split}"))


def test_label_smoothing_trains_on_the_labs_one_hot_targets(tmp_path, monkeypatch):
    from mnist_lab.engines.keras_net.training import fit_targets, prepare_data

    monkeypatch.setenv("MNIST_NPZ", str(EMBEDDED_PATH))
    config = KerasSettings(subset=300, label_smoothing=0.1)
    data = prepare_data(config)
    run = RunStore(tmp_path).create(config.to_dict())
    save_normalizer(run, data.normalizer)
    exported = steps_namespace(run, "Label smoothing")
    for split in ("train", "val", "test"):
        expected = fit_targets(config, getattr(data, f"y_{split}"))
        np.testing.assert_array_equal(exported[f"y_{split}"], expected)


def test_the_baseline_code_flattens_the_same_digits(tmp_path, monkeypatch, mnist):
    monkeypatch.setenv("MNIST_NPZ", str(EMBEDDED_PATH))
    config = LogregSettings(subset=400, seed=9, normalization="standardize")
    x, y, normalizer = training_inputs(config, mnist.x_train, mnist.y_train)
    run = RunStore(tmp_path).create(config.to_dict())
    save_normalizer(run, normalizer)
    exported = steps_namespace(run, "Normalize")
    np.testing.assert_allclose(exported["x_train"], x, atol=1e-5)
    np.testing.assert_array_equal(exported["y_train"], y)
    assert exported["x_test"].shape == (10_000, 784)


@pytest.fixture
def exported_scripts(tmp_path) -> dict[str, str]:
    """The script of a fitted (untrained) run of every engine, named with a hostile name.

    Two more Keras runs bring the settings the real ones leave out: a preset's recipe
    (one-cycle, Adam's betas) and AdamW with label smoothing and cosine decay.
    """
    store = RunStore(tmp_path)
    runs = {engine: (engine, settings) for engine, settings in REAL_RUNS.items()}
    recipe = KerasSettings.recommended({"preset": "fast-cnn"})
    runs["keras-recipe"] = ("keras", {"preset": "fast-cnn", **recipe})
    runs["keras-adamw"] = (
        "keras",
        {
            "optimizer": "adamw",
            "weight_decay": 1e-4,
            "label_smoothing": 0.1,
            "lr_schedule": "cosine",
        },
    )
    return {
        key: export_run(fitted_run(store, engine, name=HOSTILE_NAME, **settings), "script")
        for key, (engine, settings) in runs.items()
    }


def test_exported_code_never_imports_mnist_lab_and_keeps_the_name_in_a_comment(exported_scripts):
    for engine, script in exported_scripts.items():
        tree = ast.parse(script)
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(name.startswith("mnist_lab") for name in imported), engine
        assert "numpy" in imported
        tokens = list(tokenize.generate_tokens(io.StringIO(script).readline))
        holding = [token.type for token in tokens if "rmtree" in token.string]
        assert holding == [tokenize.COMMENT], engine
        assert script.rstrip().endswith(f'print(f"{ACCURACY_PREFIX}{{test_accuracy:.4f}}")')


def test_exported_scripts_pass_ruff_as_the_lab_formats_itself(exported_scripts, tmp_path):
    ruff = shutil.which("ruff", path=str(ROOT / ".venv" / "bin")) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is a dev tool: `bash .ci/setup --dev` installs it")
    paths = []
    for engine, script in exported_scripts.items():
        paths.append(tmp_path / f"exported_{engine}.py")
        paths[-1].write_text(script)
    options = ["--isolated", "--line-length", "100", "--no-cache"]
    check = [ruff, "check", *options, "--select", "E,F,W,I,B,UP,NPY", *map(str, paths)]
    result = subprocess.run(check, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    result = subprocess.run(
        [ruff, "format", "--check", *options, *map(str, paths)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_a_notebook_holds_the_scripts_code_cell_by_cell(tmp_path):
    run = fitted_run(RunStore(tmp_path), "numpy", subset=500)
    notebook = nbformat.reads(export_run(run, "notebook"), as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    assert notebook.cells[0].cell_type == "markdown" and run.id in notebook.cells[0].source
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    script = export_run(run, "script")
    assert all(source in script for source in code)
    assert "def gradients(" in "".join(code) and "Train: EPOCHS passes" in str(notebook.cells)


def test_settings_the_exporter_does_not_know_are_refused(tmp_path):
    run = fitted_run(RunStore(tmp_path), "keras", optimizer="sgd", momentum=0.5)
    settings = KerasSettings.from_dict(run.config())
    check_exportable(run, settings, KERAS_EXPORTED)
    with pytest.raises(ValueError, match="sets momentum, which the code export does not write"):
        check_exportable(run, settings, KERAS_EXPORTED - {"momentum", "nesterov"})
    # A setting it does not know but left at its default changes nothing: the run exports.
    check_exportable(run, settings, KERAS_EXPORTED - {"nesterov"})


def test_runs_on_other_data_or_without_a_normalizer_are_refused(tmp_path):
    store = RunStore(tmp_path)
    run = fitted_run(store, "numpy")
    config = dict(run.config(), dataset={"name": "mine", "sha256": "0" * 64})
    run.write_json(CONFIG_FILE, config)
    with pytest.raises(ValueError, match="trained on another dataset: only MNIST runs export"):
        export_run(run, "script")
    queued = store.create(LogregSettings().to_dict())
    with pytest.raises(ValueError, match="has not fitted its normalization yet"):
        export_run(queued, "notebook")
    with pytest.raises(ValueError, match=r"format must be one of \['script', 'notebook'\]"):
        export_run(queued, "pdf")


def test_cli_export_writes_the_file_and_explains_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path / "runs"))
    run = fitted_run(RunStore(tmp_path / "runs"), "sklearn")
    target = tmp_path / "baseline.ipynb"
    assert main(["export", run.id, "--format", "notebook", "-o", str(target)]) == 0
    assert nbformat.reads(target.read_text(), as_version=4).cells
    assert f"Wrote run {run.id} as a notebook to {target}" in capsys.readouterr().out
    assert main(["export", run.id]) == 0
    assert "LogisticRegression(C=C, tol=TOL, max_iter=MAX_ITER)" in capsys.readouterr().out
    assert main(["export", "no-such-run"]) == 2
    assert "error: no run 'no-such-run'" in capsys.readouterr().err
    assert main(["export", run.id, "-o", str(tmp_path / "missing" / "x.py")]) == 2
    assert "cannot write" in capsys.readouterr().err


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory) -> dict:
    """Small real runs of every engine, trained once for the module's slow tests."""
    store = RunStore(tmp_path_factory.mktemp("real-runs"))
    trained = {}

    def trained_run(engine: str):
        if engine not in trained:
            config = get_engine(engine).settings_class(**REAL_RUNS[engine])
            run = store.create(config.to_dict())
            assert run_worker(run.path) == "finished", run.status()
            trained[engine] = run
        return trained[engine]

    return trained_run


def printed_accuracy(text: str) -> float:
    found = ACCURACY.findall(text)
    assert found, text[-3000:]
    return float(found[-1])


@pytest.mark.slow
@pytest.mark.parametrize("engine", list(REAL_RUNS))
def test_the_exported_script_reproduces_the_runs_test_accuracy(engine, real_runs, tmp_path):
    run = real_runs(engine)
    printed = run_exported_script(run, tmp_path).accuracy
    assert abs(printed - run.evaluation()["test_accuracy"]) <= 0.01


@pytest.mark.slow
@pytest.mark.parametrize("engine", list(REAL_RUNS))
def test_the_exported_notebook_runs_to_the_same_accuracy(engine, real_runs, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    run = real_runs(engine)
    monkeypatch.setenv("MNIST_NPZ", str(EMBEDDED_PATH))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    notebook = nbformat.reads(export_run(run, "notebook"), as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert abs(printed_accuracy(printed) - run.evaluation()["test_accuracy"]) <= 0.01


def test_the_shipped_npz_holds_what_the_exported_code_reads():
    with np.load(EMBEDDED_PATH, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(NPZ_KEYS)
