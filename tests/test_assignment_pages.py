"""AppTest of assignments on the pages: the teacher sets one on the Class page and reads its
results; students see it on Home and Train, with their best run and its broken constraint.

The runs are real NumPy runs on 1,000 digits (under a second each): grading recounts their
parameters from the saved weights and scores their saved predictions.
"""

import io
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui.app.text import plain_markdown
from dashboard.ui.assignments.student_view import PENDING_KEY
from mnist_lab.assignments.constraints import make_constraint
from mnist_lab.assignments.store import ASSIGNMENT_FILE, AssignmentStore, Goal
from mnist_lab.engines import get_engine
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.lessons.held_out import ACCURACY, growing_gap, lucky_models, wobble
from mnist_lab.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]
CLASS_PAGE = ROOT / "pages" / "classroom.py"
HOME = ROOT / "dashboard" / "Home.py"
# Every student trains on 1,000 digits in batches of 16: about 75% after two epochs.
SMALL = {"subset": 1000, "batch_size": 16}
# Ada keeps the rules; Bob's 30 hidden units make 23,860 parameters; Cy trains 4 epochs.
STUDENTS = {
    "Ada": {"hidden_units": 20, "epochs": 2},
    "Bob": {"hidden_units": 30, "epochs": 2},
    "Cy": {"hidden_units": 20, "epochs": 4},
}
GOAL = Goal("accuracy", 0.6)


def train(store: RunStore, owner: str, name: str, **settings) -> None:
    """A real NumPy run of ``owner``, trained here and recorded finished as a worker does."""
    config = NumpyNetSettings(**SMALL, **settings).to_dict()
    run = store.create(config, name=name, owner=owner)
    assert get_engine("numpy").train(run).state == "finished"
    run.update_status(state="running")
    ended = datetime.now(UTC).isoformat(timespec="seconds")
    run.update_status(state="finished", message="Done.", ended=ended)


@pytest.fixture(scope="module")
def class_runs(tmp_path_factory):
    """Ada's, Bob's and Cy's finished runs, made once for the module."""
    store = RunStore(tmp_path_factory.mktemp("assignments") / "runs")
    for student, settings in STUDENTS.items():
        train(store, student, f"{student.lower()} <b>net</b>", **settings)
    return store


@pytest.fixture
def runs_dir(class_runs, tmp_path, monkeypatch):
    """A copy of the class's runs (assignments added by a test stay in it)."""
    root = tmp_path / "runs"
    shutil.copytree(class_runs.root, root)
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(root))
    return root


def the_assignment(root: Path, *more, **fields):
    """The 20,000-parameter, 3-epoch assignment (and ``more`` constraints), set with the library."""
    constraints = [
        make_constraint("parameters", "at_most", 20_000),
        make_constraint("epochs", "at_most", 3),
        *more,
    ]
    # Opened yesterday: the class's runs, made before the test, count.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    fields = {"text": "Small **and** quick.", "opens_at": yesterday, **fields}
    return AssignmentStore(RunStore(root)).create("Small nets", GOAL, constraints, **fields)


def open_class_page() -> AppTest:
    app = AppTest.from_file(str(CLASS_PAGE), default_timeout=90).run()
    assert not app.exception
    return app


def add_constraint(app: AppTest, setting: str, rule: str, value) -> None:
    app.selectbox(key="classroom_asg_setting").set_value(setting).run()
    app.selectbox(key=f"classroom_asg_rule_{setting}").set_value(rule).run()
    # In the builder's form: the value goes with the click on Add.
    app.number_input(key=f"classroom_asg_value_{setting}_{rule}").set_value(value)
    app.button(key="classroom_asg_add").click().run()
    assert not app.exception


def results_table(app: AppTest) -> pd.DataFrame:
    return next(frame.value for frame in app.dataframe if "Why not" in frame.value.columns)


