"""Assignments: constraints through the declarations, the file, grading real runs, freezing."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from mnist_lab.assignments import grading
from mnist_lab.assignments.constraints import (
    Constraint,
    constrainable,
    draft_breaks,
    fixed_settings,
    make_constraint,
    parse_value,
    recorded_breaks,
    rules_for,
)
from mnist_lab.assignments.heldout import cut, packed, part_scores, unpacked
from mnist_lab.assignments.store import AssignmentStore, Goal
from mnist_lab.assignments.templates import create_from_template, templates
from mnist_lab.datasets import DatasetStore
from mnist_lab.engines import get_engine
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.evaluation import load_predictions
from mnist_lab.execution.worker import run_worker
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import RunStore
from tests.shapes import N_TEST, write_shapes_idx

# 1,000 standardized digits in one epoch reach about 66% with this recipe; the goal is below.
RECIPE = {
    "subset": 1000,
    "learning_rate": 0.2,
    "batch_size": 16,
    "normalization": "standardize",
    "epochs": 1,
    "seed": 0,
}
GOAL = Goal("accuracy", 0.5)
# 784*20 + 20 + 20*10 + 10 parameters for 20 hidden units, 31,810 for 40.
SMALL, LARGE = 15_910, 31_810


def train(store, owner, **settings):
    run = store.create(NumpyNetSettings(**{**RECIPE, **settings}).to_dict(), owner=owner)
    assert run_worker(run.path) == "finished"
    return run


def ended(run):
    return datetime.fromisoformat(run.status()["ended"])


@pytest.fixture(scope="module")
def class_runs(tmp_path_factory):
    """Three students' real runs: one passing, one too large, one too long."""
    store = RunStore(tmp_path_factory.mktemp("class"))
    runs = {
        "ada": train(store, "ada", hidden_units=20, epochs=1),
        "bob": train(store, "bob", hidden_units=40, epochs=1),
        "cy": train(store, "cy", hidden_units=20, epochs=4),
    }
    return store, runs


def small_assignment(assignments, runs, **fields):
    start = min(ended(run) for run in runs.values()) - timedelta(minutes=5)
    return assignments.create(
        "At least 50% with at most 20,000 parameters in at most 3 epochs",
        GOAL,
        [make_constraint("parameters", "at_most", 20_000), make_constraint("epochs", "at_most", 3)],
        opens_at=start,
        **fields,
    )


def test_a_constraint_is_checked_by_the_declaration_of_its_setting():
    assert make_constraint("epochs", "at_most", 3).describe() == "epochs at most 3"
    assert make_constraint("optimizer", "equals", "sgd", "keras").value == "sgd"
    with pytest.raises(ValueError, match=r"optimizer must be one of \['sgd'"):
        make_constraint("optimizer", "equals", "lbfgs", "keras")
    with pytest.raises(ValueError, match="'colour' is not a setting of any engine"):
        make_constraint("colour", "equals", "red")
    with pytest.raises(ValueError, match="epochs must be a whole number in \\[1, 100\\]"):
        make_constraint("epochs", "at_most", 1000, "numpy")
    with pytest.raises(ValueError, match="optimizer takes the rules"):
        make_constraint("optimizer", "at_most", 3, "keras")
    with pytest.raises(ValueError, match="layer_types takes types of"):
        make_constraint("layers", "layer_types", ["Transformer"])
    assert rules_for("layers") == ("layer_types",) and rules_for("engine") == ("equals", "one_of")
    with pytest.raises(ValueError, match="nesterov takes the rules \\['equals'\\], not at_most"):
        make_constraint("nesterov", "at_most", 1)
    assert {"engine", "parameters", "epochs", "optimizer"} <= set(constrainable())
    assert not {"seed", "dataset"} & set(constrainable())
    assert parse_value("nesterov", "true", "keras") is True
    assert parse_value("epochs", "3", "numpy") == 3


