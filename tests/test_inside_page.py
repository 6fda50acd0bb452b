"""AppTest of the Inside page over runs made in the test: NumPy, a bare Keras run, a tiny CNN."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui.evaluate import inside_figures as views
from dashboard.ui.evaluate.figures.inside import histogram_lines_figure
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.engines.numpy_net import training
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.execution.worker import run_worker
from mnist_lab.preprocess import fit_normalizer
from mnist_lab.runs import RUNS_DIR_ENV, RunStore

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "inside.py")


def vanishing_records() -> list[dict]:
    """Gradient records of a deep sigmoid net: each layer back gets 10x less."""
    names = ["dense_1", "dense_2", "dense_3", "output"]
    return [
        {
            "kind": "gradients",
            "epoch": 1,
            "step": step,
            "layers": [
                {
                    "name": name,
                    "grad_norm": 10.0 ** (depth - 4),
                    "grad_rms": 10.0 ** (depth - 4),
                    "activation_mean_abs": 0.5,
                }
                for depth, name in enumerate(names)
            ],
        }
        for step in (1, 50, 100)
    ]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """A NumPy run trained on 1000 digits and a finished Keras run without a model file."""
    root = tmp_path_factory.mktemp("runs")
    store = RunStore(root)
    keras_run = store.create({"engine": "keras", "label": "deep-sigmoid"}, name="deep sigmoid")
    for record in vanishing_records():
        keras_run.append_metrics(record)
    keras_run.update_status(state="finished")
    numpy_run = store.create(NumpyNetSettings(epochs=1, subset=1000).to_dict(), name="numpy")
    assert training.train_run(numpy_run).state == "finished"
    numpy_run.update_status(state="finished")
    return root, numpy_run, keras_run


def open_page(monkeypatch, root, run_id=None) -> AppTest:
    monkeypatch.setenv(RUNS_DIR_ENV, str(root))
    app = AppTest.from_file(PAGE, default_timeout=90)
    if run_id:
        app.query_params["run"] = run_id
    return app.run()


def test_no_runs_says_train_first(monkeypatch, tmp_path):
    app = open_page(monkeypatch, tmp_path)
    assert not app.exception
    assert "Train a model on the Train page first" in app.info[0].value


def test_numpy_run_shows_weights_activations_gradients_histograms(monkeypatch, runs_dir):
    root, numpy_run, _ = runs_dir
    app = open_page(monkeypatch, root, numpy_run.id)
    assert not app.exception
    assert app.selectbox(key="inside_run").value == numpy_run.id
    assert [h.value for h in app.subheader] == [
        "First-layer weights (20 of 20 units)",
        "Digit templates",
    ]
    assert "hidden: 20 unit activations" in [m.value.replace("**", "") for m in app.markdown]
    # The colours mean what they mean on Evaluate's saliency maps: red raises, blue lowers.
    captions = " ".join(caption.value for caption in app.caption)
    assert "red pixels raise its activation, blue ones lower it" in captions
    assert "red pixels raise it, blue ones lower it" in captions
    assert any("flow well" in box.value for box in app.success)
    assert app.selectbox(key="inside_hist_layer").options == ["hidden", "output"]
    app.number_input(key="inside_digit").set_value(7).run()
    app.radio(key="inside_hist_quantity").set_value("activations").run()
    assert not app.exception and app.caption[-1].value != ""
    assert "Label: 9" in [c.value for c in app.caption]


def test_vanishing_gradients_are_called_out_and_compared(monkeypatch, runs_dir):
    root, numpy_run, keras_run = runs_dir
    app = open_page(monkeypatch, root, keras_run.id)
    assert not app.exception
    assert "no saved weights yet" in app.info[0].value
    assert "vanishing gradients" in app.warning[0].value and "1,000x" in app.warning[0].value
    app.selectbox(key="inside_compare").set_value(numpy_run.id).run()
    assert any("flow well" in box.value for box in app.success)


def test_playground_drawing_can_be_the_input(monkeypatch, runs_dir):
    root, numpy_run, _ = runs_dir
    monkeypatch.setenv(RUNS_DIR_ENV, str(root))
    app = AppTest.from_file(PAGE, default_timeout=90)
    app.query_params["run"] = numpy_run.id
    drawing = np.zeros((28, 28), dtype=np.uint8)
    drawing[4:24, 13:15] = 255
    app.session_state["playground_digit"] = drawing
    app.run()
    app.radio(key="inside_source").set_value("Your drawing").run()
    assert not app.exception
    assert not any(c.value.startswith("Label:") for c in app.caption)


def test_keras_cnn_shows_filters_and_feature_maps(monkeypatch, tmp_path):
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ]
    )
    run = RunStore(tmp_path).create({"engine": "keras", "label": "tiny-cnn"})
    model.save(run.file("model.keras"))
    normalizer = fit_normalizer("scale", np.zeros((1, 28, 28), np.uint8))
    run.write_json("normalizer.json", normalizer.to_dict())
    run.update_status(state="finished")
    app = open_page(monkeypatch, tmp_path, run.id)
    assert not app.exception
    assert [h.value for h in app.subheader] == ["First convolution: 4 filters"]
    assert "conv: 4 feature maps" in [m.value.replace("**", "") for m in app.markdown]
    assert "recorded no gradient flow" in app.info[0].value
    assert "No other recent run recorded its gradient flow" in " ".join(
        c.value for c in app.caption
    )
    assert not [box for box in app.selectbox if box.key == "inside_compare"]


def test_the_baseline_says_why_it_has_no_layers_to_inspect(monkeypatch, tmp_path):
    store = RunStore(tmp_path)
    numpy_run = store.create(NumpyNetSettings(epochs=1, subset=500).to_dict(), name="numpy")
    assert training.train_run(numpy_run).state == "finished"
    numpy_run.update_status(state="finished")
    conv = store.create({"engine": "keras", "label": "simple-cnn"}, name="a cnn")
    conv.update_status(state="finished")
    baseline = store.create(LogregSettings(subset=500, max_iter=20).to_dict(), name="baseline")
    assert run_worker(baseline.path) == "finished"
    app = open_page(monkeypatch, tmp_path, baseline.id)
    assert not app.exception
    said = " ".join(box.value for box in app.info)
    assert "so it has no gradient flow to show" in said
    assert "so it has no weight and activation histograms" in said
    assert "convolutional" not in said and "yet" not in said
    # The run to compare gradients with has gradients: not the newer CNN that has none.
    assert app.selectbox(key="inside_compare").value == numpy_run.id


def test_histograms_of_many_epochs_share_one_colour_scale_with_a_colour_bar():
    series = pd.DataFrame(
        [
            {"epoch": epoch, "center": center, "density": 1.0 + epoch}
            for epoch in range(26)
            for center in (-1.0, 0.0, 1.0)
        ]
    )
    figure = histogram_lines_figure(series, "weights")
    lines = [trace for trace in figure.data if trace.mode == "lines"]
    assert len(lines) == 26 and len({trace.line.color for trace in lines}) == 26
    assert not any(trace.showlegend for trace in figure.data)
    (scale,) = [trace for trace in figure.data if trace.marker.showscale]
    assert scale.marker.colorbar.title.text == "epoch" and scale.marker.cmax == 25


def test_records_that_arrive_between_reruns_show_at_once_and_damage_still_reads(
    monkeypatch, tmp_path
):
    # The page's views are kept per version of the records: a new version is drawn afresh.
    run = RunStore(tmp_path).create({"engine": "keras", "label": "deep-sigmoid"}, name="live")
    run.update_status(state="finished")
    app = open_page(monkeypatch, tmp_path, run.id)
    assert not app.exception
    assert any("recorded no gradient flow" in box.value for box in app.info)
    for record in vanishing_records():
        run.append_metrics(record)
    app.run()
    assert not app.exception
    assert "vanishing gradients" in app.warning[0].value
    run.file("metrics.jsonl").write_text("not json\n")
    app.run()
    assert not app.exception
    assert any("recorded no gradient flow" in box.value for box in app.info)


def test_the_gradient_flow_is_drawn_again_for_new_gradients_only(tmp_path):
    """A live run's batch records arrive every second: its drawn gradient flow stays."""
    run = RunStore(tmp_path).create({"engine": "keras", "label": "deep-sigmoid"}, name="live")
    first, *later = vanishing_records()
    run.append_metrics(first)
    drawn = views.gradient_flow(str(run.path), views.records_version(run))
    run.append_metrics({"kind": "batch", "epoch": 1, "step": 60, "window_steps": 10, "loss": 1.0})
    assert views.gradient_flow(str(run.path), views.records_version(run)) is drawn
    run.append_metrics(later[0])
    redrawn = views.gradient_flow(str(run.path), views.records_version(run))
    assert redrawn is not drawn and len(redrawn.figure.data) == len(drawn.figure.data)
