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

import json
import math
from dataclasses import dataclass
from typing import Any

from mnist_lab.engines import ENGINES, all_engines, get_engine, network_parameters
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
        """The rule in plain words, e.g. ``epochs at most 3``.

        Examples
        --------
        >>> Constraint("parameters", "at_most", 20000).describe()
        'parameters at most 20,000'
        """
        name = "training" if self.setting == TRAINING_SECONDS else self.setting
        if self.rule == "equals":
            return f"{name} = {_shown(self.value)}"
        if self.rule == "one_of":
            return f"{name} one of {_listed(self.value)}"
        if self.rule == "layer_types":
            return f"only {_listed(self.value)} layers"
        unit = " s" if self.setting == TRAINING_SECONDS else ""
        return f"{name} {self.rule.replace('_', ' ')} {_shown(self.value)}{unit}"

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
    if rule not in RULES:
        raise ValueError(f"a constraint's rule must be one of {list(RULES)}, got {rule!r}")
    if not isinstance(setting, str):
        raise ValueError(f"a constraint names a setting, got {setting!r}")
    allowed = rules_for(setting, engine)
    if rule not in allowed:
        raise ValueError(f"{setting} takes the rules {list(allowed)}, not {rule}")
    if rule in ("one_of", "layer_types"):
        if not isinstance(value, list | tuple) or not 0 < len(value) <= MAX_CHOICES:
            raise ValueError(f"{setting} {rule} takes a list of 1 to {MAX_CHOICES} values")
        value = tuple(value)
    if setting == ENGINE:
        if any(name not in ENGINES for name in _values(rule, value)):
            raise ValueError(f"engine takes engines of {list(ENGINES)}, got {value!r}")
    elif setting in MEASURED:
        if not is_number(value) or value < 0:
            raise ValueError(f"{setting} takes a number of at least 0, got {value!r}")
    elif rule == "layer_types":
        types = _layer_types(setting, engine)
        if not set(value) <= types:
            raise ValueError(f"{setting} layer_types takes types of {sorted(types)}, got {value!r}")
    else:
        _check_declared(setting, _values(rule, value), engine)
    return Constraint(setting, rule, value)


def check_constraints(constraints: list[Constraint] | tuple[Constraint, ...]) -> tuple:
    """The constraints of one assignment, each validated, as a tuple.

    Raises
    ------
    ValueError
        For a bad constraint, too many, two ``engine`` constraints that contradict.
    """
    constraints = tuple(constraints)
    if len(constraints) > MAX_CONSTRAINTS:
        raise ValueError(f"an assignment takes at most {MAX_CONSTRAINTS} constraints")
    engines = [c for c in constraints if c.setting == ENGINE]
    if len(engines) > 1:
        raise ValueError("an assignment takes one engine constraint at most")
    engine = fixed_engine(constraints)
    return tuple(make_constraint(c.setting, c.rule, c.value, engine) for c in constraints)


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
    return _breaks(constraints, config, network_parameters(config), None, judge_unknown=False)


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
    return _breaks(constraints, config, parameters, training_seconds, judge_unknown=True)


def rules_for(setting: str, engine: str | None = None) -> tuple[str, ...]:
    """The rules a constraint on ``setting`` may use, from its declarations.

    ``engine``: equals, one_of; ``parameters`` and ``training_seconds``: at_most, at_least;
    a network's layers: layer_types; a number: at_most, at_least, equals; a text or choice:
    equals, one_of; a flag: equals.

    Raises
    ------
    ValueError
        If ``setting`` is none of these (of ``engine``, when given).

    Examples
    --------
    >>> rules_for("epochs")
    ('at_most', 'at_least', 'equals')
    """
    if setting == ENGINE:
        return ("equals", "one_of")
    if setting in MEASURED:
        return NUMERIC_RULES
    if _architectures(setting, engine):
        return ("layer_types",)
    declared = declarations(setting, engine)
    if not declared:
        whose = f"engine {engine!r}" if engine is not None else "any engine"
        raise ValueError(f"{setting!r} is not a setting of {whose}")
    kinds = {declaration.kind for declaration in declared.values()}
    if kinds <= {int, float}:
        return (*NUMERIC_RULES, "equals")
    if kinds <= {str}:
        return ("equals", "one_of")
    return ("equals",)


def constrainable(engine: str | None = None) -> dict[str, str]:
    """Every name a constraint may bound, with a label in words, in the forms' order.

    The engine and the measured facts first, then each declared setting of ``engine`` (or
    of every engine) except the dataset (an assignment names its own) and the seed.
    """
    names = {ENGINE: "Engine", **{name: words.capitalize() for name, words in MEASURED.items()}}
    engines = [get_engine(engine)] if engine is not None else all_engines()
    for settings_class in (e.settings_class for e in engines):
        for name, declaration in settings_class.declared().items():
            # A seed picks which model, not what kind: no rule of a class is about it.
            if not declaration.picks_dataset and name != "seed":
                names.setdefault(name, declaration.label or name)
    return names


