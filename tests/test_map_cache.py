"""Slow maps of the digits: computed once by a real child process, kept on disk, read safely."""

import io
import time

import numpy as np
import pandas as pd

from mnist_lab.map_cache import (
    MapRequest,
    load_map,
    map_failure,
    map_job_running,
    map_progress,
    save_map,
    start_map_job,
)


def test_a_t_sne_map_is_computed_in_a_child_process_with_progress_and_kept(tmp_path, mnist):
    request = MapRequest(mnist.sha256, "test", "tsne", 300)
    path = request.path(tmp_path)
    start_map_job(request, tmp_path)
    deadline = time.monotonic() + 120
    while map_job_running(path) and time.monotonic() < deadline:
        time.sleep(0.5)
    points = load_map(path)
    assert points is not None, map_failure(path)
    assert len(points) == 300 and set(points["digit"]) == set(range(10))
    assert (mnist.y_test[points["index"]] == points["digit"]).all()
    assert map_progress(path) == (1.0, "settling the map: iteration 500 of 500")


def test_a_map_for_another_dataset_is_refused(tmp_path):
    request = MapRequest("0" * 64, "train", "tsne", 300)
    start_map_job(request, tmp_path)
    path = request.path(tmp_path)
    deadline = time.monotonic() + 60
    while map_job_running(path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert load_map(path) is None
    assert "not the dataset" in map_failure(path)


def test_maps_round_trip_and_damaged_or_pickled_files_read_as_missing(tmp_path):
    points = pd.DataFrame({"index": [3, 1], "digit": [7, 2], "x": [0.5, -1.0], "y": [2.0, 0.0]})
    path = tmp_path / "map.npz"
    save_map(path, points)
    pd.testing.assert_frame_equal(load_map(path), points)
    path.write_bytes(b"not a zip file")
    assert load_map(path) is None
    buffer = io.BytesIO()
    np.savez(buffer, index=np.array([object()]), digit=[1], x=[0.0], y=[0.0])
    path.write_bytes(buffer.getvalue())
    assert load_map(path) is None, "an object array needs unpickling: refused"
    assert load_map(tmp_path / "missing.npz") is None
