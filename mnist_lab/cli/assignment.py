"""``assignment create|list|show|results|close``: a teacher's assignments from the command line.

``create`` prints the new assignment's id on its last line, and ``results ID --csv`` prints
the gradebook, so scripts can drive both.
"""

from __future__ import annotations

import argparse
import json

from mnist_lab.assignments.constraints import (
    ENGINE,
    PARAMETERS,
    TRAINING_SECONDS,
    Constraint,
    constraint_from_dict,
    make_constraint,
    parse_value,
)
from mnist_lab.assignments.grading import close, gradebook, gradebook_csv
from mnist_lab.assignments.store import Assignment, AssignmentStore, Goal
from mnist_lab.assignments.templates import create_from_template, templates
from mnist_lab.runs import RunStore


def add_assignment_parser(subparsers: argparse._SubParsersAction) -> None:
    """``assignment``: create, list, show, grade and close assignments."""
    parser = subparsers.add_parser("assignment", help="set assignments and grade the class's runs")
    actions = parser.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", help="create an assignment; prints its id last")
    create.add_argument("--title", help="what the students read first")
    create.add_argument("--text", default="", help="the assignment's text for the students")
    goal = create.add_mutually_exclusive_group()
    goal.add_argument("--min-accuracy", type=float, help="pass at this test accuracy (0-1)")
    goal.add_argument("--max-loss", type=float, help="pass at this test loss or lower")
    create.add_argument("--max-params", type=int, help="at most this many parameters")
    create.add_argument("--max-epochs", type=int, help="at most this many epochs")
    create.add_argument("--max-seconds", type=float, help="at most this many seconds of training")
    create.add_argument("--engine", help="the engine every run must use")
    create.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="SETTING=VALUE",
        help="a setting fixed to a value (repeatable), e.g. --require optimizer=sgd",
    )
    create.add_argument(
        "--constraint",
        action="append",
        default=[],
        metavar="JSON",
        help='any constraint as JSON, e.g. \'{"setting": "preset", "rule": "one_of", '
        '"value": ["mlp"]}\' (repeatable)',
    )
    create.add_argument("--dataset", help="a stored dataset's name (default MNIST)")
    create.add_argument("--opens", help="when it opens, ISO 8601 with a time zone (default now)")
    create.add_argument("--deadline", help="ISO 8601 with a time zone, e.g. 2027-01-15T18:00Z")
    create.add_argument("--template", help="start from a ready-made assignment (see list)")
    create.add_argument("--by", help="the teacher's name")
    create.set_defaults(handler=cmd_create)

    listing = actions.add_parser("list", help="every assignment, its state and deadline")
    listing.set_defaults(handler=cmd_list)

    show = actions.add_parser("show", help="one assignment: goal, constraints, times")
    show.add_argument("id")
    show.set_defaults(handler=cmd_show)

    results = actions.add_parser("results", help="the gradebook: each student's best run")
    results.add_argument("id")
    results.add_argument("--csv", action="store_true", help="print CSV (student, run, passed...)")
    results.set_defaults(handler=cmd_results)

    closing = actions.add_parser("close", help="close it now and freeze its grades")
    closing.add_argument("id")
    closing.set_defaults(handler=cmd_close)


