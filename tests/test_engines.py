"""The engine registry and the declared settings: every engine has the same shape."""

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.cli.main import build_parser, main
from mnist_lab.cli.train import launch_request
from mnist_lab.engines import ENGINES, Engine, all_engines, engine_of, get_engine
from mnist_lab.launch import draws_fresh_seed
from mnist_lab.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "dashboard" / "Home.py"


def test_every_registered_engine_has_the_full_surface():
    for name in ENGINES:
        engine = get_engine(name)
        assert isinstance(engine, Engine) and engine.name == name
        assert engine.title and engine.description and engine.model_files
        assert engine.settings_class.engine == name
        defaults = engine.settings_class().to_dict()
        assert defaults["engine"] == name and defaults["dataset"]["name"] == "MNIST"
        assert engine.settings_class.from_dict(defaults).to_dict() == defaults


def test_an_unknown_engine_names_the_registered_ones():
    with pytest.raises(ValueError, match=r"unknown engine 'torch'; choose one of \['keras'"):
        get_engine("torch")


def test_engine_of_a_run_comes_from_its_config(tmp_path):
    run = RunStore(tmp_path).create(get_engine("numpy").settings_class().to_dict())
    assert engine_of(run) is get_engine("numpy")


@pytest.mark.parametrize("name", list(ENGINES))
def test_fractional_epochs_are_refused_by_every_engine(name):
    declared = get_engine(name).settings_class.declared()
    settings_class = get_engine(name).settings_class
    # Training length where an engine has one, else its first whole number counted from 1.
    field = next(
        (n for n in ("epochs", "max_iter") if n in declared),
        next((n for n, d in declared.items() if d.kind is int and d.low == 1), None),
    )
    declaration = declared[field]
    with pytest.raises(ValueError, match=rf"{field} must be a whole number in \[1, "):
        settings_class.from_dict({field: 2.5})
    assert f"{declaration.high:g}]" in declaration.allowed()


@pytest.mark.parametrize("name", list(ENGINES))
@pytest.mark.parametrize(
    "value",
    [True, "1", "abc", None, [1], {"a": 1}],
    ids=["bool", "text", "word", "none", "list", "dict"],
)
def test_wrong_types_are_refused_with_the_field_named(name, value):
    settings_class = get_engine(name).settings_class
    field = next(n for n, d in settings_class.declared().items() if d.kind in (int, float))
    with pytest.raises(ValueError, match=rf"^{field} must be"):
        settings_class.from_dict({field: value})


@pytest.mark.parametrize("name", list(ENGINES))
def test_unknown_keys_are_refused_by_every_engine(name):
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['speed'\]"):
        get_engine(name).settings_class.from_dict({"speed": 3})


def test_layers_without_the_custom_preset_are_refused():
    settings_class = get_engine("keras").settings_class
    with pytest.raises(ValueError, match="only used with preset 'custom'"):
        settings_class.from_dict({"layers": [{"type": "Dense", "units": 5}]})


def test_preset_and_layers_flags_together_are_refused(capsys):
    assert main(["train", "--preset", "softmax", "--layers", "[]"]) == 2
    assert "give --preset or --layers, not both" in capsys.readouterr().err


def test_a_config_file_names_the_run(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"engine": "numpy", "epochs": 2, "name": "from the file"}')
    request = launch_request(build_parser().parse_args(["train", "--config", str(path)]))
    assert request.engine is get_engine("numpy") and request.name == "from the file"
    assert request.settings.epochs == 2


def test_a_config_path_that_is_a_directory_is_a_message(tmp_path, capsys):
    assert main(["train", "--config", str(tmp_path)]) == 2
    assert "cannot read it" in capsys.readouterr().err


def cli_defaults(name: str) -> dict:
    return launch_request(build_parser().parse_args(["train", "--engine", name])).settings


def form_defaults(name: str, tmp_path, monkeypatch) -> dict:
    """Launch the Train page's form of engine ``name`` untouched; return the run's settings."""
    runs = tmp_path / name
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(runs))
    monkeypatch.setattr("mnist_lab.execution.local.LocalExecutor.launch", lambda self, run: 0)
    app = AppTest.from_file(str(HOME), default_timeout=60).run()
    app.switch_page("../pages/train.py").run()
    app.segmented_control(key="train_engine").set_value(name).run()
    app.button(key=f"train_{name}_launch").click().run()
    assert not app.exception and not app.error
    (run,) = RunStore(runs).list()
    return get_engine(name).settings_class.from_dict(run.config())


@pytest.mark.parametrize("name", list(ENGINES))
def test_the_dashboard_and_the_cli_train_the_same_defaults(name, tmp_path, monkeypatch):
    form, cli = form_defaults(name, tmp_path, monkeypatch).to_dict(), cli_defaults(name).to_dict()
    # Both draw a fresh seed for a network (`launch.draws_fresh_seed`), each its own.
    if draws_fresh_seed(get_engine(name)):
        for config in (form, cli):
            config.pop("seed")
    assert form == cli


def _engine_names_compared(tree: ast.AST) -> list[int]:
    """Lines that compare something with a registered engine's name (``==``, ``!=``, ``in``).

    Such a comparison is what the registry exists to make unnecessary.
    """

    def names(node: ast.AST) -> set:
        if isinstance(node, ast.Constant):
            return {node.value}
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return {element.value for element in node.elts if isinstance(element, ast.Constant)}
        return set()

    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(names(side) & set(ENGINES) for side in (node.left, *node.comparators))
    ]


def test_the_name_guard_finds_every_kind_of_comparison():
    code = 'a == "keras"\nif "numpy" != b: pass\nc in ("sklearn", "x")\nd == "keras_like"'
    assert _engine_names_compared(ast.parse(code)) == [1, 2, 3]


def test_no_module_outside_the_engines_compares_engine_names():
    offenders = []
    for folder in ("mnist_lab", "dashboard", "pages"):
        for path in (ROOT / folder).rglob("*.py"):
            if "engines" in path.relative_to(ROOT).parts:
                continue
            lines = path.read_text().splitlines()
            for number in _engine_names_compared(ast.parse("\n".join(lines))):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {lines[number - 1].strip()}")
    assert offenders == []


def test_every_engine_lists_in_the_registry_order():
    assert [engine.name for engine in all_engines()] == list(ENGINES)
