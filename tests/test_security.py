"""Safe defaults: a local-only server, no path out of the runs directory, no HTML from users,
no code run from model files or arrays."""

from __future__ import annotations

import pathlib
import re
import tomllib

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui.app.cookie import set_cookie
from mnist_lab import evaluation
from mnist_lab.engines.logreg import fit as baseline
from mnist_lab.engines.numpy_net import network
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.evaluation import PREDICTIONS_FILE
from mnist_lab.execution.worker import run_worker
from mnist_lab.runs import RUNS_DIR_ENV, Run, RunStore, validate_run_name

ROOT = pathlib.Path(__file__).resolve().parents[1]
HOME = ROOT / "dashboard" / "Home.py"
BASELINE_ARRAYS = ["normalization", "norm_mean", "norm_std", "coef", "intercept"]
SCRIPT_NAME = "<script>alert(1)</script>"
# Ways to put raw HTML on a Streamlit page; none may appear in the dashboard.
RAW_HTML = re.compile(r"unsafe_allow_html\s*=\s*True|\bst\.html\(|components\.v1\.html|\.html\(")


def test_server_listens_on_this_machine_only_with_xsrf_and_an_upload_limit():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "localhost"
    assert server["enableXsrfProtection"] is True
    assert isinstance(server["maxUploadSize"], int) and 0 < server["maxUploadSize"] <= 200


@pytest.mark.parametrize("run_id", ["../x", "..", "/etc", "a/b", ".hidden", "-rf", "", "a" * 101])
def test_run_ids_never_leave_the_runs_directory(tmp_path, run_id):
    with pytest.raises(ValueError, match="invalid run id"):
        RunStore(tmp_path).get(run_id)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bell\a", "printable"),
        ("line\nbreak", "printable"),
        ("nul\0", "printable"),
        ("\x1b[31mred", "printable"),
        (" ", "cannot be empty"),
        ("x" * 81, "at most 80 characters; this one has 81"),
    ],
)
def test_run_names_with_control_characters_are_rejected(tmp_path, name, reason):
    with pytest.raises(ValueError, match=reason):
        validate_run_name(name)
    with pytest.raises(ValueError):
        RunStore(tmp_path).create({"engine": "numpy"}, name=name)
    assert not list(tmp_path.glob("*/config.json")), "a rejected name left a run behind"


def test_no_page_renders_raw_html():
    sources = [*ROOT.glob("pages/*.py"), *ROOT.glob("dashboard/**/*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources if RAW_HTML.search(p.read_text())]
    # The cookie script, which takes only letters, digits, _ and - (tested below).
    assert offenders == ["dashboard/ui/app/cookie.py"]


@pytest.mark.parametrize(
    ("name", "value"), [("c", '"; alert(1); "'), ("c", "</script>"), ("a b", "x"), ("", "x")]
)
def test_the_cookie_script_takes_no_text_that_could_escape_it(name, value):
    with pytest.raises(ValueError, match="letters, digits"):
        set_cookie(name, value, 60)


@pytest.fixture
def script_named_run(tmp_path, monkeypatch):
    """A finished (tiny, NumPy-engine) run whose name is an HTML script tag."""
    monkeypatch.setenv(RUNS_DIR_ENV, str(tmp_path / "runs"))
    run = RunStore().create(NumpyNetSettings(subset=500, epochs=1).to_dict(), name=SCRIPT_NAME)
    assert run_worker(run.path) == "finished"
    return run


def texts_with_html_allowed(app: AppTest) -> list[str]:
    """Every markdown-like element on the page that would render raw HTML."""
    kinds = ("markdown", "caption", "title", "header", "subheader", "info", "success", "warning")
    return [
        element.value
        for kind in kinds
        for element in app.get(kind)
        if getattr(element.proto, "allow_html", False) or getattr(element.proto, "is_html", False)
    ]


@pytest.mark.parametrize("page", ["train.py", "compare.py"])
def test_a_script_tag_run_name_shows_as_plain_text(script_named_run, page):
    app = AppTest.from_file(str(HOME), default_timeout=90).run()
    app.switch_page(f"../pages/{page}").run()
    assert not app.exception
    shown = [
        element.value
        for kind in ("markdown", "caption", "subheader", "title", "text")
        for element in app.get(kind)
    ] + [
        str(option)
        for kind in ("selectbox", "multiselect")
        for box in app.get(kind)
        for option in box.options
    ]
    # Markdown elements show the name escaped (\<script\>), which Streamlit renders as typed.
    unescaped = [re.sub(r"\\(.)", r"\1", str(text)) for text in shown]
    assert any(SCRIPT_NAME in text for text in unescaped), "the run's name is not shown"
    assert texts_with_html_allowed(app) == []


def test_a_model_with_code_in_it_is_refused(tmp_path):
    import keras

    from mnist_lab.engines.keras_net.training import load_trained_model

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Lambda(lambda x: x * 2),
            keras.layers.Flatten(),
        ]
    )
    run = Run(tmp_path)
    model.save(run.file("model.keras"))
    with pytest.raises(ValueError, match="safe_mode"):
        load_trained_model(run)


