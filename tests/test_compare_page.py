"""AppTest of the Compare page: the run table, curves, network vs baseline, rename and delete."""

import ast
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from streamlit.elements.lib import policies
from streamlit.testing.v1 import AppTest
from test_evaluate_page import NETWORK_CONFIG, make_finished_run, runs  # noqa: F401 (fixture)

from dashboard.ui.app.text import plain_markdown
from dashboard.ui.train.shared_figures import shared_learning_curves_figure
from mnist_lab.assignments.secrecy import secret_parts
from mnist_lab.assignments.store import AssignmentStore, Goal
from mnist_lab.evaluation import load_predictions
from mnist_lab.processes import process_start_time
from mnist_lab.runs import CONFIG_FILE, RunStore

PAGE = Path(__file__).resolve().parents[1] / "pages" / "compare.py"
EVALUATE = PAGE.parent / "evaluate.py"


def open_page() -> AppTest:
    return AppTest.from_file(str(PAGE), default_timeout=60).run()


def table(app: AppTest):
    return app.dataframe[0].value


def test_lists_every_run_best_first(runs):  # noqa: F811
    _, network, baseline = runs
    app = open_page()
    assert not app.exception
    shown = table(app)
    assert shown["Run id"].tolist() == [network.id, baseline.id]
    assert shown["Name"].tolist() == ["My <b>net</b>", "baseline"]
    assert shown["Engine"].tolist() == ["keras", "sklearn"]
    assert shown["Optimizer"].tolist() == ["adam", "—"], "a baseline has no optimizer: a dash"
    assert shown["Training time (s)"].str.strip().tolist() == ["90.0", "90.0"]
    assert shown["Status"].tolist() == ["finished", "finished"]
    accuracies = shown["Test accuracy"].str.strip().tolist()
    assert all(accuracy.endswith("%") and accuracy[-4] == "." for accuracy in accuracies)
    assert accuracies[0] > accuracies[1]
    assert "None" not in shown.to_string()


def test_the_id_column_is_left_out_while_no_run_has_a_name_of_its_own(runs):  # noqa: F811
    store, network, baseline = runs
    for run in (network, baseline):
        run.write_json(CONFIG_FILE, {k: v for k, v in run.config().items() if k != "name"})
    shown = table(open_page())
    assert "Run id" not in shown.columns
    assert sorted(shown["Name"]) == sorted([network.id, baseline.id])


def test_curves_and_network_against_baseline(runs):  # noqa: F811
    _, network, baseline = runs
    app = open_page()
    assert app.multiselect(key="compare_curves").value == [network.id, baseline.id]
    assert app.selectbox(key="compare_network").value == network.id
    assert app.selectbox(key="compare_baseline").value == baseline.id
    charts = {chart.proto.id: json.loads(chart.proto.spec) for chart in app.get("plotly_chart")}
    # Curves, per digit, difference, two galleries, reliability diagram, suspicious labels.
    assert len(charts) == 7
    curves = next(spec for spec in charts.values() if "loss" in json.dumps(spec["layout"]))
    names = {trace["name"] for trace in curves["data"]}
    # Names reach plotly escaped, so a run called "<b>net</b>" is not drawn bold.
    assert "My &lt;b&gt;net&lt;/b&gt; (validation)" in names
    assert "baseline (train)" in names and "baseline (validation)" not in names
    markdown = " ".join(m.value for m in app.markdown)
    assert "Only the network gets right" in markdown


def test_damaged_run_is_shown_as_damaged_and_the_rest_still_works(runs):  # noqa: F811
    store, network, _ = runs
    broken = store.create(NETWORK_CONFIG, name="broken")
    broken.file(CONFIG_FILE).write_text('{"engine": "ker')
    app = open_page()
    assert not app.exception
    shown = table(app)
    assert shown.loc[shown["Run id"] == broken.id, "Status"].item() == "damaged"
    assert any(broken.id in w.value and "damaged" in w.value for w in app.warning)
    assert app.selectbox(key="compare_network").value == network.id


