"""The sweep file format: ``<runs>/.sweeps/<id>/sweep.json``, beside the runs it launched.

One module owns it, the writer side and the reader side. A sweep's trials are ordinary runs
in the run store, each tagged in its ``config.json`` with ``{"sweep": {"id", "point",
"repeat"}}``; ``sweep.json`` holds the definition, the state and the list of trials::

    runs/.sweeps/<id>/sweep.json         definition, state, driver pid, trials (run ids)
    runs/.sweeps/<id>/cancel-requested   present once somebody asked to cancel the sweep
    runs/.sweeps/<id>/driver.log         the output of the process that drives it
    runs/.sweeps/<id>/driver.lock        flock held by the one process driving it

The directory starts with a dot, so `RunStore.list` never mistakes it for a run. Every field
of ``sweep.json`` is checked where it is read (`Sweep.raw`): a damaged file makes its sweep
read as damaged, with the reason, and never breaks the other sweeps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import math
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab.data import EMBEDDED_NAME as MNIST
from mnist_lab.engines import ENGINES, get_engine
from mnist_lab.files import DamagedRunError, KeptByVersion, atomic_write_json, now_iso, read_json
from mnist_lab.launch import REPEAT_SECONDS, RepeatedLaunchError, seconds_since
from mnist_lab.processes import process_alive
from mnist_lab.runs import (
    MAX_NAME_LENGTH,
    Run,
    RunStore,
    validate_owner_name,
    validate_run_id,
    validate_run_name,
)
from mnist_lab.sweeps.space import (
    MAX_TRIALS,
    METHODS,
    Parameter,
    PointSampler,
    check_trial_count,
    grid_size,
    sweepable,
)

FORMAT_VERSION = 1
SWEEPS_DIR = ".sweeps"
SWEEP_FILE = "sweep.json"
CANCEL_FILE = "cancel-requested"
DRIVER_LOG = "driver.log"
DRIVER_LOCK = "driver.lock"
DRIVER_LOCK_WAIT_S = 3.0
SWEEP_STATES = ("defined", "running", "finished", "cancelled", "interrupted", "failed")
LIVE_SWEEP_STATES = frozenset({"defined", "running"})
MAX_REPEATS = 10
MAX_PARALLEL = 16
# Bounds the text fields of a sweep file read back (an address, a message, a timestamp).
MAX_TEXT = 2000
# Checked sweep files, per file version: the Sweeps page reads each one several times a rerun.
_CHECKED = KeptByVersion(256)


@dataclass
class SweepDefinition:
    """What a sweep runs: an engine's fixed settings, the swept parameters, how to draw them.

    Attributes
    ----------
    engine : str
        A registered engine.
    base : dict
        The fixed settings every trial shares (a preset's recipe fills the rest).
    parameters : list of Parameter
    method : str
        One of ``grid``, ``random``, ``bayes``.
    count : int
        Points to draw (ignored by a grid, whose count is its size).
    repeats : int
        Runs per point, with seeds ``seed``, ``seed + 1``...
    parallel : int, optional
        Trials training at once; by default one here and one per CPU on a cluster.
    median_stop : bool
        Stop a trial whose validation accuracy falls below the median of the others'
        at the same epoch.
    cluster : str, optional
        A Ray cluster's address; None trains on this machine.
    name : str
    seed : int
        Seeds the random and Bayesian samplers.
    owner : str, optional
        Who launched the sweep, recorded as the owner of every trial.
    """

    engine: str
    base: dict
    parameters: list[Parameter]
    method: str = "grid"
    count: int = 0
    repeats: int = 1
    parallel: int | None = None
    median_stop: bool = False
    cluster: str | None = None
    name: str = ""
    seed: int = 0
    owner: str | None = None

    def validate(self) -> SweepDefinition:
        """Check the definition and every grid point's settings; return ``self``.

        Raises
        ------
        ValueError
            Saying which part is wrong, in the words of the setting it concerns.
        """
        engine = get_engine(self.engine)
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, got {self.method!r}")
        if not self.parameters:
            raise ValueError("a sweep needs at least one parameter to vary")
        names = [parameter.name for parameter in self.parameters]
        if len(set(names)) < len(names):
            raise ValueError(f"each parameter may be given once, got {names}")
        fixed = sorted(set(names) & set(self.base))
        if fixed:
            raise ValueError(f"{', '.join(fixed)}: both a fixed setting and a swept parameter")
        if not 1 <= self.repeats <= MAX_REPEATS:
            raise ValueError(f"repeats must be 1 to {MAX_REPEATS}, got {self.repeats}")
        if self.parallel is not None and not 1 <= self.parallel <= MAX_PARALLEL:
            raise ValueError(f"parallel must be 1 to {MAX_PARALLEL}, got {self.parallel}")
        if self.method != "grid" and not 1 <= self.count <= MAX_TRIALS:
            raise ValueError(
                f"a {self.method} sweep draws 1 to {MAX_TRIALS} points, got {self.count}"
            )
        if self.name:
            self.name = validate_run_name(self.name)
        if self.owner is not None:
            self.owner = validate_owner_name(self.owner)
        # Counted from the value lists before any point is built: a huge grid costs nothing.
        check_trial_count(self.point_count(), self.repeats)
        sampler = self.sampler()
        engine.settings_class.resolve(self.base)
        if self.method == "grid":
            for number in range(sampler.count):
                self.trial_config(sampler.ask()[1], repeat=0, sweep_id="check", point=number)
        return self

    def sampler(self) -> PointSampler:
        """A fresh sampler of this sweep's points."""
        return PointSampler(self.method, self.parameters, self.count, seed=self.seed)

    def point_count(self) -> int:
        """How many points the sweep tries: a grid's size, else the points it draws."""
        return grid_size(self.parameters) if self.method == "grid" else self.count

    def trial_count(self) -> int:
        """How many runs the sweep launches (points times repeats)."""
        return self.point_count() * self.repeats

    def trial_config(self, params: dict, repeat: int, sweep_id: str, point: int) -> dict:
        """The ``config.json`` of one trial: fixed settings, the point's values, its seed.

        Raises
        ------
        ValueError
            If the point's settings are invalid together (say, a rate out of range).
        """
        settings_class = get_engine(self.engine).settings_class
        values = {**self.base, **params}
        if self.repeats > 1:
            values["seed"] = int(values.get("seed", settings_class.declared()["seed"].default))
            values["seed"] += repeat
        config = settings_class.resolve(values).to_dict()
        config["sweep"] = {"id": sweep_id, "point": point, "repeat": repeat}
        return config

    def to_dict(self) -> dict:
        """The definition as ``sweep.json`` stores it."""
        data = dataclasses.asdict(self)
        data["parameters"] = [dataclasses.asdict(parameter) for parameter in self.parameters]
        return data

    @classmethod
    def from_dict(cls, data: Any) -> SweepDefinition:
        """Read a definition written by `to_dict`, checking every field's type and form.

        Raises
        ------
        DamagedRunError
            Naming the field that is missing or wrong, and what it should be.
        """
        data = _object(data, "definition")
        missing = sorted({"engine", "base", "parameters"} - set(data))
        if missing:
            raise DamagedRunError(f"{SWEEP_FILE}'s definition lacks {', '.join(missing)}")
        engine = data["engine"]
        if not isinstance(engine, str) or engine not in ENGINES:
            raise _damaged("engine", engine, f"one of {sorted(ENGINES)}")
        options = sweepable(get_engine(engine).settings_class.declared())
        parameters = data["parameters"]
        if not isinstance(parameters, list) or not 1 <= len(parameters) <= len(options):
            raise _damaged("parameters", parameters, "a list of the swept settings")
        method = data.get("method", "grid")
        if method not in METHODS:
            raise _damaged("method", method, f"one of {list(METHODS)}")
        parallel = data.get("parallel")
        definition = cls(
            engine=engine,
            base=_object(data["base"], "base"),
            parameters=[_parameter(p, options) for p in parameters],
            method=method,
            count=_whole(data.get("count", 0), "count", 0, MAX_TRIALS),
            repeats=_whole(data.get("repeats", 1), "repeats", 1, MAX_REPEATS),
            parallel=None if parallel is None else _whole(parallel, "parallel", 1, MAX_PARALLEL),
            median_stop=_flag(data.get("median_stop", False), "median_stop"),
            cluster=_optional_text(data.get("cluster"), "cluster"),
            name=_text(data.get("name", ""), "name", MAX_NAME_LENGTH),
            seed=_whole(data.get("seed", 0), "seed", -(2**63), 2**63 - 1),
            owner=_optional_text(data.get("owner"), "owner"),
        )
        try:
            check_trial_count(definition.point_count(), definition.repeats)
        except ValueError as error:
            raise DamagedRunError(f"{SWEEP_FILE}'s definition is not one: {error}") from None
        return definition


def _damaged(what: str, value: Any, wanted: str) -> DamagedRunError:
    """The reason a field of a sweep file is refused, showing the start of what it holds."""
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return DamagedRunError(f"{SWEEP_FILE}'s {what} is not {wanted} ({shown})")


def _object(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise _damaged(what, value, "an object")
    return value


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _damaged(what, value, f"a whole number from {low:,} to {high:,}")
    return value


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise _damaged(what, value, "true or false")
    return value


def _text(value: Any, what: str, longest: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > longest:
        raise _damaged(what, value, f"text of at most {longest:,} characters")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any, what: str) -> float | None:
    """A range's end: a finite number, or None."""
    if value is not None and not _finite(value):
        raise _damaged(what, value, "a finite number")
    return value


def _scalar(value: Any, what: str) -> Any:
    """A parameter's value: text, true/false, or a finite number."""
    if isinstance(value, str | bool) or _finite(value):
        return value
    raise _damaged(what, value, "a value (text, true or false, a finite number)")


def _parameter(data: Any, options: dict) -> Parameter:
    """One swept parameter of a sweep file, checked."""
    data = _object(data, "parameter")
    name = data.get("name")
    if name not in options:
        raise _damaged("parameter name", name, f"a setting a sweep varies ({sorted(options)})")
    values = data.get("values", [])
    if not isinstance(values, list) or len(values) > MAX_TRIALS:
        raise _damaged(f"{name}'s values", values, f"a list of at most {MAX_TRIALS} values")
    low, high = (_number(data.get(end), f"{name}'s {end}") for end in ("low", "high"))
    if not values and (low is None or high is None or not low < high):
        raise DamagedRunError(f"{SWEEP_FILE}'s {name} has neither values nor a range")
    return Parameter(
        name,
        values=tuple(_scalar(value, f"value of {name}") for value in values),
        low=low,
        high=high,
        log=_flag(data.get("log", False), f"{name}'s log"),
        integer=_flag(data.get("integer", False), f"{name}'s integer"),
    )


def _trial(data: Any) -> Trial:
    """One launched trial of a sweep file, checked."""
    data = _object(data, "trial")
    run = data.get("run")
    try:
        validate_run_id(run)
    except ValueError:
        raise _damaged("trial's run", run, "a run id") from None
    params = _object(data.get("params", {}), "trial's params")
    return Trial(
        run,
        point=_whole(data.get("point"), "trial's point", 0, MAX_TRIALS - 1),
        repeat=_whole(data.get("repeat"), "trial's repeat", 0, MAX_REPEATS - 1),
        params={_text(k, "parameter name"): _scalar(v, k) for k, v in params.items()},
        pruned=_flag(data.get("pruned", False), "trial's pruned"),
    )


@dataclass(frozen=True)
class _Checked:
    """A sweep file whose every field was checked: as written, and read into its parts."""

    data: dict
    definition: SweepDefinition
    trials: list


def _check(data: dict) -> _Checked:
    """``data``, a whole sweep file, once every field has its type and form."""
    if data.get("format") != FORMAT_VERSION:
        raise _damaged("format", data.get("format"), f"version {FORMAT_VERSION}")
    if data.get("state") not in SWEEP_STATES:
        raise _damaged("state", data.get("state"), f"one of {list(SWEEP_STATES)}")
    for key in ("message", "where", "created", "started", "ended", "updated"):
        _optional_text(data.get(key), key)
    driver = data.get("driver")
    if driver is not None:
        _whole(_object(driver, "driver").get("pid"), "driver's pid", 1, 2**31 - 1)
        _optional_text(driver.get("pid_start"), "driver's pid_start")
    trials = data.get("trials")
    if not isinstance(trials, list) or len(trials) > MAX_TRIALS:
        raise _damaged("trials", trials, f"a list of at most {MAX_TRIALS} trials")
    return _Checked(
        data, SweepDefinition.from_dict(data.get("definition")), [_trial(t) for t in trials]
    )


def _read_checked(path: Path) -> _Checked:
    try:
        return _check(read_json(path))
    except DamagedRunError:
        raise
    except ValueError as error:
        # A definition the settings refuse (a value out of its declared range, say).
        raise DamagedRunError(f"{SWEEP_FILE} is malformed ({error})") from None


@dataclass
class Trial:
    """One run of a sweep: its point, repeat and parameter values."""

    run: str
    point: int
    repeat: int
    params: dict = field(default_factory=dict)
    pruned: bool = False


class Sweep:
    """One sweep directory: its definition, state and trials.

    Parameters
    ----------
    path : Path
        ``<runs>/.sweeps/<id>``.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Sweep({str(self.path)!r})"

    @property
    def id(self) -> str:
        """The sweep's id: its directory name."""
        return self.path.name

    @property
    def run_store(self) -> RunStore:
        """The run store its trials live in."""
        return RunStore(self.path.parents[1])

    def file(self, name: str) -> Path:
        """Path of one of the sweep's files."""
        return self.path / name

    def _checked(self) -> _Checked:
        checked = _CHECKED.of_file(self.file(SWEEP_FILE), _read_checked)
        if checked is None:
            raise DamagedRunError(f"{SWEEP_FILE} is missing")
        return checked

    def raw(self) -> dict:
        """``sweep.json`` as last written, every field checked (do not change it).

        Raises
        ------
        DamagedRunError
            If it is unreadable or a field is missing or has the wrong type or form.
        """
        return self._checked().data

    def definition(self) -> SweepDefinition:
        """The sweep's definition; `DamagedRunError` if the file is damaged."""
        return self._checked().definition

    @property
    def name(self) -> str:
        """Display name: the one given, else the id."""
        try:
            return self.definition().name or self.id
        except DamagedRunError:
            return self.id

    @property
    def owner(self) -> str | None:
        """Who launched the sweep (`mnist_lab.ownership` decides who may cancel it)."""
        try:
            return self.definition().owner
        except DamagedRunError:
            return None

    def trials(self) -> list[Trial]:
        """The trials launched so far, in launch order; `DamagedRunError` if damaged."""
        return list(self._checked().trials)

    def runs(self) -> list[Run]:
        """The run of every trial launched so far, in launch order."""
        return [Run(self.run_store.root / validate_run_id(t.run)) for t in self.trials()]

    def state(self) -> dict:
        """``state`` and ``message``; a running sweep whose driver is gone reads interrupted."""
        try:
            raw = self.raw()
        except DamagedRunError as error:
            return {"state": "damaged", "message": f"This sweep is damaged: {error}."}
        state = {"state": raw["state"], "message": raw.get("message") or ""}
        driver = raw.get("driver") or {}
        if state["state"] == "running" and not process_alive(
            driver.get("pid"), driver.get("pid_start")
        ):
            state = {
                "state": "interrupted",
                "message": "The process driving this sweep ended (killed or crashed); "
                "trials launched before then keep their results. Resume it to launch the "
                "others.",
            }
        return state

    @contextlib.contextmanager
    def driving(self) -> Iterator[None]:
        """Hold this sweep's driver lock while a process drives it (the kernel frees it if killed).

        Raises
        ------
        ValueError
            If another process drives the sweep now.
        """
        with open(self.file(DRIVER_LOCK), "a") as handle:
            # A driver killed a moment ago may still be closing its files: wait a little.
            deadline = time.monotonic() + DRIVER_LOCK_WAIT_S
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ValueError(
                            f"sweep {self.id} is being driven by another process"
                        ) from None
                    time.sleep(0.1)
            yield

    def adopt_untracked(self) -> list[Trial]:
        """Record the runs tagged with this sweep that its file does not list, and return them.

        A driver killed between creating a trial's run and recording it leaves such a run.
        """
        known = {trial.run for trial in self.trials()}
        names = [parameter.name for parameter in self.definition().parameters]
        adopted = []
        # Oldest first, as they were launched.
        for run in reversed(self.run_store.list()):
            try:
                config = run.config()
                tag = config.get("sweep")
                if run.id in known or not isinstance(tag, dict) or tag.get("id") != self.id:
                    continue
                params = {name: config.get(name) for name in names}
                adopted.append(_trial(dict(tag, run=run.id, params=params)))
            except DamagedRunError:
                continue
        if adopted:
            self.update(trials=[*self.raw()["trials"], *map(dataclasses.asdict, adopted)])
        return adopted

    def update(self, **fields: Any) -> dict:
        """Merge ``fields`` into ``sweep.json`` atomically (only its driver writes it)."""
        if "state" in fields and fields["state"] not in SWEEP_STATES:
            raise ValueError(f"state must be one of {SWEEP_STATES}, got {fields['state']!r}")
        data = {**self.raw(), **fields, "updated": now_iso()}
        atomic_write_json(self.file(SWEEP_FILE), data)
        return data

    def add_trial(self, trial: Trial) -> None:
        """Record a launched trial."""
        self.update(trials=[*self.raw()["trials"], dataclasses.asdict(trial)])

    def mark_pruned(self, run_id: str) -> None:
        """Record that the median rule stopped trial ``run_id``."""
        trials = [dict(t, pruned=t["pruned"] or t["run"] == run_id) for t in self.raw()["trials"]]
        self.update(trials=trials)

    def request_cancel(self) -> None:
        """Ask the sweep's driver to stop its trials and launch no more."""
        self.file(CANCEL_FILE).touch()

    def cancel_requested(self) -> bool:
        """Whether somebody asked to cancel this sweep."""
        return self.file(CANCEL_FILE).exists()


class SweepStore:
    """Every sweep of one run store, newest first.

    Parameters
    ----------
    store : RunStore
        The runs the sweeps launch; sweeps live in its ``.sweeps`` directory.
    """

    def __init__(self, store: RunStore):
        self.runs = store
        self.root = store.root / SWEEPS_DIR

    def create(self, definition: SweepDefinition, again: bool = False) -> Sweep:
        """Validate ``definition`` and write a new sweep directory in state ``defined``.

        Parameters
        ----------
        definition : SweepDefinition
            What to sweep, and who launches it.
        again : bool, default False
            Create it even if the same definition was launched seconds ago.

        Raises
        ------
        RepeatedLaunchError
            If a sweep with the same definition (owner included) was created less than
            `mnist_lab.launch.REPEAT_SECONDS` ago and ``again`` is False.
        ValueError
            If the definition is invalid or names a dataset not stored here.
        """
        definition.validate()
        # Its trials' dataset must be stored here: an unknown name is refused before any trial.
        self.runs.with_dataset_hash({"dataset": {"name": definition.base.get("dataset", MNIST)}})
        if not again and (seconds := self.repeated(definition)) is not None:
            raise RepeatedLaunchError("sweep", seconds)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
        sweep = Sweep(self.root / validate_run_id(f"sweep-{stamp}-{secrets.token_hex(2)}"))
        sweep.path.mkdir(parents=True)
        atomic_write_json(
            sweep.file(SWEEP_FILE),
            {
                "format": FORMAT_VERSION,
                "definition": definition.to_dict(),
                "state": "defined",
                "message": f"{definition.trial_count()} trials to run.",
                "created": now_iso(),
                "trials": [],
            },
        )
        return sweep

    def repeated(self, definition: SweepDefinition) -> float | None:
        """Seconds since a sweep of ``definition`` was created, if under `REPEAT_SECONDS`."""
        wanted = definition.to_dict()
        # Newest first: the search ends at the first sweep older than the window.
        for sweep in self.list():
            try:
                created, same = sweep.raw().get("created"), sweep.definition().to_dict() == wanted
            except DamagedRunError:
                continue
            age = seconds_since(created)
            if age is None or age > REPEAT_SECONDS:
                return None
            if same:
                return max(age, 0.0)
        return None

    def get(self, sweep_id: str) -> Sweep:
        """The sweep with id ``sweep_id``; ``KeyError`` if there is none."""
        sweep = Sweep(self.root / validate_run_id(sweep_id))
        if not sweep.file(SWEEP_FILE).is_file():
            raise KeyError(f"no sweep {sweep_id!r} in {self.root}")
        return sweep

    def list(self) -> list[Sweep]:
        """Every sweep, newest first."""
        if not self.root.is_dir():
            return []
        paths = sorted(self.root.iterdir(), key=lambda path: path.name, reverse=True)
        return [Sweep(path) for path in paths if (path / SWEEP_FILE).is_file()]
