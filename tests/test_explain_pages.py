"""AppTest of the explanation views on runs trained in the test: Playground, Evaluate, Compare."""

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.engines.numpy_net.network import WEIGHTS_FILE
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.explain.label_issues import LABEL_ISSUES_FILE
from mnist_lab.explain.robustness import ROBUSTNESS_FILE
from mnist_lab.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "dashboard" / "Home.py"
NETWORK_NAME = "net **not bold** <b>x</b>"


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A baseline and a newer NumPy network, both trained on 500 digits (a few seconds)."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    for config, name in (
        (LogregSettings(subset=500, max_iter=50).to_dict(), "tiny baseline"),
        (NumpyNetSettings(epochs=2, subset=500).to_dict(), NETWORK_NAME),
    ):
        assert run_worker(store.create(config, name=name).path) == "finished"
    return store.root


@pytest.fixture
def store(trained_dir, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(trained_dir))
    return RunStore(trained_dir)


def charts(app: AppTest) -> dict[str, dict]:
    """Every plotly chart on the page by its widget key."""
    return {
        chart.proto.id.rsplit("-", 1)[-1]: json.loads(chart.proto.spec)
        for chart in app.get("plotly_chart")
    }


def text(app: AppTest) -> str:
    return " ".join(element.value for element in [*app.markdown, *app.caption])


def selectbox(app: AppTest, label: str):
    """The one select box labelled ``label``."""
    (box,) = [box for box in app.selectbox if box.label == label]
    return box


def test_playground_explains_a_test_digit_and_attacks_it(store):
    app = AppTest.from_file(str(HOME), default_timeout=90).run()
    app.switch_page("../pages/playground.py").run()
    app.segmented_control(key="playground_source").set_value("test").run()
    assert not app.exception
    assert "Why did it say that?" in [header.value for header in app.subheader]
    network = store.list()[0]
    assert app.selectbox(key="playground_why_run").value == network.id
    saliency = charts(app)["playground_why_saliency"]
    assert [trace["type"] for trace in saliency["data"]] == ["heatmap", "contour"]
    assert "Red pixels pushed the score of" in text(app)
    for method in ("integrated-gradients", "occlusion"):
        app.segmented_control(key="playground_why_method").set_value(method).run()
        assert not app.exception and "playground_why_saliency" in charts(app)
    # Keyed per model and digit, so a new digit starts afresh: found by its label.
    selectbox(app, "Explain the score of").set_value(3).run()
    assert "of the score of **3**" in text(app)

    app.toggle(key="playground_why_attack").set_value(True).run()
    assert not app.exception
    panels = charts(app)["playground_why_adversarial"]
    assert len(panels["data"]) == 3
    assert "It now reads a" in text(app) or app.warning
    transfer = app.dataframe[-1].value
    assert transfer["Model"].tolist() == ["tiny baseline"]
    selectbox(app, "Make it read as").set_value(8).run()
    assert not app.exception and "Probability of 8" in app.dataframe[-1].value.columns


def test_evaluate_explains_any_test_digit_and_measures_its_run(store, mnist):
    network = store.list()[0]
    app = AppTest.from_file(str(ROOT / "pages" / "evaluate.py"), default_timeout=120)
    app.query_params["run"] = network.id
    app.run()
    assert not app.exception
    app.number_input(key="evaluate_why_index").set_value(5).run()
    assert f"Test digit #5, labelled {mnist.y_test[5]}." in text(app)
    assert "evaluate_why_saliency" in charts(app)
    reliability = charts(app)["evaluate_calibration_reliability"]
    names = [trace.get("name", "") for trace in reliability["data"]]
    assert any(name.startswith("net **not bold** &lt;b&gt;x&lt;/b&gt;") for name in names)
    assert len(app.dataframe[-1].value) == 2, "the run and the baseline, ECE side by side"
    # A user's run name reaches markdown escaped: no bold, no HTML.
    assert r"net \*\*not bold\*\* \<b\>x\<\/b\>" in text(app)
    assert not network.file(ROBUSTNESS_FILE).exists()
    app.button(key="evaluate_robustness_measure").click().run()
    assert not app.exception
    curves = charts(app)["evaluate_robustness_curves"]
    assert len(curves["data"]) == 2 * 6, "two runs, six corruptions"
    assert network.file(ROBUSTNESS_FILE).exists()
    assert "evaluate_robustness_measure" not in [button.key for button in app.button]


def test_compare_checks_runs_and_finds_suspicious_labels(store):
    baseline = store.list()[-1]
    app = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=120).run()
    assert not app.exception
    assert set(app.multiselect(key="compare_checks_runs").value) == {r.id for r in store.list()}
    # Renaming a run changes its label, not what is chosen.
    store.rename(baseline.id, "renamed baseline")
    try:
        app.run()
        assert not app.exception
        assert baseline.id in app.multiselect(key="compare_checks_runs").value
        assert baseline.id in app.multiselect(key="compare_labels_judges").value
    finally:
        store.rename(baseline.id, "tiny baseline")
    assert "compare_checks_calibration_reliability" in charts(app)
    gallery = charts(app)["compare_labels_gallery"]
    titles = [note["text"] for note in gallery["layout"]["annotations"]]
    assert len(titles) == 20 and all(title.startswith("#") and "→" in title for title in titles)
    votes = app.dataframe[-1].value
    assert len(votes) == 20 and votes.shape[1] == 5 + 2, "five columns and one per judge"

    app.segmented_control(key="compare_labels_split").set_value("train").run()
    assert "compare_labels_gallery" not in charts(app)
    app.button(key="compare_labels_find").click().run()
    assert not app.exception
    assert baseline.file(LABEL_ISSUES_FILE).exists()
    assert "Of 500 digits" in text(app)
    assert "compare_labels_gallery" in charts(app)


def test_a_damaged_model_is_named_instead_of_a_traceback(trained_dir, tmp_path, monkeypatch):
    network = RunStore(trained_dir).list()[0]
    shutil.copytree(network.path, tmp_path / network.id)
    (tmp_path / network.id / WEIGHTS_FILE).write_bytes(b"cut off")
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    app = AppTest.from_file(str(ROOT / "pages" / "evaluate.py"), default_timeout=120).run()
    assert not app.exception
    app.button(key="evaluate_robustness_measure").click().run()
    assert not app.exception
    assert any("cannot be measured" in warning.value for warning in app.warning)
