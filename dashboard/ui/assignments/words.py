"""An assignment's results in words: scores as percents, and why a run does not pass."""

from __future__ import annotations

from mnist_lab.assignments.results import RunResult

MISSING = "—"


def percent(value: float | None, signed: bool = False) -> str:
    """A share as a percent with two decimals (a sign when asked); a dash when missing.

    Examples
    --------
    >>> percent(0.9731), percent(-0.004, signed=True), percent(None)
    ('97.31%', '-0.40%', '—')
    """
    if value is None:
        return MISSING
    return f"{value:+.2%}" if signed else f"{value:.2%}"


def why_not(result: RunResult) -> str:
    """Why a result does not pass, in plain words: the broken constraints, a problem, the goal.

    Examples
    --------
    >>> why_not(RunResult("a", "r", "n", "Ada", None, False, None, None, 30000, 3, 9.0,
    ...                   ("parameters is 30,000: at most 20,000 allowed",), True, "visible",
    ...                   False))
    'parameters is 30,000: at most 20,000 allowed'
    """
    if result.passed:
        return ""
    if result.problem:
        return result.problem
    if result.broken:
        return "; ".join(result.broken)
    return "goal not reached" if result.goal_met is False else MISSING


def constraints_text(constraints) -> str:
    """Every constraint in words, ``none`` without any."""
    return "; ".join(constraint.describe() for constraint in constraints) or "none"
