"""Ready-made assignments from the lessons, for the teacher to set in one click."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mnist_lab.assignments.constraints import ENGINE, PARAMETERS, Constraint, make_constraint
from mnist_lab.assignments.heldout import dataset_cut, part_scores
from mnist_lab.assignments.store import Assignment, AssignmentStore, Goal
from mnist_lab.datasets import DatasetStore
from mnist_lab.engines import find_baseline
from mnist_lab.evaluation import load_predictions

KERAS = "keras"
NUMPY = "numpy"


@dataclass(frozen=True)
class Template:
    """A ready-made assignment.

    Attributes
    ----------
    key : str
    title, text : str
    goal : Goal or None
        None when the goal is the baseline's score on the chosen dataset, measured when
        the assignment is made.
    constraints : tuple of Constraint
    own_dataset : bool
        Whether the teacher picks a stored dataset for it (MNIST otherwise).
    lesson : str
        The lesson it comes from (`mnist_lab.lessons.catalogue`'s key).
    """

    key: str
    title: str
    text: str
    goal: Goal | None
    constraints: tuple[Constraint, ...]
    own_dataset: bool
    lesson: str


def templates() -> dict[str, Template]:
    """The ready-made assignments by key, in the order the Class page offers them."""
    found = [
        Template(
            "small-network",
            "Reach 98% with at most 10,000 parameters",
            "Train any model that classifies at least 98% of the test digits right with no "
            "more than 10,000 parameters, counted in the model you saved. Which layers give "
            "the most accuracy per parameter?",
            Goal("accuracy", 0.98),
            (make_constraint(PARAMETERS, "at_most", 10_000),),
            own_dataset=False,
            lesson="models",
        ),
        Template(
            "deep-sigmoid",
            "Make the deep sigmoid network learn",
            "The deep sigmoid network of lesson 3 stays at about 10%. Make it reach at least "
            "90% without removing a layer: keep its architecture and change how it is "
            "trained (the normalization, the optimizer, the learning rate, the epochs).",
            Goal("accuracy", 0.90),
            (
                make_constraint(ENGINE, "equals", KERAS),
                make_constraint("preset", "equals", "deep-sigmoid", KERAS),
            ),
            own_dataset=False,
            lesson="deep-sigmoid",
        ),
        Template(
            "beat-baseline-own-data",
            "Beat the logistic-regression baseline on your own dataset",
            "With the from-scratch NumPy network, reach a higher test accuracy than the "
            "logistic-regression baseline on the class's own dataset.",
            None,
            (make_constraint(ENGINE, "equals", NUMPY),),
            own_dataset=True,
            lesson="models",
        ),
    ]
    return {template.key: template for template in found}


def create_from_template(
    assignments: AssignmentStore,
    key: str,
    *,
    dataset: str | None = None,
    deadline: str | datetime | None = None,
    created_by: str | None = None,
    now: datetime | None = None,
) -> Assignment:
    """A new assignment from template ``key`` (`AssignmentStore.create`'s checks).

    Raises
    ------
    ValueError
        For an unknown key, a template that needs a dataset given none, or one measured
        against a baseline not yet trained on it.
    """
    found = templates()
    if key not in found:
        raise ValueError(f"unknown template {key!r}; choose one of {list(found)}")
    template = found[key]
    if template.own_dataset and dataset is None:
        raise ValueError(f"template {key!r} needs a stored dataset (--dataset NAME)")
    goal = template.goal or _baseline_goal(assignments, dataset)
    return assignments.create(
        template.title,
        goal,
        template.constraints,
        text=template.text,
        dataset=dataset,
        deadline=deadline,
        created_by=created_by,
        template=key,
        now=now,
    )


def _baseline_goal(assignments: AssignmentStore, dataset: str) -> Goal:
    """Beat the newest finished baseline on ``dataset``: a test accuracy above its own."""
    record = DatasetStore(assignments.runs.root).record(dataset)
    baseline = find_baseline(assignments.runs, record["sha256"])
    if baseline is None:
        raise ValueError(
            f"train the baseline on {record['name']} first "
            f"(python -m mnist_lab baseline --dataset {record['name']!r}, or on the Train page)"
        )
    y_true, probabilities = load_predictions(baseline)
    # Scored on the visible half the assignment will show: the whole split's score beside it
    # would tell on the hidden half. "Beat" is one more digit right than the baseline got.
    visible, _ = part_scores(y_true, probabilities, dataset_cut(record["sha256"], len(y_true)))
    return Goal("accuracy", min(visible.accuracy + 1 / visible.n, 1.0))