def test_the_teacher_creates_an_assignment_and_reads_who_passes(runs_dir):
    app = open_class_page()
    app.text_input(key="classroom_asg_title").input("At least 60%, small and quick").run()
    app.text_area(key="classroom_asg_text").input("Keep it *small*.").run()
    app.number_input(key="classroom_asg_accuracy").set_value(60.0).run()
    # Opened yesterday, so the runs made before the test count.
    app.date_input(key="classroom_asg_open_day").set_value(date.today() - timedelta(days=1)).run()
    add_constraint(app, "parameters", "at_most", 20_000)
    add_constraint(app, "epochs", "at_most", 3)
    assert [m.value for m in app.markdown if m.value.startswith("- ")] == [
        "- parameters at most 20\\,000",
        "- epochs at most 3",
    ]
    app.button(key="classroom_asg_save").click().run()
    assert not app.exception
    assert "Saved" in app.success[0].value
    [listed] = AssignmentStore(RunStore(runs_dir)).list()
    made = listed.assignment
    assert made.title == "At least 60%, small and quick" and made.goal == GOAL
    assert [c.describe() for c in made.constraints] == [
        "parameters at most 20,000",
        "epochs at most 3",
    ]
    assert app.text_input(key="classroom_asg_title").value == "", "the form is empty again"

    table = results_table(app).set_index("Student")
    assert table.loc["Ada", "Passes"] == "yes"
    assert table.loc["Bob", "Passes"] == "no" and "parameters" in table.loc["Bob", "Why not"]
    assert table.loc["Bob", "Parameters"] == "23,860", "counted from the saved weights"
    assert table.loc["Cy", "Passes"] == "no" and "epochs" in table.loc["Cy", "Why not"]
    assert table.loc["Ada", "Run"] == "ada <b>net</b>", "names shown as typed"
    assert all(table["Hidden part"] != "—"), "the teacher sees the hidden part"
    assert app.get("plotly_chart"), "the two parts side by side"


def test_the_gradebook_downloads_as_csv(runs_dir):
    the_assignment(runs_dir)
    app = open_class_page()
    [button] = [b for b in app.get("download_button") if "gradebook" in b.proto.label]
    from dashboard.ui.assignments.results_view import assignments_section  # noqa: F401
    from mnist_lab.assignments.grading import gradebook, gradebook_csv

    assignments = AssignmentStore(RunStore(runs_dir))
    book = gradebook(assignments, assignments.list()[0].id, None, teacher=True)
    csv = pd.read_csv(io.StringIO(gradebook_csv(book)))
    assert {"student", "run", "passed", "broken"} <= set(csv.columns)
    assert csv.set_index("student").loc["Bob", "passed"] in (False, "False")


def test_the_teacher_closes_an_assignment_and_its_grades_freeze(runs_dir):
    made = the_assignment(runs_dir)
    app = open_class_page()
    app.button(key="classroom_asg_close").click().run()
    assert not app.exception
    assert AssignmentStore(RunStore(runs_dir)).get(made.id).state() == "closed"
    assert any("Grades frozen" in caption.value for caption in app.caption)
    assert app.button(key="classroom_asg_reopen").label == "Open again"


def test_a_template_fills_the_form_and_edit_loads_an_assignment(runs_dir):
    app = open_class_page()
    app.selectbox(key="classroom_asg_template").set_value("small-network").run()
    assert not app.exception
    assert app.text_input(key="classroom_asg_title").value.startswith("Reach 98%")
    assert any("parameters" in m.value for m in app.markdown if m.value.startswith("- "))

    made = the_assignment(runs_dir)
    app = open_class_page()
    app.button(key="classroom_asg_edit").click().run()
    assert app.text_input(key="classroom_asg_title").value == "Small nets"
    app.text_input(key="classroom_asg_title").input("Small nets, renamed").run()
    app.button(key="classroom_asg_save").click().run()
    assert not app.exception
    assert AssignmentStore(RunStore(runs_dir)).get(made.id).title == "Small nets, renamed"


def test_a_damaged_assignment_reads_as_damaged_and_the_others_work(runs_dir):
    good = the_assignment(runs_dir)
    bad = the_assignment(runs_dir, text="")
    AssignmentStore(RunStore(runs_dir)).folder(bad.id).joinpath(ASSIGNMENT_FILE).write_text("{")
    app = open_class_page()
    assert plain_markdown(bad.id) in app.warning[0].value
    assert "cannot be read" in app.warning[0].value
    assert app.selectbox(key="classroom_asg_pick").options == [f"{good.title} (open)"]
    assert not results_table(app).empty


def open_as_student(name: str) -> AppTest:
    app = AppTest.from_file(str(HOME), default_timeout=90)
    app.session_state["identity_name"] = name
    return app.run()


def test_students_see_open_assignments_and_their_own_best_run_on_home(runs_dir):
    the_assignment(runs_dir)
    app = open_as_student("Bob")
    assert not app.exception
    shown = [m.value for m in app.markdown]
    assert "**Small nets**" in shown
    assert "Small \\*\\*and\\*\\* quick\\." in shown, "the text shows as typed"
    # Markdown-escaped (a run name is user text): read it without the backslashes.
    [verdict] = [info.value.replace("\\", "") for info in app.info if "best run" in info.value]
    assert "does not pass" in verdict and "parameters" in verdict
    assert "ada" not in verdict.lower(), "only their own runs"
    # Before the deadline: no score on the hidden part.
    assert "hidden part's score shows after the deadline" in verdict