def test_rename_validates_and_renames(runs):  # noqa: F811
    _, network, _ = runs
    app = open_page()
    app.selectbox(key="compare_manage").set_value(network.id)
    app.text_input(key="compare_new_name").set_value("   ")
    app.button(key="compare_rename").click().run()
    assert "cannot be empty" in app.error[0].value
    app.text_input(key="compare_new_name").set_value("x" * 95)
    app.button(key="compare_rename").click().run()
    assert "at most 80 characters; this one has 95" in app.error[0].value
    app.text_input(key="compare_new_name").set_value("wide relu")
    app.button(key="compare_rename").click().run()
    assert not app.exception and not app.error
    assert network.name == "wide relu"
    assert "wide relu" in table(app)["Name"].tolist()
    assert app.success[0].value == r"Renamed “My \<b\>net\<\/b\>” to “wide relu”\."


def test_a_renamed_run_is_relabelled_in_every_picker(runs, monkeypatch, caplog):  # noqa: F811
    _, network, _ = runs
    # Streamlit checks a widget's default against Session State only under a server.
    monkeypatch.setattr(policies.runtime, "exists", lambda: True)
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    app = open_page()
    app.selectbox(key="compare_manage").set_value(network.id)
    app.text_input(key="compare_new_name").set_value("wide relu")
    app.button(key="compare_rename").click().run()
    for key in ("compare_manage", "compare_network"):
        picker = app.selectbox(key=key)
        assert picker.value == network.id and picker.format_func(picker.value).startswith(
            "wide relu"
        )
    assert app.multiselect(key="compare_curves").value[0] == network.id
    # Given again through Session State, a picker with a default would warn about both.
    assert "Session State API" not in caplog.text


def test_two_runs_with_one_name_can_be_told_apart(runs, mnist):  # noqa: F811
    store, network, _ = runs
    twin = make_finished_run(store, NETWORK_CONFIG, mnist.y_test, 0.03, 1, network.name)
    app = open_page()
    labels = app.selectbox(key="compare_manage").options
    assert len(set(labels)) == len(labels) == 3
    assert any(twin.id in label for label in labels)


def test_delete_needs_confirmation_and_refuses_live_runs(runs):  # noqa: F811
    store, network, baseline = runs
    live = store.create(NETWORK_CONFIG, name="live")
    pid = os.getpid()
    live.update_status(state="running", pid=pid, pid_start=process_start_time(pid))
    app = open_page()
    assert app.button(key="compare_delete").disabled
    app.selectbox(key="compare_manage").set_value(live.id)
    app.checkbox(key="compare_confirm_delete").check().run()
    app.button(key="compare_delete").click().run()
    assert "still running: stop it first" in app.error[0].value
    assert live.path.exists()
    app.selectbox(key="compare_manage").set_value(baseline.id)
    app.button(key="compare_delete").click().run()
    assert not app.exception
    assert not baseline.path.exists()
    assert baseline.id not in table(app)["Run id"].tolist()
    assert app.success[0].value == "Deleted “baseline”\\."


@pytest.mark.parametrize("runs_dir_exists", [True, False])
def test_no_runs(tmp_path, monkeypatch, runs_dir_exists):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path if runs_dir_exists else tmp_path / "x"))
    app = open_page()
    assert not app.exception
    assert "No runs yet" in app.info[0].value


@pytest.fixture
def no_dispatcher(monkeypatch):
    """The runs the page launches wait in the queue: no dispatcher trains them."""
    started = []
    monkeypatch.setattr("mnist_lab.execution.local.ensure_dispatcher", started.append)
    return started


