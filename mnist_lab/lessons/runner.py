"""A lesson's runs: start them, find them again, and read what they showed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from mnist_lab.files import DamagedRunError, read_json
from mnist_lab.launch import executor_for, launch
from mnist_lab.lessons.catalogue import Lesson, LessonRun
from mnist_lab.lessons.results import Explanation, RunResult
from mnist_lab.runs import Run, RunStore
from mnist_lab.status import LIVE_STATES

LESSON_FILE = "lesson.json"


def lesson_tag(run: Run) -> dict | None:
    """The run's ``lesson.json`` (``{"lesson": id, "step": key}``), or None if untagged."""
    if not run.file(LESSON_FILE).exists():
        return None
    try:
        return read_json(run.file(LESSON_FILE))
    except DamagedRunError:
        return None


def create_lesson_runs(store: RunStore, lesson: Lesson, owner: str | None = None) -> list[Run]:
    """Create (but do not launch) one tagged run per step of ``lesson``, in order.

    Parameters
    ----------
    store : RunStore
    lesson : Lesson
    owner : str, optional
        Who started the lesson, recorded as each run's owner.

    Returns
    -------
    list of Run
        Queued runs, not launched yet (`start_lesson` launches them).
    """
    runs = []
    for step in lesson.runs:
        run = store.create(step.config, name=step.name, owner=owner)
        _tag(run, lesson, step)
        runs.append(run)
    return runs


def start_lesson(store: RunStore, lesson: Lesson, owner: str | None = None) -> list[Run]:
    """Launch the runs of ``lesson`` for ``owner``, in order, through `mnist_lab.launch`.

    They wait in the fair queue of the executor the lab is configured for: this machine,
    or the Ray cluster that ``$MNIST_LAB_CLUSTER`` names.

    Returns
    -------
    list of Run

    Raises
    ------
    ValueError
        If the cluster cannot be reached (nothing is launched then).
    """
    # Connect once for all the steps; every step is trained anew, so each has its own tag.
    executor = executor_for(store)
    return [
        launch(
            store,
            step.config,
            name=step.name,
            owner=owner,
            force=True,
            executor=executor,
            prepare=lambda run, step=step: _tag(run, lesson, step),
        ).run
        for step in lesson.runs
    ]


def _tag(run: Run, lesson: Lesson, step: LessonRun) -> None:
    run.write_json(LESSON_FILE, {"lesson": lesson.id, "step": step.step})


def lesson_runs(store: RunStore, lesson: Lesson) -> dict[str, Run]:
    """The newest run of each step of ``lesson`` (steps never run are left out)."""
    found: dict[str, Run] = {}
    for run in store.list():
        tag = lesson_tag(run)
        if tag and tag.get("lesson") == lesson.id and tag.get("step") in lesson.steps:
            found.setdefault(tag["step"], run)
    return {step: found[step] for step in lesson.steps if step in found}


def lesson_state(runs: Mapping[str, Run], lesson: Lesson) -> str:
    """``"new"`` (never run), ``"running"`` (a run is live) or ``"done"``."""
    if not runs:
        return "new"
    if len(runs) < len(lesson.runs) or any(
        run.status()["state"] in LIVE_STATES for run in runs.values()
    ):
        return "running"
    return "done"


def explain(lesson: Lesson, runs: Mapping[str, Run | RunResult]) -> Explanation:
    """Say what a lesson's runs showed, from their own numbers.

    Parameters
    ----------
    lesson : Lesson
    runs : mapping
        Step key -> `Run` (read with `RunResult.from_run`) or `RunResult`, one per step.

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        If a step of the lesson has no run.
    """
    missing = [step for step in lesson.steps if step not in runs]
    if missing:
        raise ValueError(f"lesson {lesson.id!r} has no run yet for step(s) {missing}")
    given = {step: value for step, value in runs.items() if isinstance(value, RunResult)}
    read = {step: value for step, value in runs.items() if step not in given}
    return lesson.explainer({**lesson_results(lesson, read), **given})


def lesson_results(
    lesson: Lesson, runs: Mapping[str, Run], measured: Mapping[str, dict] | None = None
) -> dict[str, RunResult]:
    """Each run's `RunResult`, with what the lesson measures on its model.

    Parameters
    ----------
    lesson : Lesson
    runs : mapping
        Step key -> finished run.
    measured : mapping, optional
        What ``lesson.measure(runs)`` returned, if the caller cached it; measured here
        when omitted (seconds: it asks the runs' models).

    Returns
    -------
    dict
        Step key -> `RunResult`.
    """
    if measured is None and lesson.measure is not None and runs:
        measured = lesson.measure(runs)
    return {
        step: replace(RunResult.from_run(run), measured=(measured or {}).get(step, {}))
        for step, run in runs.items()
    }