def test_the_hidden_score_shows_to_students_after_the_deadline(runs_dir):
    made = the_assignment(runs_dir)
    from mnist_lab.assignments.grading import close

    close(AssignmentStore(RunStore(runs_dir)), made.id)
    app = open_as_student("Ada")
    [verdict] = [box.value.replace("\\", "") for box in app.success if "best run" in box.value]
    assert "passes" in verdict and "on the hidden part it is graded on" in verdict


def open_train_as(name: str, assignment_id: str) -> AppTest:
    app = open_as_student(name)
    app.session_state[PENDING_KEY] = assignment_id
    app.switch_page("../pages/train.py").run()
    assert not app.exception
    return app


def test_starting_from_an_assignment_fills_the_form_and_marks_broken_settings(runs_dir):
    made = the_assignment(runs_dir, make_constraint("engine", "equals", "numpy"))
    app = open_train_as("Cy", made.id)
    assert app.session_state["train_engine"] == "numpy", "the engine it fixes"
    assert any("Following the assignment" in m.value for m in app.markdown)
    # The NumPy network's 5 epochs by default: marked under the widget before any launch.
    marks = [c.value.replace("\\", "") for c in app.caption if "Assignment:" in c.value]
    assert ":red[Assignment: ✗ epochs is 5: at most 3 allowed]" in marks
    warning = next(w.value for w in app.warning if "break the assignment" in w.value)
    warning = warning.replace("\\", "")
    assert "epochs is 5" in warning
    assert not app.button(key="train_numpy_launch").disabled, "marked, not refused"

    app.number_input(key="train_numpy_epochs").set_value(3).run()
    assert not app.exception
    marks = [c.value.replace("\\", "") for c in app.caption if "Assignment:" in c.value]
    assert "Assignment: ✓ epochs at most 3" in marks
    assert any("keep every constraint" in box.value for box in app.success)
    assert len(RunStore(runs_dir).list()) == len(STUDENTS), "nothing launched by the marks"


def test_the_lesson_on_the_hidden_part_is_worded_from_real_numbers(runs_dir):
    app = open_as_student("Ada")
    app.switch_page("../pages/lessons.py").run()
    app.selectbox(key="lessons_pick").set_value("held-out").run()
    assert not app.exception
    picked = lucky_models(10_000)
    verdict = app.success[0].value
    assert f"{picked.visible[picked.best]:.2%}" in verdict
    assert f"{picked.hidden[picked.best]:.2%}" in verdict
    paragraphs = [m.value.replace("\\", "") for m in app.markdown]
    # The class's three runs, scored on the lesson's two parts from their saved predictions.
    [runs] = [p for p in paragraphs if p.startswith("The lab's own 3 finished runs")]
    assert "<b>net</b>" in runs, "a run's name, shown as typed"
    chart = app.get("plotly_chart")[0]
    assert '"models compared on the visible part"' in chart.proto.spec


def test_picking_the_best_of_equally_good_models_overfits_the_visible_part():
    picked = lucky_models(10_000)
    assert picked.n_visible + picked.n_hidden == 10_000
    assert picked.visible[picked.best] > ACCURACY + wobble(ACCURACY, picked.n_visible)
    assert picked.gap > 0
    gaps = growing_gap(picked)
    assert gaps[0]["models"] == 1 and gaps[-1]["models"] == len(picked.names)
    assert gaps[-1]["visible"] - ACCURACY > gaps[0]["visible"] - ACCURACY


def test_deleting_a_run_on_compare_after_the_deadline_keeps_it_in_the_grades(runs_dir):
    store = RunStore(runs_dir)
    runs = {run.owner: run for run in store.list()}
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    for run in runs.values():
        run.update_status(ended=an_hour_ago.isoformat(timespec="seconds"))
    # Ended a minute ago and read by nobody since: its grades are not frozen yet.
    assignment = the_assignment(runs_dir, deadline=datetime.now(UTC) - timedelta(minutes=1))
    assignments = AssignmentStore(store)
    assert assignments.frozen(assignment.id) is None
    app = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=60).run()
    app.selectbox(key="compare_manage").set_value(runs["Ada"].id)
    app.checkbox(key="compare_confirm_delete").check().run()
    app.button(key="compare_delete").click().run()
    assert not app.exception and not runs["Ada"].path.exists()
    frozen = assignments.frozen(assignment.id)
    assert frozen is not None and "Ada" in {result.student for result in frozen.results}