@pytest.mark.parametrize(
    ("page", "key", "query"),
    [(PAGE, "compare_baseline", False), (EVALUATE, "evaluate_baseline", True)],
)
def test_without_a_baseline_one_click_launches_it(runs, no_dispatcher, page, key, query):  # noqa: F811
    store, network, baseline = runs
    store.delete(baseline.id)
    app = AppTest.from_file(str(page), default_timeout=60)
    app.session_state["identity_name"] = "Ada"
    if query:
        app.query_params["run"] = network.id
    app.run()
    assert not app.exception
    assert not [info for info in app.info if "python -m" in info.value], "no command line"
    app.button(key=f"{key}_button").click().run()
    assert not app.exception and not app.error
    [launched] = [run for run in store.list() if run != network]
    config = launched.config()
    assert (config["engine"], config["normalization"], launched.owner) == (
        "sklearn",
        "scale",
        "Ada",
    )
    assert launched.status()["state"] == "queued" and no_dispatcher
    # The page follows it until it ends.
    assert plain_markdown("Baseline: queued.") in " ".join(caption.value for caption in app.caption)
    assert not [button for button in app.button if button.key == f"{key}_button"]


def test_without_a_baseline_the_training_label_issues_offer_its_button(runs, no_dispatcher):  # noqa: F811
    store, network, baseline = runs
    store.delete(baseline.id)
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.session_state["identity_name"] = "Ada"
    app.run()
    app.segmented_control(key="compare_labels_split").set_value("train").run()
    assert not app.exception
    assert not [info for info in app.info if "python -m" in info.value], "no command line"
    app.button(key="compare_labels_baseline_button").click().run()
    assert not app.exception and not app.error
    [launched] = [run for run in store.list() if run != network]
    assert launched.config()["engine"] == "sklearn" and launched.owner == "Ada"


def user_strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module that are not docstrings, with their line."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_page_sends_a_student_to_the_command_line():
    root = PAGE.parents[1]
    scripts = [*(root / "dashboard").rglob("*.py"), *(root / "pages").glob("*.py")]
    told = [
        f"{path.relative_to(root)}:{line}"
        for path in scripts
        for line, text in user_strings(path)
        if "python -m mnist_lab" in text
    ]
    assert told == [], "a no-code app offers a button, not a command"


def test_an_open_assignment_scores_the_table_and_the_comparison_on_the_visible_digits(
    runs,  # noqa: F811
    mnist,
):
    store, network, baseline = runs
    assignment = AssignmentStore(store).create(
        "Half hidden", Goal("accuracy", 0.9), deadline=datetime.now(UTC) + timedelta(days=1)
    )
    visible = ~assignment.hidden_part()
    app = open_page()
    assert not app.exception
    predicted = {run.id: load_predictions(run)[1].argmax(axis=1) for run in (network, baseline)}
    on_part = {
        run_id: np.mean(y_pred[visible] == mnist.y_test[visible])
        for run_id, y_pred in predicted.items()
    }
    shown = table(app)
    assert shown["Test accuracy"].str.strip().tolist() == [
        f"{on_part[network.id]:.2%}",
        f"{on_part[baseline.id]:.2%}",
    ]
    (part,) = secret_parts(store.root).values()
    assert plain_markdown(part.describe()) in [caption.value for caption in app.caption]
    only_network = np.sum(
        visible & (predicted[network.id] == mnist.y_test) & (predicted[baseline.id] != mnist.y_test)
    )
    markdown = " ".join(m.value for m in app.markdown)
    assert f"Only the network gets right** ({only_network} images" in markdown


def test_the_overlaid_curves_are_drawn_again_for_new_epochs_only(tmp_path):
    """A live run's batch records arrive every second: the overlay of its epochs stays."""
    run = RunStore(tmp_path).create(NETWORK_CONFIG, name="live")
    run.append_metrics({"kind": "epoch", "epoch": 1, "loss": 1.0, "accuracy": 0.8})
    drawn = shared_learning_curves_figure({"live": run})
    run.append_metrics({"kind": "batch", "epoch": 2, "step": 60, "window_steps": 10, "loss": 0.9})
    assert shared_learning_curves_figure({"live": run}) is drawn
    run.append_metrics({"kind": "epoch", "epoch": 2, "loss": 0.8, "accuracy": 0.9})
    redrawn = shared_learning_curves_figure({"live": run})
    assert redrawn is not drawn and len(redrawn.data[0].x) == 2