def test_a_draft_is_marked_before_launch_where_it_breaks_a_constraint():
    constraints = [
        make_constraint("engine", "equals", "keras"),
        make_constraint("epochs", "at_most", 3),
        make_constraint("parameters", "at_most", 20_000),
        make_constraint("layers", "layer_types", ["Dense", "Dropout"]),
    ]
    assert fixed_settings(constraints) == {"engine": "keras"}
    conv = [{"type": "Conv2D", "filters": 8, "kernel": 3}, {"type": "Dense", "units": 32}]
    draft = {"engine": "keras", "epochs": 5, "preset": "custom", "layers": conv}
    marked = {broken.setting: broken.reason for broken in draft_breaks(constraints, draft)}
    assert marked.keys() == {"epochs", "parameters", "layers"}
    assert marked["epochs"] == "epochs is 5: at most 3 allowed"
    assert marked["layers"] == "the network has Conv2D layers: only Dense, Dropout allowed"
    assert draft_breaks(constraints, {"engine": "keras", "epochs": 2, "preset": "softmax"}) == []
    (engine,) = draft_breaks(constraints[:1], {"engine": "numpy"})
    assert engine.setting == "engine" and engine.reason == "engine is numpy: keras required"


def test_unknown_facts_break_a_finished_run_but_not_a_draft():
    limit = [Constraint("training_seconds", "at_most", 60)]
    assert draft_breaks(limit, {"engine": "numpy"}) == []
    (broken,) = recorded_breaks(limit, {"engine": "numpy"}, None, None)
    assert broken.reason == "seconds of training: not known"


def test_the_held_out_cut_is_seeded_by_its_text_and_stored_packed():
    hidden = cut("asg-1", 10_000, 0.5)
    assert hidden.sum() == 5000 and (cut("asg-1", 10_000, 0.5) == hidden).all()
    assert not (cut("asg-2", 10_000, 0.5) == hidden).all()
    assert (unpacked(packed(hidden), 10_000) == hidden).all()
    with pytest.raises(ValueError):
        unpacked(packed(np.zeros(16, dtype=bool)), 16)


def test_three_students_are_graded_with_the_broken_constraint_named(class_runs):
    store, runs = class_runs
    assignments = AssignmentStore(store)
    assignment = small_assignment(assignments, runs)
    book = grading.gradebook(assignments, assignment.id, None, teacher=True)
    rows = {row.student: row for row in book.rows}
    assert rows.keys() == {"ada", "bob", "cy"}
    assert rows["ada"].passed and rows["ada"].broken == () and rows["ada"].parameters == SMALL
    assert not rows["bob"].passed and rows["bob"].broken == (
        f"the saved model has {LARGE:,} parameters: at most 20,000 allowed",
    )
    assert not rows["cy"].passed and rows["cy"].broken == ("epochs is 4: at most 3 allowed",)
    assert all(row.goal_met and row.graded_on == "visible" for row in rows.values())
    assert all(row.hidden is not None for row in rows.values())  # the teacher sees both parts
    csv_lines = grading.gradebook_csv(book).splitlines()
    assert csv_lines[0].startswith("student,run,run_name,passed,broken,")
    assert len(csv_lines) == 4 and "epochs is 4: at most 3 allowed" in csv_lines[3]


def test_a_student_sees_only_their_own_runs_and_no_hidden_score_before_the_deadline(class_runs):
    store, runs = class_runs
    assignments = AssignmentStore(store)
    # Others open on MNIST hide the same digits: a hidden score waits for them too.
    for listed in assignments.list():
        if not listed.assignment.closed:
            assignments.set_closed(listed.id, True)
    deadline = max(ended(run) for run in runs.values()) + timedelta(hours=1)
    assignment = small_assignment(assignments, runs, deadline=deadline)
    earlier = deadline - timedelta(minutes=30)
    before = grading.gradebook(assignments, assignment.id, "ada", False, now=earlier)
    (row,) = before.rows
    assert row.student == "ada" and row.visible is not None and row.hidden is None
    assert not before.hidden_shown and before.frozen_at is None
    assert grading.gradebook(assignments, assignment.id, None, False, now=earlier).rows == []
    after = grading.gradebook(assignments, assignment.id, "ada", False, now=deadline)
    (row,) = after.rows
    assert after.hidden_shown and row.hidden is not None and row.graded_on == "hidden"
    assert row.difference == pytest.approx(row.hidden.accuracy - row.visible.accuracy)
    summary = {a.id: best for a, best in grading.student_summary(assignments, "bob", now=earlier)}
    assert summary[assignment.id].run == runs["bob"].id and summary[assignment.id].hidden is None


