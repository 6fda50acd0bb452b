"""What a run may do in an assignment, expressed through the settings' own declarations.

A `Constraint` names a setting an engine declares (``epochs``, ``optimizer``, ``preset``,
``layers``...) and is checked against that declaration (its kind, range and choices): there is
no second list of settings. Three names are not settings but facts of a run: ``engine`` (the
registry's names), ``parameters`` (counted from the saved model) and ``training_seconds``
(`mnist_lab.run_summary.training_time`).

Rules::

    equals      the setting holds this value            {"setting": "optimizer", "rule": "equals", "value": "sgd"}
    at_most     a number no larger than the value       {"setting": "epochs", "rule": "at_most", "value": 3}
    at_least    a number no smaller than the value      {"setting": "batch_size", "rule": "at_least", "value": 64}
    one_of      one of the listed values                {"setting": "preset", "rule": "one_of", "value": ["mlp"]}
    layer_types every layer of the network of these types {"setting": "layers", "rule": "layer_types", "value": ["Dense"]}
"""  # noqa: E501

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mnist_lab.engines import all_engines, get_engine
from mnist_lab.settings import Setting

ENGINE = "engine"
PARAMETERS = "parameters"
TRAINING_SECONDS = "training_seconds"
# The facts of a run a constraint may bound besides its settings, in words.
MEASURED = {
    PARAMETERS: "parameters (counted in the saved model)",
    TRAINING_SECONDS: "seconds of training",
}
RULES = ("equals", "at_most", "at_least", "one_of", "layer_types")
NUMERIC_RULES = ("at_most", "at_least")
MAX_CONSTRAINTS = 50
MAX_CHOICES = 100


@dataclass(frozen=True)
class Constraint:
    """One rule a run of an assignment must obey.

    Attributes
    ----------
    setting : str
        A setting some engine declares, or ``engine``, ``parameters``, ``training_seconds``.
    rule : str
        One of `RULES`.
    value : Any
        The bound, the value or the list of values (a tuple once read).
    """

    setting: str
    rule: str
    value: Any

    def describe(self) -> str:
        """The rule in plain words, e.g. ``at most 3 epochs``."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """The constraint as the assignment file records it."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"setting": self.setting, "rule": self.rule, "value": value}


@dataclass(frozen=True)
class Broken:
    """A constraint a run (or a draft of one) breaks, and why, in plain words.

    Attributes
    ----------
    constraint : Constraint
    setting : str
        The setting (or fact) at fault: the Train page marks that widget.
    reason : str
        E.g. ``epochs is 5: at most 3 allowed``.
    """

    constraint: Constraint
    setting: str
    reason: str


def make_constraint(setting: str, rule: str, value: Any, engine: str | None = None) -> Constraint:
    """A constraint checked against the declarations of the setting it names.

    Parameters
    ----------
    setting : str
        A declared setting, or ``engine``, ``parameters``, ``training_seconds``.
    rule : str
        One of `RULES`.
    value : Any
        What the rule compares with; checked by the setting's own declaration (kind, range,
        choices) of ``engine``'s settings, or of any engine declaring it when None.
    engine : str, optional
        The engine an ``engine equals`` constraint of the same assignment fixes.

    Returns
    -------
    Constraint

    Raises
    ------
    ValueError
        Naming the unknown setting or rule, or the value the declaration refuses.
    """
    raise NotImplementedError


def check_constraints(constraints: list[Constraint] | tuple[Constraint, ...]) -> tuple:
    """The constraints of one assignment, each validated, as a tuple.

    Raises
    ------
    ValueError
        For a bad constraint, too many, two ``engine`` constraints that contradict.
    """
    raise NotImplementedError


def constraint_from_dict(data: Any, engine: str | None = None) -> Constraint:
    """Read one constraint of an assignment file (`make_constraint`'s checks).

    Raises
    ------
    ValueError
        If it is not an object with ``setting``, ``rule`` and ``value`` or does not check.
    """
    if not isinstance(data, dict) or set(data) != {"setting", "rule", "value"}:
        raise ValueError("a constraint is an object with setting, rule and value")
    return make_constraint(data["setting"], data["rule"], data["value"], engine)


def fixed_engine(constraints: tuple[Constraint, ...] | list[Constraint]) -> str | None:
    """The engine an ``engine equals`` constraint fixes, if any."""
    return next((c.value for c in constraints if c.setting == ENGINE and c.rule == "equals"), None)


def fixed_settings(constraints: tuple[Constraint, ...] | list[Constraint]) -> dict:
    """The values the Train page fills in from ``equals`` constraints (``engine`` included)."""
    return {c.setting: c.value for c in constraints if c.rule == "equals"}


def about_setting(constraints: tuple[Constraint, ...] | list[Constraint], setting: str) -> list:
    """The constraints on ``setting``, to show next to its widget."""
    return [c for c in constraints if c.setting == setting]


def draft_breaks(
    constraints: tuple[Constraint, ...] | list[Constraint], config: dict
) -> list[Broken]:
    """The constraints a run of ``config`` would break, before it is launched.

    Parameters
    ----------
    constraints : sequence of Constraint
    config : dict
        The form's settings with ``engine`` (what `mnist_lab.launch.launch` receives). The
        parameters of a network that declares an `Architecture` are counted from its layers'
        declaration; training seconds cannot be known before the run and are not judged.

    Returns
    -------
    list of Broken
        Empty when nothing is broken.
    """
    raise NotImplementedError


def recorded_breaks(
    constraints: tuple[Constraint, ...] | list[Constraint],
    config: dict,
    parameters: int | None,
    training_seconds: float | None,
) -> list[Broken]:
    """The constraints a finished run broke, from what the lab recorded.

    Parameters
    ----------
    constraints : sequence of Constraint
    config : dict
        The run's checked ``config.json``.
    parameters : int or None
        Counted from the saved model (`mnist_lab.engines.base.Engine.count_parameters`);
        None when it could not be counted, which breaks a ``parameters`` constraint.
    training_seconds : float or None
        `mnist_lab.run_summary.training_time`; None breaks a ``training_seconds`` one.

    Returns
    -------
    list of Broken
    """
    raise NotImplementedError


def declarations(setting: str, engine: str | None = None) -> dict[str, Setting]:
    """The declaration of ``setting`` by each engine that declares it (only ``engine``'s if given).

    Returns
    -------
    dict of str to Setting
        Engine name to its declaration; empty when none declares it.
    """
    engines = [get_engine(engine)] if engine is not None else all_engines()
    return {
        e.name: e.settings_class.declared()[setting]
        for e in engines
        if setting in e.settings_class.declared()
    }


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
