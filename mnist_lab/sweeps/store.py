"""The sweep file format: ``<runs>/.sweeps/<id>/sweep.json``, beside the runs it launched.

One module owns it, the writer side and the reader side. A sweep's trials are ordinary runs
in the run store, each tagged in its ``config.json`` with ``{"sweep": {"id", "point",
"repeat"}}``; ``sweep.json`` holds the definition, the state and the list of trials::

    runs/.sweeps/<id>/sweep.json         definition, state, driver pid, trials (run ids)
    runs/.sweeps/<id>/cancel-requested   present once somebody asked to cancel the sweep
    runs/.sweeps/<id>/driver.log         the output of the process that drives it

The directory starts with a dot, so `RunStore.list` never mistakes it for a run.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab.data import EMBEDDED_NAME as MNIST
from mnist_lab.engines import get_engine
from mnist_lab.files import DamagedRunError, atomic_write_json, now_iso, read_json
from mnist_lab.processes import process_alive
from mnist_lab.runs import Run, RunStore, validate_owner_name, validate_run_id, validate_run_name
from mnist_lab.sweeps.space import METHODS, Parameter, PointSampler, check_trial_count

FORMAT_VERSION = 1
SWEEPS_DIR = ".sweeps"
SWEEP_FILE = "sweep.json"
CANCEL_FILE = "cancel-requested"
DRIVER_LOG = "driver.log"
SWEEP_STATES = ("defined", "running", "finished", "cancelled", "interrupted", "failed")
LIVE_SWEEP_STATES = frozenset({"defined", "running"})
MAX_REPEATS = 10
MAX_PARALLEL = 16


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
    parallel : int
        Trials training at once.
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
    parallel: int = 1
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
        if not 1 <= self.parallel <= MAX_PARALLEL:
            raise ValueError(f"parallel must be 1 to {MAX_PARALLEL}, got {self.parallel}")
        if self.name:
            self.name = validate_run_name(self.name)
        if self.owner is not None:
            self.owner = validate_owner_name(self.owner)
        sampler = self.sampler()
        check_trial_count(sampler.count * self.repeats)
        engine.settings_class.resolve(self.base)
        if self.method == "grid":
            for number in range(sampler.count):
                self.trial_config(sampler.ask()[1], repeat=0, sweep_id="check", point=number)
        return self

    def sampler(self) -> PointSampler:
        """A fresh sampler of this sweep's points."""
        return PointSampler(self.method, self.parameters, self.count, seed=self.seed)

    def trial_count(self) -> int:
        """How many runs the sweep launches (points times repeats)."""
        points = self.sampler().count if self.method == "grid" else self.count
        return points * self.repeats

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
    def from_dict(cls, data: dict) -> SweepDefinition:
        """Read a definition written by `to_dict`; ``ValueError`` if it is malformed."""
        try:
            names = {f.name for f in dataclasses.fields(cls)}
            values = {key: value for key, value in data.items() if key in names}
            values["parameters"] = [
                Parameter(**dict(p, values=tuple(p.get("values", ())))) for p in data["parameters"]
            ]
            return cls(**values)
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a sweep definition: {error}") from None


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

    def raw(self) -> dict:
        """``sweep.json`` as last written; `DamagedRunError` if unreadable."""
        return read_json(self.file(SWEEP_FILE))

    def definition(self) -> SweepDefinition:
        """The sweep's definition."""
        try:
            return SweepDefinition.from_dict(self.raw()["definition"])
        except (KeyError, ValueError) as error:
            raise DamagedRunError(f"{SWEEP_FILE} holds no valid definition ({error})") from None

    @property
    def name(self) -> str:
        """Display name: the one given, else the id."""
        try:
            return self.definition().name or self.id
        except DamagedRunError:
            return self.id

    def trials(self) -> list[Trial]:
        """The trials launched so far, in launch order."""
        try:
            return [Trial(**trial) for trial in self.raw().get("trials", [])]
        except (DamagedRunError, TypeError):
            return []

    def runs(self) -> list[Run]:
        """The run of every trial launched so far, in launch order."""
        return [Run(self.run_store.root / validate_run_id(t.run)) for t in self.trials()]

    def state(self) -> dict:
        """``state`` and ``message``; a running sweep whose driver is gone reads interrupted."""
        try:
            raw = self.raw()
        except DamagedRunError as error:
            return {"state": "damaged", "message": f"This sweep is damaged: {error}."}
        state = {"state": raw.get("state", "defined"), "message": raw.get("message", "")}
        driver = raw.get("driver") or {}
        if state["state"] == "running" and not process_alive(
            driver.get("pid"), driver.get("pid_start")
        ):
            state = {
                "state": "interrupted",
                "message": "The process driving this sweep ended (killed or crashed); "
                "trials launched before then keep their results.",
            }
        return state

    def update(self, **fields: Any) -> dict:
        """Merge ``fields`` into ``sweep.json`` atomically (only its driver writes it)."""
        if "state" in fields and fields["state"] not in SWEEP_STATES:
            raise ValueError(f"state must be one of {SWEEP_STATES}, got {fields['state']!r}")
        data = self.raw()
        data.update(fields, updated=now_iso())
        atomic_write_json(self.file(SWEEP_FILE), data)
        return data

    def add_trial(self, trial: Trial) -> None:
        """Record a launched trial."""
        data = self.raw()
        self.update(trials=[*data.get("trials", []), dataclasses.asdict(trial)])

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

    def create(self, definition: SweepDefinition) -> Sweep:
        """Validate ``definition`` and write a new sweep directory in state ``defined``."""
        definition.validate()
        # Its trials' dataset must be stored here: an unknown name is refused before any trial.
        self.runs.with_dataset_hash({"dataset": {"name": definition.base.get("dataset", MNIST)}})
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
