"""AppTest of the Explore page: every tab renders, widgets drive what is shown."""

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mnist_lab.datasets import DatasetStore
from mnist_lab.runs import RunStore
from tests.shapes import write_shapes_idx

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "pages" / "explore.py"


@pytest.fixture
def app() -> AppTest:
    return AppTest.from_file(str(PAGE), default_timeout=60).run()


def open_section(app: AppTest, section: str) -> AppTest:
    app.session_state["explore_section"] = section
    return app.run()


def chart_specs(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def plotly_array(encoded: dict | list) -> np.ndarray:
    """Decode an array as plotly serializes it: a list, or {"dtype", "bdata"} in base64."""
    if isinstance(encoded, list):
        return np.array(encoded)
    return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=encoded["dtype"])


def grid_titles(spec: dict) -> list[str]:
    return [annotation["text"] for annotation in spec["layout"]["annotations"]]


def test_opens_on_the_class_distribution(app):
    assert not app.exception
    assert app.title[0].value == "Explore data"
    [spec] = chart_specs(app)
    assert [trace["name"] for trace in spec["data"]] == ["train", "test"]
    assert "Most common in train: 1 (11.2%); rarest: 5 (9.0%)" in app.caption[-1].value


def test_a_balanced_dataset_is_called_balanced_not_given_a_rarest_class(tmp_path):
    DatasetStore(RunStore().root).add_files(write_shapes_idx(tmp_path), "Shapes")
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.query_params["dataset"] = "Shapes"
    app.run()
    assert not app.exception
    assert app.caption[-1].value.startswith("Every class holds about 33.3% of train: the classes")


def test_class_distribution_switches_to_shares(app):
    app.segmented_control(key="explore_class_measure").set_value("share").run()
    assert not app.exception
    [spec] = chart_specs(app)
    assert spec["layout"]["yaxis"]["tickformat"] == ".0%"


def test_pixel_values_show_the_standardization_constants(app):
    open_section(app, "Pixel values")
    assert not app.exception
    constants = app.dataframe[0].value
    assert constants.loc["[0, 1]", "mean"].round(4) == 0.1307
    assert constants.loc["[0, 1]", "std"].round(4) == 0.3081
    assert "8.5% of pixel positions are 0 in every train image" in app.caption[-1].value
    ink = app.dataframe[1].value
    assert ink["digit"].tolist() == list(range(10))


def test_the_test_split_shows_the_training_splits_constants(app):
    open_section(app, "Pixel values")
    app.segmented_control(key="explore_split").set_value("test").run()
    constants = app.dataframe[0].value
    assert constants.loc["[0, 1]", "mean"].round(4) == 0.1307
    assert constants.loc["[0, 1]", "std"].round(4) == 0.3081
    assert "training split" in app.subheader[0].value
    caption = app.caption[-1].value
    assert "mean (0.1307)" in caption and "std (0.3081)" in caption
    assert "in every test image" in caption


def test_each_statistic_of_the_average_digits_is_explained_in_its_units(app):
    open_section(app, "Average digits")
    for moment, words in (
        ("mean", "from 0 (paper) to 255 (full ink)"),
        ("variance", "in squared grey levels"),
        ("std", "as a standard deviation in grey levels"),
    ):
        app.segmented_control(key="explore_moment").set_value(moment).run()
        assert words in app.caption[-1].value


def test_pixel_histogram_follows_digit_pixels_and_scale(app):
    open_section(app, "Pixel values")
    app.selectbox(key="explore_digit").set_value(3).run()
    app.segmented_control(key="explore_hist_pixels").set_value("non-zero").run()
    assert chart_specs(app)[0]["layout"]["yaxis"]["type"] == "log"
    app.toggle(key="explore_hist_log").set_value(False).run()
    assert not app.exception
    [spec] = chart_specs(app)
    assert spec["layout"]["yaxis"]["type"] == "linear"
    assert plotly_array(spec["data"][0]["x"]).tolist() == list(range(1, 256))
    assert app.dataframe[0].value.shape == (2, 3)


def test_average_digits_show_the_overall_image_and_a_grid_of_ten(app):
    open_section(app, "Average digits")
    app.segmented_control(key="explore_moment").set_value("variance").run()
    assert not app.exception
    overall, grid = chart_specs(app)
    assert overall["layout"]["title"]["text"] == "all digits: variance"
    assert grid_titles(grid) == [str(digit) for digit in range(10)]
    assert grid["data"][0]["colorscale"][0][1] == "#440154"


def test_gallery_filters_by_digit_and_split_and_reshuffles(app):
    open_section(app, "Gallery")
    app.selectbox(key="explore_gallery_digit").set_value(7).run()
    titles = grid_titles(chart_specs(app)[0])
    assert len(titles) == 40
    assert all(title.endswith(": 7") for title in titles)
    app.button(key="explore_reshuffle").click().run()
    assert app.number_input(key="explore_seed").value == 1
    reshuffled = grid_titles(chart_specs(app)[0])
    assert reshuffled != titles
    app.segmented_control(key="explore_split").set_value("test").run()
    assert not app.exception
    indices = [int(title[1:].split(":")[0]) for title in grid_titles(chart_specs(app)[0])]
    assert max(indices) < 10000
    assert "40 random test images" in app.caption[-1].value


def test_map_scatters_a_pca_sample_coloured_by_digit(app):
    open_section(app, "Map")
    app.selectbox(key="explore_map_samples").set_value(500).run()
    assert not app.exception
    [spec] = chart_specs(app)
    assert [trace["name"] for trace in spec["data"]] == [str(digit) for digit in range(10)]
    assert spec["layout"]["dragmode"] == "lasso"
    assert "500 random train images" in app.caption[-1].value


@pytest.mark.slow
def test_a_t_sne_map_shows_its_progress_then_the_map(app):
    open_section(app, "Map")
    app.selectbox(key="explore_map_samples").set_value(500)
    app.selectbox(key="explore_map_method").set_value("tsne").run()
    assert not app.exception
    assert "Computing the t-SNE map of 500 train digits" in str(app.get("progress")[0].proto)
    deadline = time.monotonic() + 180
    while not chart_specs(app) and time.monotonic() < deadline:
        time.sleep(2)
        app.run()
    [spec] = chart_specs(app)
    assert len(spec["data"]) == 10 and not app.get("progress")


def test_widget_choices_survive_switching_tabs(app):
    open_section(app, "Gallery")
    app.selectbox(key="explore_gallery_digit").set_value(4).run()
    open_section(app, "Classes")
    open_section(app, "Gallery")
    assert app.selectbox(key="explore_gallery_digit").value == 4


def test_page_never_imports_tensorflow():
    # A fresh interpreter, so imports made by other test modules cannot hide or fake one.
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_file({str(PAGE)!r}, default_timeout=60)\n"
        "app.run()\n"
        "for section in ('Pixel values', 'Average digits', 'Gallery', 'Map'):\n"
        "    app.session_state['explore_section'] = section\n"
        "    app.run()\n"
        "assert not app.exception, app.exception\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
