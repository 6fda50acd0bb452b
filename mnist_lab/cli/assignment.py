"""``assignment create|list|show|results|close``: a teacher's assignments from the command line.

``create`` prints the new assignment's id on its last line, and ``results ID --csv`` prints
the gradebook, so scripts can drive both.
"""

from __future__ import annotations

import argparse


def add_assignment_parser(subparsers: argparse._SubParsersAction) -> None:
    """``assignment``: create, list, show, grade and close assignments."""
    parser = subparsers.add_parser("assignment", help="set assignments and grade the class's runs")
    actions = parser.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", help="create an assignment; prints its id last")
    create.add_argument("--title", required=True, help="what the students read first")
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
    raise NotImplementedError


def cmd_list(args: argparse.Namespace) -> int:
    """Print every assignment, a damaged one with its reason."""
    raise NotImplementedError


def cmd_show(args: argparse.Namespace) -> int:
    """Print one assignment."""
    raise NotImplementedError


def cmd_results(args: argparse.Namespace) -> int:
    """Print the gradebook (the teacher's view: the command line is the teacher's)."""
    raise NotImplementedError


def cmd_close(args: argparse.Namespace) -> int:
    """Close the assignment and freeze its grades."""
    raise NotImplementedError