def parse_value(setting: str, text: str, engine: str | None = None) -> Any:
    """The value ``text`` (typed on a command line) means for ``setting``, by its declaration.

    Numbers are read by `mnist_lab.settings.Setting.parse`, flags from ``true`` / ``false``,
    lists as JSON; ``engine`` and texts are taken as written.

    Raises
    ------
    ValueError
        If no engine declares ``setting`` or ``text`` is not of its kind.

    Examples
    --------
    >>> parse_value("epochs", "3", "numpy")
    3
    """
    if setting == ENGINE:
        return text
    if setting in MEASURED:
        return Setting(0, int if setting == PARAMETERS else float, name=setting).parse(text)
    declared = declarations(setting, engine)
    if not declared:
        raise ValueError(f"{setting!r} is not a setting of any engine")
    declaration = next(iter(declared.values()))
    if declaration.kind is bool:
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{setting} takes true or false, got {text!r}")
        return text.lower() == "true"
    if declaration.kind is list:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"{setting} takes a JSON list, got {text!r}") from None
    return declaration.parse(text)


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


def _values(rule: str, value: Any) -> tuple:
    """The values a constraint names: its list for ``one_of``, else its one value."""
    return value if rule == "one_of" else (value,)


def _layer_types(setting: str, engine: str | None) -> set[str]:
    """The layer types the architectures whose layers ``setting`` holds declare."""
    return {
        kind
        for architecture in _architectures(setting, engine)
        for kind in architecture.layer_types
    }


def _architectures(setting: str, engine: str | None) -> list:
    """The architectures (of ``engine``, or of any engine) whose layers ``setting`` holds."""
    engines = [get_engine(engine)] if engine is not None else all_engines()
    return [
        architecture
        for e in engines
        if (architecture := e.settings_class.architecture) is not None
        and architecture.layers_setting == setting
    ]


def _check_declared(setting: str, values: tuple, engine: str | None) -> None:
    """Refuse ``values`` unless some engine's declaration of ``setting`` takes each one."""
    declared = declarations(setting, engine)
    for candidate in values:
        errors = []
        for declaration in declared.values():
            try:
                declaration.check(candidate)
                break
            except ValueError as error:
                errors.append(str(error))
        else:
            raise ValueError(errors[0])


def _breaks(
    constraints: tuple[Constraint, ...] | list[Constraint],
    config: dict,
    parameters: int | None,
    training_seconds: float | None,
    judge_unknown: bool,
) -> list[Broken]:
    """The constraints ``config`` (with its measured facts) breaks; an unknown fact breaks
    its constraint only when ``judge_unknown`` (a finished run, not a draft)."""
    engine = config.get("engine")
    settings_class = get_engine(engine).settings_class if engine in ENGINES else None
    declared = settings_class.declared() if settings_class is not None else {}
    config = {**{name: d.default for name, d in declared.items()}, **config}
    broken = []
    for constraint in constraints:
        name = constraint.setting
        if name == ENGINE:
            reason = _unmet(constraint, engine)
        elif name in MEASURED:
            measured = parameters if name == PARAMETERS else training_seconds
            if measured is None:
                reason = f"{MEASURED[name]}: not known" if judge_unknown else None
            else:
                reason = _unmet(constraint, measured, recorded=judge_unknown)
        elif constraint.rule == "layer_types":
            reason = _layer_types_unmet(constraint, settings_class, config)
        elif name not in declared:
            reason = f"{engine} has no setting {name}"
        else:
            reason = _unmet(constraint, config.get(name, declared[name].default))
        if reason is not None:
            broken.append(Broken(constraint, name, reason))
    return broken


def _unmet(constraint: Constraint, value: Any, recorded: bool = True) -> str | None:
    """Why ``value`` breaks ``constraint`` in plain words, or None when it does not."""
    rule, bound = constraint.rule, constraint.value
    name = "training" if constraint.setting == TRAINING_SECONDS else constraint.setting
    unit = " s" if constraint.setting == TRAINING_SECONDS else ""
    shown = f"{name} is {_shown(value)}{unit}"
    if constraint.setting == PARAMETERS:
        model = "the saved model" if recorded else "this network"
        shown = f"{model} has {_shown(value)} parameters"
    if rule == "equals":
        return None if value == bound else f"{shown}: {_shown(bound)} required"
    if rule == "one_of":
        return None if value in bound else f"{shown}: one of {_listed(bound)} required"
    if not is_number(value):
        return f"{shown}: not a number"
    if rule == "at_most":
        return None if value <= bound else f"{shown}: at most {_shown(bound)}{unit} allowed"
    return None if value >= bound else f"{shown}: at least {_shown(bound)}{unit} required"


def _layer_types_unmet(constraint: Constraint, settings_class: Any, config: dict) -> str | None:
    architecture = None if settings_class is None else settings_class.architecture
    if architecture is None or architecture.layers_setting != constraint.setting:
        return f"{config.get('engine')} has no {constraint.setting}"
    try:
        layers = architecture.layers_of(config)
    except ValueError as error:
        return f"its layers cannot be read ({error})"
    used = sorted({str(layer.get("type")) for layer in layers if isinstance(layer, dict)})
    other = [kind for kind in used if kind not in constraint.value]
    if not other:
        return None
    return f"the network has {_listed(other)} layers: only {_listed(constraint.value)} allowed"


def _shown(value: Any) -> str:
    """A value as a sentence quotes it: whole numbers with thousands separators."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "none"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _listed(values: Any) -> str:
    return ", ".join(_shown(value) for value in values)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite number (not a flag), as a bound or a score must be."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