def pickled_object_archive(path: pathlib.Path, marker: pathlib.Path, names: list[str]) -> None:
    """An .npz whose arrays are objects that would create ``marker`` if ever unpickled."""

    class Trap:
        def __reduce__(self):
            return (pathlib.Path.touch, (marker,))

    trap = np.array([Trap()], dtype=object)
    np.savez(path, **{name: trap for name in names})


@pytest.mark.parametrize(
    "file_name, names, load",
    [
        (PREDICTIONS_FILE, ["y_true", "probabilities"], evaluation.load_predictions),
        (network.WEIGHTS_FILE, list(network.PARAMETER_NAMES), network.load_weights),
        (baseline.WEIGHTS_FILE, BASELINE_ARRAYS, baseline.load_weights),
    ],
)
def test_pickled_arrays_are_refused_not_unpickled(tmp_path, file_name, names, load):
    run = Run(tmp_path)
    marker = tmp_path / "unpickled"
    pickled_object_archive(run.file(file_name), marker, names)
    with pytest.raises(ValueError):
        load(run)
    assert not marker.exists(), "an object array was unpickled"


MARKDOWN_NAME = "![x](http://127.0.0.1:9/p.png) **bold**"


def test_a_markdown_run_name_is_shown_as_typed_never_rendered(tmp_path, monkeypatch):
    monkeypatch.setenv(RUNS_DIR_ENV, str(tmp_path / "runs"))
    run = RunStore().create(NumpyNetSettings(subset=500, epochs=1).to_dict(), name=MARKDOWN_NAME)
    assert run_worker(run.path) == "finished"
    app = AppTest.from_file(str(HOME), default_timeout=90).run()
    app.switch_page("../pages/train.py").run()
    assert not app.exception
    markdown = [element.value for kind in ("subheader", "markdown") for element in app.get(kind)]
    headings = [text for text in markdown if "127" in str(text)]
    assert headings, "the run's name is not on the Train page"
    # Every markdown character escaped: Streamlit shows the name as typed, fetches nothing.
    assert all("\\!\\[x\\]" in text and "\\*\\*bold\\*\\*" in text for text in headings)


def shown_with(app: AppTest, needle: str) -> list[str]:
    """Every text element and option on the page that holds ``needle``."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "subheader")
    return [str(e.value) for kind in kinds for e in app.get(kind) if needle in str(e.value)]


def test_markdown_dataset_and_run_names_in_damaged_messages_and_captions_show_as_typed(
    tmp_path, monkeypatch
):
    """A dataset name in a "damaged" message and a run name in the expected-time caption."""
    monkeypatch.setenv(RUNS_DIR_ENV, str(tmp_path / "runs"))
    store = RunStore()
    measured = store.create(NumpyNetSettings(subset=500, epochs=1).to_dict(), name=MARKDOWN_NAME)
    assert run_worker(measured.path) == "finished"
    # A run whose dataset (named in markdown) is no longer stored reads as damaged, by name.
    gone = store.create(measured.config(), name="its data is gone")
    config = dict(measured.config(), name="its data is gone")
    config["dataset"] = {"name": MARKDOWN_NAME, "sha256": "ab" * 32}
    gone.write_json("config.json", config)
    assert MARKDOWN_NAME in gone.status()["error"]

    for page, setup in (
        ("compare.py", lambda app: None),
        ("train.py", lambda app: app.session_state.__setitem__("train_engine", "numpy")),
    ):
        app = AppTest.from_file(str(HOME), default_timeout=90)
        app.query_params["run"] = gone.id
        app.run()
        setup(app)
        app.switch_page(f"../pages/{page}").run()
        assert not app.exception, app.exception
        if page == "train.py":
            app.selectbox(key="train_watch").set_value(gone.id).run()
            captions = [str(c.value) for c in app.caption if "measured by" in str(c.value)]
            assert captions and all("\\!\\[x\\]" in text for text in captions), captions
        texts = shown_with(app, "127")
        assert texts, f"the dataset's name is not on {page}"
        assert all("\\!\\[x\\]" in text and "\\*\\*bold\\*\\*" in text for text in texts), texts
