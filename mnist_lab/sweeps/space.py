"""What a sweep varies: parameters (values or ranges of declared settings) and their samplers.

A parameter is one declared setting of the sweep's engine (`mnist_lab.settings`), either a list
of values (``learning_rate=0.0001,0.001,0.01``) or a range (``learning_rate=log:1e-4:1e-1``,
``hidden_units=int:16:256``). A grid tries every combination of values; a random sample and a
Bayesian search (Optuna's TPE) draw points from the values and ranges.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from mnist_lab.settings import Setting

METHODS = {
    "grid": "every combination of the values",
    "random": "points drawn at random from the values and ranges",
    "bayes": "Optuna's TPE search: each point chosen from the results so far",
}
RANGE_PREFIXES = ("log", "int", "linear")
# Bounds what one sweep can cost: a class launches dozens of runs, not thousands.
MAX_TRIALS = 200
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


@dataclass(frozen=True)
class Parameter:
    """One swept setting: its values, or a range to draw from.

    Attributes
    ----------
    name : str
        A declared setting of the sweep's engine, e.g. ``learning_rate``.
    values : tuple
        The values to try (a grid's axis, or the choices a sampler draws from).
    low, high : float, optional
        The range when no values are given.
    log : bool
        Whether the range is drawn on a log scale.
    integer : bool
        Whether the range holds whole numbers.
    """

    name: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def is_range(self) -> bool:
        """Whether the parameter is a range rather than a list of values."""
        return not self.values

    def describe(self) -> str:
        """The parameter as the CLI writes it, e.g. ``learning_rate=log:0.0001:0.1``."""
        if self.is_range:
            prefix = "log:" if self.log else "int:" if self.integer else ""
            return f"{self.name}={prefix}{self.low:g}:{self.high:g}"
        return f"{self.name}=" + ",".join(map(str, self.values))


def _convert(text: str, declaration: Setting) -> Any:
    """One value typed by a user, converted to the setting's kind and checked."""
    text = text.strip()
    try:
        if declaration.kind is bool:
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError
            value = text.lower() in _TRUE
        elif declaration.kind is int:
            value = int(text)
        elif declaration.kind is float:
            value = float(text)
        else:
            value = text
    except ValueError:
        message = f"{declaration.name} must be {declaration.allowed()}, got {text!r}"
        raise ValueError(message) from None
    declaration.check(value)
    return value


def sweepable(declared: dict[str, Setting]) -> dict[str, Setting]:
    """The settings a sweep may vary: all but lists (custom layers) and the dataset."""
    return {
        name: setting
        for name, setting in declared.items()
        if setting.kind is not list and not setting.picks_dataset
    }


def parse_parameter(text: str, declared: dict[str, Setting]) -> Parameter:
    """Read ``NAME=V1,V2,...`` or ``NAME=[log:|int:]LOW:HIGH`` for one of ``declared``.

    Parameters
    ----------
    text : str
        The parameter as typed on the command line or in the Sweeps page.
    declared : dict
        The engine's declared settings (``engine.settings_class.declared()``).

    Returns
    -------
    Parameter

    Raises
    ------
    ValueError
        Naming the sweepable settings, the allowed values, or what is wrong with the range.

    Examples
    --------
    >>> from mnist_lab.engines import get_engine
    >>> declared = get_engine("numpy").settings_class.declared()
    >>> parse_parameter("learning_rate=log:1e-3:1", declared)
    Parameter(name='learning_rate', values=(), low=0.001, high=1.0, log=True, integer=False)
    >>> parse_parameter("batch-size=32,128", declared).values
    (32, 128)
    """
    name, equals, spec = str(text).partition("=")
    name = name.strip().replace("-", "_")
    options = sweepable(declared)
    if not equals or not spec.strip():
        raise ValueError(f"write a parameter as NAME=V1,V2 or NAME=log:LOW:HIGH, got {text!r}")
    if name not in options:
        raise ValueError(f"{name!r} cannot be swept; choose one of {sorted(options)}")
    declaration = options[name]
    parts = spec.strip().split(":")
    if len(parts) == 1:
        values = tuple(dict.fromkeys(_convert(part, declaration) for part in parts[0].split(",")))
        return Parameter(name, values=values)
    prefix = parts[0] if parts[0] in RANGE_PREFIXES else ""
    bounds = parts[1:] if prefix else parts
    if len(bounds) != 2 or declaration.kind not in (int, float):
        raise ValueError(
            f"{name}: a range is [log:|int:]LOW:HIGH of a number setting, got {spec!r}"
        )
    low, high = (_convert(bound, declaration) for bound in bounds)
    integer = declaration.kind is int or prefix == "int"
    if not low < high:
        raise ValueError(f"{name}: the range's low end must be below its high end, got {spec!r}")
    if prefix == "log" and low <= 0:
        raise ValueError(f"{name}: a log range must start above 0, got {spec!r}")
    return Parameter(name, low=low, high=high, log=prefix == "log", integer=integer)


def grid_points(parameters: list[Parameter]) -> list[dict]:
    """Every combination of the parameters' values, in the order they were given.

    Raises
    ------
    ValueError
        If a parameter is a range (a grid needs values) or the grid is too large.

    Examples
    --------
    >>> grid_points([Parameter("a", values=(1, 2)), Parameter("b", values=("x",))])
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """
    check_trial_count(grid_size(parameters))
    return [
        dict(zip([p.name for p in parameters], combination, strict=True))
        for combination in itertools.product(*(p.values for p in parameters))
    ]


def grid_size(parameters: list[Parameter]) -> int:
    """How many points a grid of ``parameters`` has, counted without building one.

    Raises
    ------
    ValueError
        If a parameter is a range: a grid needs values.

    Examples
    --------
    >>> grid_size([Parameter("a", values=(1, 2, 3)), Parameter("b", values=("x", "y"))])
    6
    """
    ranges = [p.name for p in parameters if p.is_range]
    if ranges:
        raise ValueError(f"a grid needs values, not ranges ({', '.join(ranges)}): sample them")
    return math.prod(len(p.values) for p in parameters)


def check_trial_count(count: int, repeats: int = 1) -> None:
    """Raise ``ValueError`` unless ``count`` points of ``repeats`` runs are within `MAX_TRIALS`.

    Examples
    --------
    >>> check_trial_count(10**12)
    Traceback (most recent call last):
    ...
    ValueError: a sweep runs 1 to 200 trials, this one would run 1,000,000,000,000
    """
    total = count * repeats
    if not 1 <= total <= MAX_TRIALS:
        seeds = f" ({count:,} points x {repeats} seeds)" if repeats > 1 else ""
        raise ValueError(
            f"a sweep runs 1 to {MAX_TRIALS} trials, this one would run {total:,}{seeds}"
        )


def distributions(parameters: list[Parameter]) -> dict:
    """The parameters as Optuna distributions, for a random or Bayesian sampler."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    result = {}
    for parameter in parameters:
        if not parameter.is_range:
            result[parameter.name] = CategoricalDistribution(parameter.values)
        elif parameter.integer:
            low, high = int(parameter.low), int(parameter.high)
            result[parameter.name] = IntDistribution(low, high, log=parameter.log)
        else:
            result[parameter.name] = FloatDistribution(
                parameter.low, parameter.high, log=parameter.log
            )
    return result


class PointSampler:
    """Draws the next point of a sweep: a grid in order, or an Optuna study for the others.

    Parameters
    ----------
    method : str
        One of `METHODS`.
    parameters : list of Parameter
    count : int
        How many points to draw (a grid's count is its size).
    seed : int
        Seeds the random and Bayesian samplers.
    """

    def __init__(self, method: str, parameters: list[Parameter], count: int, seed: int = 0):
        if method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
        self.method = method
        self._grid = grid_points(parameters) if method == "grid" else None
        self.count = len(self._grid) if self._grid is not None else count
        check_trial_count(self.count)
        self._distributions = distributions(parameters) if self._grid is None else {}
        self._study = None
        if self._grid is None:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            sampler = (
                optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(5, count))
                if method == "bayes"
                else optuna.samplers.RandomSampler(seed=seed)
            )
            self._study = optuna.create_study(direction="maximize", sampler=sampler)
        self._handles: dict[int, Any] = {}
        self.asked = 0

    def has_more(self) -> bool:
        """Whether points remain to be drawn."""
        return self.asked < self.count

    def ask(self, known: dict | None = None) -> tuple[int, dict]:
        """The next point's number and its parameter values.

        ``known`` gives the values this point was launched with before (a resumed sweep):
        the search takes them as its own, so what it learns from them is not lost.
        """
        number = self.asked
        self.asked += 1
        if self._grid is not None:
            return number, dict(self._grid[number])
        if known is not None:
            self._study.enqueue_trial(known)
        trial = self._study.ask(self._distributions)
        self._handles[number] = trial
        return number, dict(trial.params)

    def tell(self, number: int, value: float | None) -> None:
        """Report point ``number``'s test accuracy (None when no run of it finished)."""
        trial = self._handles.pop(number, None)
        if trial is None:
            return
        import optuna

        if value is None:
            self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(trial, value)
