"""What a Ray node sends back is written only inside its run's directory (no cluster needed).

The mirror (`mnist_lab.execution.ray_cluster.mirror`) is fed batches as a node would stream
them, including names a hostile node could send.
"""

from __future__ import annotations

import pytest

from mnist_lab.execution.ray_cluster import RefusedFile, mirror, returned_path
from mnist_lab.runs import RunStore


@pytest.fixture
def run(tmp_path):
    run = RunStore(tmp_path / "runs").create({"engine": "numpy"})
    run.update_status(state="running", message="Training on a node.")
    return run


def live(epoch: int) -> dict:
    return {
        "metrics": b"",
        "status": {"state": "running", "message": f"epoch {epoch}", "pid": 1},
        "node": "127.0.0.1 node abc",
        "node_id": "abc",
    }


def ended() -> dict:
    return dict(live(2), status={"state": "finished", "message": "Done."})


@pytest.mark.parametrize(
    "name",
    [
        "../../x",
        "/tmp/x",
        "tb/../../x",
        "..",
        ".hidden",
        "",
        "config.json",
        "status.json",
        "dispatch.json",
        "metrics.jsonl",
        "nested/weights.npz",
        "tb/a/b/c/d/e/f/g",
        "weights.npz\n",
    ],
)
def test_a_name_outside_the_runs_own_files_is_refused(run, name):
    with pytest.raises(RefusedFile):
        returned_path(run, name)


def test_the_runs_own_files_go_inside_its_directory(run):
    assert returned_path(run, "weights.npz") == run.path / "weights.npz"
    assert returned_path(run, "evaluation.json") == run.path / "evaluation.json"
    events = "tb/train/events.out.tfevents.1700000000.node.1.v2"
    assert returned_path(run, events) == run.path / events


def test_a_name_through_a_link_is_refused(run, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (run.path / "tb").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RefusedFile, match="through a link"):
        returned_path(run, "tb/events")


def test_a_node_sending_a_name_outside_writes_nothing_and_the_run_says_why(run, tmp_path):
    files = {"weights.npz": b"model", "../../x": b"evil"}
    mirror(run, [live(1), ended(), {"files": files}])
    assert not (tmp_path / "x").exists() and not (run.path.parent.parent / "x").exists()
    assert not (run.path / "weights.npz").exists(), "part of a refused batch was written"
    status = run.status()
    assert status["state"] == "failed"
    assert "'../../x' is not a plain name inside the run directory" in status["message"]


def test_a_node_sending_its_runs_files_finishes_the_run(run):
    mirror(run, [live(1), ended(), {"files": {"weights.npz": b"model", "tb/train/e": b"e"}}])
    assert run.status()["state"] == "finished" and run.status()["node"] == "127.0.0.1 node abc"
    assert (run.path / "weights.npz").read_bytes() == b"model"
    assert (run.path / "tb" / "train" / "e").read_bytes() == b"e"
