"""AppTest of the Data page and of every page on a run trained on a user's own dataset."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui.data.datasets_view import add_uploaded_dataset
from mnist_lab.datasets import DatasetStore
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.ownership import TEACHER_KEY_ENV
from mnist_lab.runs import RunStore
from tests.shapes import CLASS_NAMES, write_shapes_idx

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"
# A class name a browser would render as markup if it were not shown as plain text.
SNEAKY = "<b>circle</b>"


@dataclass
class Upload:
    """What the page's handler reads of Streamlit's UploadedFile."""

    name: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def getvalue(self) -> bytes:
        return self.data


def open_page(page: str) -> AppTest:
    """The real frame (page links need it), switched to ``pages/<page>``."""
    app = AppTest.from_file(str(HOME), default_timeout=90).run()
    app.switch_page(f"../pages/{page}").run()
    assert not app.exception
    return app


def uploads(directory: Path) -> list[Upload]:
    return [Upload(path.name, path.read_bytes()) for path in write_shapes_idx(directory)]


def test_the_handler_stores_uploaded_idx_files(tmp_path):
    info = add_uploaded_dataset(uploads(tmp_path), "Shapes", "square, cross, circle")
    assert (info.name, info.class_names, info.n_train) == ("Shapes", CLASS_NAMES, 300)
    assert [i.name for i in DatasetStore(RunStore().root).list()] == ["Shapes"]


def test_the_handler_refuses_bad_uploads_and_stores_nothing(tmp_path):
    files = uploads(tmp_path)
    with pytest.raises(ValueError, match="choose one .npz file or the four IDX files first"):
        add_uploaded_dataset([], "Shapes", "")
    with pytest.raises(ValueError, match="four IDX files"):
        add_uploaded_dataset(files[:2], "Shapes", "")
    # A name with a path in it is only its base name: nothing is written outside the upload.
    bad = Upload("../../train-images-idx3-ubyte.gz", b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match="not a valid gzip file"):
        add_uploaded_dataset([bad, *files[1:]], "Shapes", "")
    assert DatasetStore(RunStore().root).list() == []


def test_the_data_page_explains_itself_and_lists_the_datasets(tmp_path):
    app = open_page("data.py")
    assert app.title[0].value == "Your data"
    assert app.info[0].value == "Only MNIST so far: add a dataset above."
    add_uploaded_dataset(uploads(tmp_path), "Shapes", f"square, cross, {SNEAKY}")
    app.run()
    assert not app.exception
    table = app.dataframe[0].value
    assert table["Name"].tolist() == ["Shapes"]
    assert table["Classes"].tolist() == [f"square, cross, {SNEAKY}"]
    chosen = app.selectbox(key="data_chosen")
    assert chosen.format_func(chosen.value) == "Shapes"


def test_the_one_who_added_a_dataset_renames_and_relabels_it_others_cannot(tmp_path, monkeypatch):
    monkeypatch.setenv(TEACHER_KEY_ENV, "owl-42")
    add_uploaded_dataset(uploads(tmp_path), "Shapes", "", owner="Ada")
    app = open_page("data.py")
    app.session_state["identity_name"] = "Bob"
    app.run()
    captions = " ".join(caption.value for caption in app.main.caption)
    assert "Only Ada, who added it, or the teacher can change" in captions
    app.session_state["identity_name"] = "Ada"
    app.run()
    [info] = DatasetStore(RunStore().root).list()
    key = f"data_change_{info.sha256[:12]}"
    app.text_input(key=f"{key}_name").set_value("Shapes 2").run()
    app.button(key=f"{key}_rename").click().run()
    app.text_input(key=f"{key}_classes").set_value("square, cross").run()
    app.button(key=f"{key}_save_classes").click().run()
    assert not app.exception
    assert "give 3 names" in app.error[0].value
    app.text_input(key=f"{key}_classes").set_value("square, cross, circle").run()
    app.button(key=f"{key}_save_classes").click().run()
    [info] = DatasetStore(RunStore().root).list()
    assert (info.name, info.class_names) == ("Shapes 2", CLASS_NAMES)
    assert app.dataframe[0].value["Added by"].tolist() == ["Ada"]
    app.checkbox(key=f"{key}_sure").check().run()
    app.button(key=f"{key}_delete").click().run()
    assert not app.exception and DatasetStore(RunStore().root).list() == []
    assert app.info[0].value == "Only MNIST so far: add a dataset above."


def test_the_data_page_shows_why_an_upload_is_refused():
    app = open_page("data.py")
    app.text_input(key="data_name").input("Nothing")
    app.button[0].click().run()
    assert not app.exception
    # Escaped for markdown: the reason is shown as typed.
    message = app.error[0].value.replace("\\", "")
    assert (
        message
        == "Not added: choose one .npz file or the four IDX files first. Nothing was stored."
    )


def test_explore_and_train_offer_the_dataset(tmp_path):
    add_uploaded_dataset(uploads(tmp_path), "Shapes", f"square, cross, {SNEAKY}")
    app = AppTest.from_file(str(HOME), default_timeout=90).run()
    app.switch_page("../pages/explore.py").run()
    app.selectbox(key="explore_dataset").set_value("Shapes").run()
    assert not app.exception
    assert app.caption[0].value.startswith("300 training and 60 test images of 3 classes")
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert {trace["x"][2] for trace in spec["data"]} == {"&lt;b&gt;circle&lt;/b&gt;"}
    for section in ("Pixel values", "Average digits", "Gallery", "Map"):
        app.session_state["explore_section"] = section
        app.run()
        assert not app.exception, section
    app.switch_page("../pages/train.py").run()
    assert app.selectbox(key="train_dataset").options == ["MNIST", "Shapes"]
    # The softmax preset's summary counts one output per class of the chosen data.
    app.selectbox(key="train_keras_preset").set_value("softmax").run()
    assert any(e.label.startswith("7,850 parameters") for e in app.expander)
    app.selectbox(key="train_dataset").set_value("Shapes").run()
    assert any(e.label.startswith(f"{785 * 3:,} parameters") for e in app.expander)


@pytest.fixture(scope="module")
def shapes_runs(tmp_path_factory):
    """A NumPy network and a baseline trained on the shapes, and a baseline on MNIST."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    files = write_shapes_idx(tmp_path_factory.mktemp("upload"))
    DatasetStore(store.root).add_files(files, "Shapes", f"square, cross, {SNEAKY}")
    for config, name in (
        (LogregSettings(subset=500, max_iter=30).to_dict(), "mnist baseline"),
        (LogregSettings(dataset="Shapes", max_iter=30).to_dict(), "shapes baseline"),
        (NumpyNetSettings(dataset="Shapes", epochs=3, hidden_units=16).to_dict(), "shapes net"),
    ):
        assert run_worker(store.create(config, name=name).path) == "finished"
    return store