def test_a_claim_of_fewer_parameters_in_config_json_is_graded_on_the_saved_model(
    tmp_path, class_runs
):
    _, runs = class_runs
    store = RunStore(tmp_path)
    run = train(store, "eve", hidden_units=40, epochs=1)
    config = json.loads(run.file("config.json").read_text())
    config["hidden_units"] = 20
    run.file("config.json").write_text(json.dumps(config))
    assert run.config()["hidden_units"] == 20
    assignments = AssignmentStore(store)
    assignment = small_assignment(assignments, {"eve": run})
    (result,) = grading.results_of_run(assignments, run, "eve", teacher=False)
    assert result.assignment == assignment.id and result.parameters == LARGE
    assert not result.passed and "31,810 parameters" in result.broken[0]
    assert grading.results_of_run(assignments, run, "mallory", teacher=False) == []


def test_a_claim_of_fewer_epochs_in_config_json_is_graded_on_the_epochs_recorded(tmp_path):
    store = RunStore(tmp_path)
    run = train(store, "eve", epochs=4)
    config = json.loads(run.file("config.json").read_text())
    run.file("config.json").write_text(json.dumps({**config, "epochs": 2}))
    assignments = AssignmentStore(store)
    small_assignment(assignments, {"eve": run})
    (result,) = grading.results_of_run(assignments, run, "eve", teacher=False)
    assert result.epochs == 4 and result.broken == ("epochs is 4: at most 3 allowed",)


def test_grades_frozen_at_the_deadline_survive_deleting_and_renaming_runs(tmp_path):
    store = RunStore(tmp_path)
    first, second = train(store, "ada"), train(store, "bob", hidden_units=40)
    assignments = AssignmentStore(store)
    deadline = ended(second) + timedelta(minutes=1)
    assignment = small_assignment(assignments, {"a": first, "b": second}, deadline=deadline)
    before = grading.gradebook(assignments, assignment.id, None, True, now=deadline)
    assert before.frozen_at == deadline.isoformat(timespec="seconds")
    store.rename(first.id, "renamed afterwards")
    store.delete(second.id)
    after = grading.gradebook(assignments, assignment.id, None, True, now=deadline)
    assert after.rows == before.rows and [r.student for r in after.rows] == ["ada", "bob"]
    assert after.rows[0].run_name == first.id
    with pytest.raises(ValueError, match="grades are frozen"):
        assignments.edit(assignment.id, constraints=[])


def test_a_run_finished_after_the_deadline_is_graded_late_beside_the_frozen_grades(tmp_path):
    store = RunStore(tmp_path)
    on_time = train(store, "ada", epochs=4)
    assignments = AssignmentStore(store)
    assignment = small_assignment(assignments, {"a": on_time}, deadline=ended(on_time))
    late = train(store, "ada")
    # The late run's end, recorded as a minute after the deadline (no waiting on the clock).
    late.update_status(ended=(ended(on_time) + timedelta(minutes=1)).isoformat())
    later = ended(on_time) + timedelta(hours=1)
    rows = grading.gradebook(assignments, assignment.id, "ada", False, now=later).rows
    assert [(row.run, row.late, row.passed) for row in rows] == [
        (on_time.id, False, False),
        (late.id, True, True),
    ]


def test_closing_freezes_the_grades_and_a_frozen_assignment_is_not_reopened(class_runs):
    store, runs = class_runs
    assignments = AssignmentStore(store)
    assignment = small_assignment(assignments, runs)
    closed = grading.close(assignments, assignment.id)
    assert closed.closed and closed.state() == "closed"
    assert len(assignments.frozen(assignment.id).results) == 3
    with pytest.raises(ValueError, match="cannot be opened again"):
        assignments.set_closed(assignment.id, False)


def test_a_damaged_assignment_reads_as_damaged_and_breaks_nothing_else(tmp_path):
    assignments = AssignmentStore(RunStore(tmp_path))
    good = assignments.create("Good", GOAL)
    bad = assignments.create("Bad", GOAL, [make_constraint("epochs", "at_most", 3)])
    path = assignments.folder(bad.id) / "assignment.json"
    data = json.loads(path.read_text())
    data["constraints"][0]["value"] = "many"
    path.write_text(json.dumps(data))
    listed = {entry.id: entry for entry in assignments.list()}
    assert listed[good.id].assignment == good
    assert listed[bad.id].assignment is None
    assert "epochs must be a whole number" in listed[bad.id].damaged
    path.write_text("{not json")
    with pytest.raises(DamagedRunError, match="not valid JSON"):
        assignments.get(bad.id)
    assert grading.freeze_due(assignments) == []


