"""What untrusted input can cost is bounded, and bad input is a message, never a traceback."""

import errno
import gzip
import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from PIL import Image

from mnist_lab import files, runs
from mnist_lab.cli.main import main
from mnist_lab.data import MAX_ARRAY_BYTES, load_npz, read_idx
from mnist_lab.engines.keras_common import MAX_PARAMS
from mnist_lab.engines.keras_net.models import validate_layers
from mnist_lab.handwriting import MAX_WORK_SIDE, decode_image
from mnist_lab.runs import RunStore


def idx_header(magic: int, *dims: int) -> bytes:
    return b"".join(value.to_bytes(4, "big") for value in (magic, *dims))


def test_a_gzip_bomb_is_refused_without_being_inflated(tmp_path):
    path = tmp_path / "labels-idx1-ubyte.gz"
    # 100 MB of zeros compress to about 100 KB; the header announces 10 labels.
    with gzip.open(path, "wb") as handle:
        handle.write(idx_header(0x801, 10))
        for _ in range(100):
            handle.write(bytes(2**20))
    tracemalloc.start()
    with pytest.raises(ValueError, match="longer than its header says"):
        read_idx(path, expect="labels")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2**20, f"reading a bomb took {peak / 2**20:.0f} MB"


def test_a_header_announcing_too_much_is_refused_before_reading(tmp_path):
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(idx_header(0x803, 1_000_000, 28, 28))
    with pytest.raises(ValueError, match=r"more than the 200 MB"):
        read_idx(path, expect="images")


def test_an_idx_path_that_is_a_directory_is_a_message(tmp_path):
    with pytest.raises(ValueError, match="not a file"):
        read_idx(tmp_path, expect="images")


def test_npz_members_must_be_arrays_of_a_bounded_size(tmp_path):
    not_npy = tmp_path / "notes.npz"
    with zipfile.ZipFile(not_npy, "w") as archive:
        archive.writestr("x_train.txt", "hello")
    with pytest.raises(ValueError, match="is not a .npy array"):
        load_npz(not_npy)
    huge = tmp_path / "huge.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (10**7, 28, 28)}
    )
    with zipfile.ZipFile(huge, "w") as archive:
        archive.writestr("x_train.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:])
    with pytest.raises(ValueError, match=f"more than the {MAX_ARRAY_BYTES // 2**20} MB"):
        load_npz(huge)


@pytest.mark.parametrize("kind", [["Dense"], {"a": 1}])
def test_a_layer_type_that_is_not_a_name_is_a_message(kind):
    with pytest.raises(ValueError, match="unknown layer type"):
        validate_layers([{"type": kind, "units": 5}])


def test_a_billion_parameter_network_is_refused_with_its_size():
    layers = [{"type": "Conv2D", "filters": 512, "padding": "same"}] + [
        {"type": "Dense", "units": 4096}
    ] * 3
    with pytest.raises(ValueError, match=rf"more than the lab's limit of {MAX_PARAMS:,}"):
        validate_layers(layers)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"preset": ["softmax"]}', "preset must be one of"),
        ('{"preset": "custom", "layers": [{"type": {"x": 1}}]}', "unknown layer type"),
    ],
)
def test_bad_config_files_exit_2_with_a_message(tmp_path, capsys, content, message):
    path = tmp_path / "run.json"
    path.write_text(content)
    assert main(["train", "--config", str(path)]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_a_full_disk_leaves_no_run_behind(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))

    def full(run, file_name, obj):
        raise OSError(errno.ENOSPC, "No space left on device")

    # On the class, so no module imported meanwhile keeps the full disk afterwards.
    monkeypatch.setattr(runs.Run, "write_json", full)
    assert main(["train", "--epochs", "1"]) == 2
    assert "disk is full" in capsys.readouterr().err
    assert RunStore(tmp_path).list() == []


def test_a_large_photo_is_shrunk_before_it_costs_memory():
    buffer = io.BytesIO()
    Image.new("RGBA", (6000, 4000), (255, 255, 255, 255)).save(buffer, format="PNG")
    tracemalloc.start()
    gray = decode_image(buffer.getvalue())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert max(gray.shape) < 4 * MAX_WORK_SIDE
    assert peak < 300 * 2**20, f"decoding took {peak / 2**20:.0f} MB"


def test_a_run_config_is_small_json(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"name": "x" * (files.MAX_JSON_BYTES + 1)}))
    with pytest.raises(files.DamagedRunError, match="larger than"):
        files.read_json(path)
