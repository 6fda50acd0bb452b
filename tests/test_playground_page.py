"""AppTest of the Playground page in the real dashboard frame, on runs trained in the test."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.runs import RunStore

HOME = Path(__file__).resolve().parents[1] / "dashboard" / "Home.py"


def open_page(page: str) -> AppTest:
    """The real frame, switched to ``pages/<page>``."""
    app = AppTest.from_file(str(HOME), default_timeout=90).run()
    app.switch_page(f"../pages/{page}").run()
    assert not app.exception
    return app


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A NumPy network and a newer baseline, both trained on 500 digits (a few seconds)."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    for config, name in (
        (NumpyNetSettings(epochs=2, subset=500).to_dict(), "tiny numpy"),
        (LogregSettings(subset=500, max_iter=50).to_dict(), "tiny baseline"),
    ):
        run = store.create(config, name=name)
        assert run_worker(run.path) == "finished"
    return store.root


@pytest.fixture
def runs_dir(trained_dir, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(trained_dir))
    return trained_dir


def png_of(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_no_runs_links_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    app = open_page("playground.py")
    assert "No trained models yet" in app.info[0].value
    assert [link.proto.label for link in app.get("page_link")] == ["Go to Train"]


def test_random_test_image_shows_predictions_of_network_and_baseline(runs_dir, mnist):
    app = open_page("playground.py")
    assert [run_id for run_id in app.multiselect(key="playground_runs").value] == [
        run.id for run in RunStore(runs_dir).list()[::-1]
    ]
    assert "canvas is empty" in app.info[0].value, "a blank canvas asks for a drawing"
    app.segmented_control(key="playground_source").set_value("test").run()
    app.button(key="playground_random").click().run()
    assert not app.exception
    index = app.number_input(key="playground_index").value
    assert np.array_equal(app.session_state["playground_digit"], mnist.x_test[index])
    table = app.dataframe[0].value
    assert table["Model"].str.startswith(("tiny numpy", "tiny baseline")).all()
    # Class names: the digits, for MNIST runs.
    assert table["Prediction"].isin(list("0123456789")).all()
    chart = next(
        json.loads(chart.proto.spec)
        for chart in app.get("plotly_chart")
        if chart.proto.id.endswith("playground_probabilities")
    )
    assert [trace["name"] for trace in chart["data"]] == ["tiny numpy", "tiny baseline"]
    assert {trace["type"] for trace in chart["data"]} == {"bar"}


def test_upload_a_digit_and_a_broken_file(runs_dir, mnist):
    app = open_page("playground.py")
    app.segmented_control(key="playground_source").set_value("upload").run()
    # An MNIST digit drawn dark on light paper, as a photo of one would be.
    app.file_uploader(key="playground_upload").upload(
        "seven.png", png_of(255 - mnist.x_test[0]), "image/png"
    ).run()
    assert not app.exception and not app.error
    assert app.session_state["playground_digit"].shape == (28, 28)
    assert len(app.dataframe[0].value) == 2
    app.file_uploader(key="playground_upload").upload(
        "blank.png", png_of(np.full((200, 200), 230, dtype=np.uint8)), "image/png"
    ).run()
    assert not app.exception
    assert "No digit found in this image" in app.info[0].value
    assert "playground_digit" not in app.session_state
    app.file_uploader(key="playground_upload").upload(
        "broken.png", b"not an image", "image/png"
    ).run()
    assert not app.exception
    assert "could not be read as an image" in app.error[0].value
    assert "playground_digit" not in app.session_state


def explain_box(app: AppTest):
    (box,) = [box for box in app.selectbox if box.label == "Explain the score of"]
    return box


def test_explain_the_score_of_follows_the_digit_and_its_prediction(runs_dir):
    app = open_page("playground.py")
    app.segmented_control(key="playground_source").set_value("test").run()
    shown = []
    for index in range(12):
        app.number_input(key="playground_index").set_value(index).run()
        assert not app.exception
        # The explained model is the first chosen: the table's first row.
        row = app.dataframe[0].value.iloc[0]
        box = explain_box(app)
        # Never the empty choice ("Choose an option"), never the last digit's text.
        assert box.value is not None
        assert box.options[0] == f"its prediction, {row['Prediction']} ({row['Probability']:.1%})"
        if shown and row["Prediction"] != shown[0]:
            break
        if not shown:
            shown.append(row["Prediction"])
            # A class chosen for this digit is not carried to the next one.
            box.select_index(4).run()
            assert "of the score of **3**" in " ".join(m.value for m in app.markdown)
    else:
        pytest.fail("no two of the first test digits got different predictions")
    assert explain_box(app).index == 0