def open_on_shapes(store: RunStore, page: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(store.root))
    return open_page(page)


def run_id(store: RunStore, name: str) -> str:
    return next(run.id for run in store.list() if run.name == name)


def test_evaluate_names_the_classes(shapes_runs, monkeypatch):
    app = open_on_shapes(shapes_runs, "evaluate.py", monkeypatch)
    app.selectbox(key="evaluate_run").set_value(run_id(shapes_runs, "shapes net")).run()
    assert not app.exception
    confusion = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert confusion["layout"]["xaxis"]["ticktext"] == [
        "square",
        "cross",
        "&lt;b&gt;circle&lt;/b&gt;",
    ]
    assert app.selectbox(key="evaluate_true").options == ["any", "square", "cross", SNEAKY]
    assert any("60 test images of Shapes" in caption.value for caption in app.main.caption)
    # The baseline it is measured against learnt the shapes too.
    assert app.metric[2].label == "Baseline accuracy"
    per_class = next(d.value for d in app.dataframe if "precision" in d.value.columns)
    assert per_class["class"].tolist() == ["square", "cross", SNEAKY]


def test_compare_warns_when_the_runs_learnt_different_datasets(shapes_runs, monkeypatch):
    app = open_on_shapes(shapes_runs, "compare.py", monkeypatch)
    chosen = [run_id(shapes_runs, "shapes net"), run_id(shapes_runs, "mnist baseline")]
    app.multiselect(key="compare_curves").set_value(chosen).run()
    assert not app.exception
    warnings = [w.value for w in app.warning]
    assert any("These runs learnt different datasets (Shapes, MNIST)" in w for w in warnings)


def test_inside_and_playground_use_the_runs_dataset(shapes_runs, monkeypatch):
    app = open_on_shapes(shapes_runs, "inside.py", monkeypatch)
    app.selectbox(key="inside_run").set_value(run_id(shapes_runs, "shapes net")).run()
    assert not app.exception
    assert any(c.value.startswith("Label: ") for c in app.caption)
    app.switch_page("../pages/playground.py").run()
    app.multiselect(key="playground_runs").set_value([run_id(shapes_runs, "shapes net")]).run()
    app.segmented_control(key="playground_source").set_value("test").run()
    assert not app.exception
    assert "True label: square" in [c.value for c in app.caption]
    prediction = app.dataframe[0].value["Prediction"].tolist()
    assert prediction[0] in ("square", "cross", SNEAKY)


@pytest.mark.parametrize(
    "page", ["evaluate.py", "inside.py", "compare.py", "playground.py", "train.py", "explore.py"]
)
def test_a_run_whose_dataset_is_gone_reads_as_damaged_on_every_page(page, tmp_path):
    import shutil

    store = RunStore()
    DatasetStore(store.root).add_files(write_shapes_idx(tmp_path), "Shapes")
    run = store.create(LogregSettings(dataset="Shapes", max_iter=20).to_dict(), name="orphan")
    assert run_worker(run.path) == "finished"
    shutil.rmtree(store.root / ".datasets")
    app = AppTest.from_file(str(HOME), default_timeout=90)
    app.query_params["run"] = run.id
    app.run()
    app.switch_page(f"../pages/{page}").run()
    assert not app.exception
    shown = " ".join(str(e.value) for e in [*app.warning, *app.info, *app.error, *app.markdown])
    if page in ("evaluate.py", "inside.py"):
        assert "no longer stored" in shown.replace("\\", "")


def test_the_train_form_launches_on_the_chosen_dataset(tmp_path, monkeypatch):
    add_uploaded_dataset(uploads(tmp_path), "Shapes", "square, cross, circle")
    monkeypatch.setattr("mnist_lab.execution.local.LocalExecutor.launch", lambda self, run: 0)
    app = open_page("train.py")
    app.segmented_control(key="train_engine").set_value("numpy").run()
    app.selectbox(key="train_dataset").set_value("Shapes").run()
    app.button(key="train_numpy_launch").click().run()
    assert not app.exception and not app.error
    (run,) = RunStore().list()
    info = DatasetStore(RunStore().root).by_name("Shapes")
    assert run.config()["dataset"] == {"name": "Shapes", "sha256": info.sha256}