def cmd_create(args: argparse.Namespace) -> int:
    """Create the assignment; its id is the last line printed."""
    assignments = AssignmentStore(RunStore())
    if args.template is not None:
        if args.min_accuracy is not None or args.max_loss is not None or _constraint_flags(args):
            raise ValueError("--template sets the goal and constraints: give no others")
        assignment = create_from_template(
            assignments,
            args.template,
            dataset=args.dataset,
            deadline=args.deadline,
            created_by=args.by,
        )
    else:
        if args.title is None:
            raise ValueError("give --title (or --template)")
        assignment = assignments.create(
            args.title,
            _goal(args),
            _constraints(args),
            text=args.text,
            dataset=args.dataset,
            opens_at=args.opens,
            deadline=args.deadline,
            created_by=args.by,
        )
    _print_assignment(assignment)
    print(assignment.id)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print every assignment, a damaged one with its reason."""
    listed = AssignmentStore(RunStore()).list()
    if not listed:
        print("No assignments yet.")
        return 0
    print(f"{'id':<28} {'state':<14} {'deadline':<26} title")
    for entry in listed:
        assignment = entry.assignment
        if assignment is None:
            print(f"{entry.id:<28} {'damaged':<14} {'':<26} ({entry.damaged})")
            continue
        deadline = assignment.deadline or "none"
        print(f"{entry.id:<28} {assignment.state():<14} {deadline:<26} {assignment.title}")
    print("Ready-made: " + ", ".join(templates()) + " (assignment create --template KEY)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print one assignment."""
    _print_assignment(_get(AssignmentStore(RunStore()), args.id))
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    """Print the gradebook (the teacher's view: the command line is the teacher's)."""
    assignments = AssignmentStore(RunStore())
    _get(assignments, args.id)
    book = gradebook(assignments, args.id, None, teacher=True)
    if args.csv:
        print(gradebook_csv(book), end="")
        return 0
    print(f"{book.assignment.title}: {book.assignment.goal.describe()}")
    if book.frozen_at:
        print(f"Grades frozen at {book.frozen_at}.")
    if not book.rows:
        print("No finished runs of any student yet.")
    for row in book.rows:
        score = row.hidden if row.graded_on == "hidden" else row.visible
        shown = "-" if score is None else f"{score.accuracy:.4f}"
        verdict = "passed" if row.passed else "not passed"
        why = "; ".join(row.broken) or row.problem or ""
        late = " (late)" if row.late else ""
        print(f"{row.student:<20} {row.run:<44} {row.graded_on} {shown} {verdict}{late} {why}")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    """Close the assignment and freeze its grades."""
    assignments = AssignmentStore(RunStore())
    _get(assignments, args.id)
    assignment = close(assignments, args.id)
    frozen = assignments.frozen(args.id)
    count = 0 if frozen is None else len(frozen.results)
    print(f"Closed {assignment.id}; its grades are frozen ({count} graded runs).")
    return 0


def _get(assignments: AssignmentStore, assignment_id: str) -> Assignment:
    try:
        return assignments.get(assignment_id)
    except KeyError:
        raise ValueError(f"no assignment {assignment_id!r} (see assignment list)") from None


def _goal(args: argparse.Namespace) -> Goal:
    if args.min_accuracy is not None:
        return Goal("accuracy", args.min_accuracy)
    if args.max_loss is not None:
        return Goal("loss", args.max_loss)
    raise ValueError("give the goal: --min-accuracy X or --max-loss Y")


def _constraint_flags(args: argparse.Namespace) -> bool:
    return any(
        value not in (None, [])
        for value in (
            args.max_params,
            args.max_epochs,
            args.max_seconds,
            args.engine,
            args.require,
            args.constraint,
        )
    )


def _constraints(args: argparse.Namespace) -> list[Constraint]:
    """The constraints the flags ask for, each checked against its setting's declarations."""
    engine = args.engine
    constraints = [] if engine is None else [make_constraint(ENGINE, "equals", engine)]
    for name, rule, value in (
        (PARAMETERS, "at_most", args.max_params),
        ("epochs", "at_most", args.max_epochs),
        (TRAINING_SECONDS, "at_most", args.max_seconds),
    ):
        if value is not None:
            constraints.append(make_constraint(name, rule, value, engine))
    for required in args.require:
        name, equals, text = required.partition("=")
        if not equals:
            raise ValueError(f"--require takes SETTING=VALUE, got {required!r}")
        name = name.strip()
        value = parse_value(name, text.strip(), engine)
        constraints.append(make_constraint(name, "equals", value, engine))
    for text in args.constraint:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"--constraint is not JSON ({error})") from None
        constraints.append(constraint_from_dict(data, engine))
    return constraints


def _print_assignment(assignment: Assignment) -> None:
    print(f"Assignment: {assignment.title}")
    if assignment.text:
        print(assignment.text)
    print(f"Goal: {assignment.goal.describe()} on {assignment.dataset['name']}")
    for constraint in assignment.constraints:
        print(f"Constraint: {constraint.describe()}")
    print(f"Opens: {assignment.opens_at}")
    print(f"Deadline: {assignment.deadline or 'none'}")
    print(f"State: {assignment.state()}")
