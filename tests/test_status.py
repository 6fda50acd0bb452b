"""status.json's one owner: allowed transitions, conditional writes, and racing writers."""

from __future__ import annotations

import multiprocessing

import pytest

from mnist_lab import status
from mnist_lab.runs import RunStore

WRITES = 150


def test_a_run_goes_from_queued_through_running_to_an_end(tmp_path):
    run = RunStore(tmp_path).create({"engine": "numpy"})
    for state in ("running", "stopping", "stopped"):
        assert run.update_status(state=state)["state"] == state


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("finished", "running"),
        ("stopped", "queued"),
        ("running", "queued"),
        ("stopping", "running"),
    ],
)
def test_a_state_that_may_not_follow_is_refused_and_the_file_kept(tmp_path, before, after):
    run = RunStore(tmp_path).create({"engine": "numpy"})
    if before in ("stopping", "finished", "stopped"):
        run.update_status(state="running")
    run.update_status(state=before)
    with pytest.raises(status.TransitionError, match=f"{before} run cannot become {after}"):
        run.update_status(state=after, message="late")
    assert run.raw_status()["state"] == before
    assert run.raw_status()["message"] != "late"


def test_an_unknown_state_names_the_known_ones(tmp_path):
    run = RunStore(tmp_path).create({"engine": "numpy"})
    with pytest.raises(ValueError, match="state must be one of"):
        run.update_status(state="paused")


def test_fields_can_still_be_added_to_an_ended_run(tmp_path):
    run = RunStore(tmp_path).create({"engine": "numpy"})
    run.update_status(state="running")
    run.update_status(state="finished")
    assert run.update_status(expected_training_s=3.0)["state"] == "finished"


def test_a_conditional_write_leaves_a_run_in_another_state_alone(tmp_path):
    run = RunStore(tmp_path).create({"engine": "numpy"})
    run.update_status(state="running", pid=123)
    assert run.update_status(when=status.LIVE_STATES - {"running"}, pid=456) is None
    assert run.raw_status()["pid"] == 123
    assert run.update_status(when={"running"}, pid=789)["pid"] == 789


def _progress_writer(run_dir: str) -> None:
    for step in range(WRITES):
        status.update(run_dir, {"step": step, "progress": step / WRITES})


def _page_writer(run_dir: str) -> None:
    for number in range(WRITES):
        status.update(run_dir, {f"page_{number}": number})
        if number == WRITES // 2:
            status.update(run_dir, {"state": "stopping", "message": "Stopping."})


def test_racing_writers_lose_none_of_each_others_fields(tmp_path):
    # A worker's progress writes race a page's writes and a stop, in separate processes.
    run = RunStore(tmp_path).create({"engine": "numpy"})
    run.update_status(state="running")
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_progress_writer, args=(str(run.path),)),
        context.Process(target=_page_writer, args=(str(run.path),)),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0
    final = run.raw_status()
    assert final["state"] == "stopping"
    assert final["step"] == WRITES - 1
    assert all(final[f"page_{number}"] == number for number in range(WRITES))