def test_bad_assignments_are_refused_with_the_reason(tmp_path):
    assignments = AssignmentStore(RunStore(tmp_path))
    with pytest.raises(ValueError, match=r"accuracy must be a number in \(0, 1\]"):
        assignments.create("Too high", Goal("accuracy", 1.5))
    with pytest.raises(ValueError, match="needs a time zone"):
        assignments.create("Naive", GOAL, deadline="2027-01-01T10:00")
    now = datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="deadline must come after"):
        assignments.create("Backwards", GOAL, deadline=now - timedelta(1), now=now)
    with pytest.raises(ValueError, match="no dataset named"):
        assignments.create("Unknown data", GOAL, dataset="Fashion")
    assert assignments.list() == []


def test_the_lessons_templates_make_assignments(tmp_path):
    assignments = AssignmentStore(RunStore(tmp_path))
    assert {"small-network", "deep-sigmoid", "beat-baseline-own-data"} <= set(templates())
    made = create_from_template(assignments, "deep-sigmoid", created_by="Ms T")
    assert made.template == "deep-sigmoid" and made.goal == Goal("accuracy", 0.9)
    assert fixed_settings(made.constraints) == {"engine": "keras", "preset": "deep-sigmoid"}
    with pytest.raises(ValueError, match="needs a stored dataset"):
        create_from_template(assignments, "beat-baseline-own-data")


def test_the_gradebook_csv_quotes_names_a_spreadsheet_would_run(tmp_path):
    store = RunStore(tmp_path)
    run = train(store, "=HYPERLINK(1)")
    assignments = AssignmentStore(store)
    assignment = small_assignment(assignments, {"a": run})
    book = grading.gradebook(assignments, assignment.id, None, teacher=True)
    assert "\n'=HYPERLINK(1)," in grading.gradebook_csv(book)


def test_an_assignment_on_the_class_s_own_dataset_grades_runs_on_its_test_digits(tmp_path):
    store = RunStore(tmp_path / "runs")
    DatasetStore(store.root).add_files(write_shapes_idx(tmp_path / "upload"), "Shapes")
    baseline_settings = get_engine("sklearn").settings_class(dataset="Shapes")
    baseline = store.create(baseline_settings.to_dict())
    assert run_worker(baseline.path) == "finished"
    assignments = AssignmentStore(store)
    assignment = create_from_template(assignments, "beat-baseline-own-data", dataset="Shapes")
    # One more digit than the baseline on the visible half the assignment shows.
    y_true, probabilities = load_predictions(baseline)
    visible, _ = part_scores(y_true, probabilities, assignment.hidden_part())
    assert assignment.goal == Goal("accuracy", min(visible.accuracy + 1 / visible.n, 1.0))
    assert assignment.dataset["name"] == "Shapes" and assignment.n_test == N_TEST
    on_shapes = store.create(
        NumpyNetSettings(dataset="Shapes", epochs=1, seed=0).to_dict(), owner="ada"
    )
    assert run_worker(on_shapes.path) == "finished"
    on_mnist = train(store, "bob")
    result = grading.grade_run(assignment, on_shapes)
    assert result.problem is None and result.visible.n + result.hidden.n == N_TEST
    result = grading.grade_run(assignment, on_mnist)
    assert not result.passed and result.visible is None
    assert result.broken[0] == "trained on MNIST: this assignment uses Shapes"


def test_concurrent_edits_keep_each_other(tmp_path):
    assignments = AssignmentStore(RunStore(tmp_path))
    assignment = assignments.create("Edited", GOAL)

    def edit(n):
        field = "title" if n % 2 else "text"
        return assignments.edit(assignment.id, **{field: f"{field} {n}"})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(edit, range(20)))
    edited = assignments.get(assignment.id)
    assert edited.title.startswith("title ") and edited.text.startswith("text ")


def test_the_numpy_engine_counts_the_arrays_it_saved(class_runs):
    _, runs = class_runs
    assert get_engine("numpy").count_parameters(runs["bob"]) == LARGE
