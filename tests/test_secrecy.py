"""While an assignment hides part of the test split, every score a page reads is on the rest."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from mnist_lab.assignments import grading
from mnist_lab.assignments.secrecy import (
    ScoreWithheld,
    secret_parts,
    shown_evaluation,
)
from mnist_lab.assignments.store import AssignmentStore, Goal
from mnist_lab.evaluation import PREDICTIONS_FILE, load_predictions
from mnist_lab.run_summary import summaries, summary
from mnist_lab.runs import RunStore
from tests.test_assignments import train

NOW = datetime.now(UTC)


@pytest.fixture()
def lab(tmp_path_factory, class_of_two):
    """A fresh runs directory holding copies of two finished runs, without assignments."""
    source, names = class_of_two
    root = tmp_path_factory.mktemp("lab")
    for run in source.list():
        (root / run.path.name).mkdir()
        for path in run.path.iterdir():
            if path.is_file():
                (root / run.path.name / path.name).write_bytes(path.read_bytes())
    return RunStore(root)


@pytest.fixture(scope="module")
def class_of_two(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("two"))
    return store, {train(store, "ada").name, train(store, "bob", hidden_units=40).name}


def accuracy_on(run, visible):
    y_true, probabilities = load_predictions(run)
    return float(np.mean(probabilities[visible].argmax(axis=1) == y_true[visible]))


def assign(store, title, **times):
    return AssignmentStore(store).create(title, Goal("accuracy", 0.5), **times)


def test_without_assignments_pages_score_the_whole_test_split(lab):
    run = lab.list()[0]
    assert secret_parts(lab.root) == {}
    assert shown_evaluation(run) == run.evaluation()
    row = summary(run)
    assert row["test_accuracy"] == run.evaluation()["test_accuracy"]
    assert row["scored_on"] is None


def test_an_open_assignment_makes_every_summary_score_its_visible_part(lab):
    runs = lab.list()
    whole = {run.id: run.evaluation()["test_accuracy"] for run in runs}
    assert {row["id"]: row["test_accuracy"] for row in summaries(lab)} == whole
    assignment = assign(lab, "Reach <b>50%</b>", deadline=NOW + timedelta(days=1))
    visible = ~assignment.hidden_part()

    for row in summaries(lab):
        run = lab.get(row["id"])
        assert row["test_accuracy"] == pytest.approx(accuracy_on(run, visible))
        assert row["test_accuracy"] != whole[run.id]
        assert row["scored_on"] == (
            "Scored on the 5,000 of 10,000 test digits students can see: the assignment "
            "'Reach <b>50%</b>' keeps the others hidden until it ends."
        )
    shown = shown_evaluation(runs[0])
    assert shown["n_test"] == 5000 and np.sum(shown["confusion_matrix"]) == 5000
    assert (shown["visible_indices"] == np.flatnonzero(visible)).all()
    assert len(shown["predictions"]) == 5000


def test_assignments_on_one_dataset_hide_the_same_digits_and_their_end_shows_everything(lab):
    first = assign(lab, "First", deadline=NOW + timedelta(days=1))
    second = assign(lab, "Second", deadline=NOW + timedelta(days=2))
    assert (first.hidden_part() == second.hidden_part()).all()
    (part,) = secret_parts(lab.root).values()
    assert sorted(part.hidden_by) == ["First", "Second"] and part.visible.sum() == 5000

    later = NOW + timedelta(days=1, hours=1)
    (part,) = secret_parts(lab.root, later).values()
    assert part.hidden_by == ("Second",)
    assert secret_parts(lab.root, NOW + timedelta(days=3)) == {}
    AssignmentStore(lab).set_closed(first.id, True)
    AssignmentStore(lab).set_closed(second.id, True)
    run = lab.list()[0]
    assert summary(run)["test_accuracy"] == run.evaluation()["test_accuracy"]


def test_a_hidden_score_waits_for_every_assignment_hiding_the_same_digits(lab):
    assignments = AssignmentStore(lab)
    opens = NOW - timedelta(days=1)
    first = assignments.create(
        "First", Goal("accuracy", 0.5), opens_at=opens, deadline=NOW + timedelta(hours=1)
    )
    assignments.create(
        "Second", Goal("accuracy", 0.5), opens_at=opens, deadline=NOW + timedelta(days=2)
    )
    after_first = NOW + timedelta(hours=2)
    assert not grading.hidden_revealed(assignments, first, after_first)
    book = grading.gradebook(assignments, first.id, "ada", teacher=False, now=after_first)
    assert not book.hidden_shown and all(row.hidden is None for row in book.rows)
    assert grading.hidden_revealed(assignments, first, NOW + timedelta(days=3))
    teacher = grading.gradebook(assignments, first.id, None, teacher=True, now=after_first)
    assert teacher.hidden_shown and all(row.hidden is not None for row in teacher.rows)


def test_a_run_that_cannot_be_cut_shows_no_score_and_a_damaged_assignment_hides_nothing(lab):
    run = lab.list()[0]
    assignment = assign(lab, "Open", deadline=NOW + timedelta(days=1))
    run.file(PREDICTIONS_FILE).unlink()
    with pytest.raises(ScoreWithheld, match="its scores are not shown"):
        shown_evaluation(run)
    row = summary(run)
    assert row["test_accuracy"] is None and row["state"] == "finished"

    damaged = AssignmentStore(lab).folder(assignment.id) / "assignment.json"
    damaged.write_text("{not json")
    assert secret_parts(lab.root) == {}
    other = lab.list()[1]
    assert summary(other)["test_accuracy"] == other.evaluation()["test_accuracy"]
