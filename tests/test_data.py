"""Tests of mnist_lab.data: the embedded MNIST, users' .npz and IDX files, and splits."""

import gzip
import pickle
import shutil

import numpy as np
import pytest

from mnist_lab import data

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def tiny_arrays(n_train=6, n_test=4):
    """Valid MNIST-shaped arrays small enough to write in every test."""
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.int64) % 10,
    }


def write_npz(path, **overrides):
    arrays = {**tiny_arrays(), **overrides}
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


def idx_bytes(array, magic=None):
    """Serialize a uint8 array as IDX: magic (0x08 dtype, rank), big-endian dims, the bytes."""
    magic = 0x0800 + array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_set(directory, compress=False):
    arrays = tiny_arrays()
    suffix = ".gz" if compress else ""
    paths = []
    for key in ("x_train", "y_train", "x_test", "y_test"):
        raw = idx_bytes(arrays[key])
        path = directory / f"{key}-ubyte{suffix}"
        path.write_bytes(gzip.compress(raw) if compress else raw)
        paths.append(path)
    return arrays, paths


def test_embedded_mnist_has_the_known_sizes_and_labels(mnist):
    assert mnist.x_train.shape == (60000, 28, 28)
    assert mnist.x_test.shape == (10000, 28, 28)
    assert mnist.x_train.dtype == mnist.y_train.dtype == np.uint8
    assert np.bincount(mnist.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.y_test).tolist() == TEST_COUNTS
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert (mnist.n_train, mnist.n_test, mnist.n_classes) == (60000, 10000, 10)
    assert mnist.image_shape == (28, 28)
    assert mnist.class_names == tuple("0123456789")
    assert mnist.name == "MNIST"
    assert mnist.sha256 == data.EMBEDDED_SHA256


def test_embedded_arrays_are_read_only(mnist):
    for array in (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test):
        assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        mnist.x_train[0, 0, 0] = 1


def test_damaged_embedded_file_fails_its_checksum(tmp_path, monkeypatch):
    damaged = tmp_path / "mnist.npz"
    shutil.copyfile(data.EMBEDDED_PATH, damaged)
    with open(damaged, "r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(data, "EMBEDDED_PATH", damaged)
    with pytest.raises(ValueError, match="damaged.*SHA-256"):
        data.load_mnist()


def test_load_npz_reads_a_keras_style_file(tmp_path):
    path = write_npz(tmp_path / "my_digits.npz")
    dataset = data.load_npz(path)
    expected = tiny_arrays()
    for key, value in expected.items():
        np.testing.assert_array_equal(getattr(dataset, key), value)
        assert getattr(dataset, key).dtype == np.uint8
        assert not getattr(dataset, key).flags.writeable
    assert dataset.name == "my_digits"
    assert dataset.source == "user file my_digits.npz"
    assert dataset.sha256 == data.file_sha256(path)
    assert data.load_mnist(path).n_train == 6


def test_load_npz_takes_a_display_name(tmp_path):
    assert data.load_npz(write_npz(tmp_path / "a.npz"), name="Teacher set").name == "Teacher set"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"x_train": np.zeros((6, 28, 28), np.float32)}, "x_train must be uint8"),
        ({"x_test": np.zeros((4, 28, 27), np.uint8)}, r"x_test must have shape \(n, 28, 28\)"),
        ({"x_train": np.zeros((6, 784), np.uint8)}, "x_train must have shape"),
        ({"y_train": np.zeros(6, np.float64)}, "y_train must hold integer labels"),
        ({"y_train": np.zeros(5, np.uint8)}, r"y_train must have shape \(6,\)"),
        ({"y_test": np.array([0, 1, 2, 10])}, r"labels must be in 0\.\.9"),
        ({"y_test": np.array([0, -1, 2, 3])}, r"labels must be in 0\.\.9"),
        (
            {"x_train": np.zeros((0, 28, 28), np.uint8), "y_train": np.zeros(0, np.uint8)},
            "x_train is empty",
        ),
        ({"y_test": None}, r"missing arrays \['y_test'\]"),
    ],
)
def test_load_npz_rejects_malformed_arrays(tmp_path, overrides, message):
    path = write_npz(tmp_path / "bad.npz", **overrides)
    with pytest.raises(ValueError, match=message):
        data.load_npz(path)


def test_load_npz_never_unpickles_object_arrays(tmp_path):
    path = write_npz(tmp_path / "objects.npz", y_train=np.array([0, 1, 2, 3, 4, "5"], dtype=object))
    with pytest.raises(ValueError, match="object arrays"):
        data.load_npz(path)


@pytest.mark.parametrize(
    "content",
    [
        pickle.dumps(tiny_arrays()),
        b"just some text, not a zip archive",
        b"",
    ],
    ids=["pickle", "garbage", "empty"],
)
def test_load_npz_rejects_files_that_are_not_npz(tmp_path, content):
    path = tmp_path / "not_really.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a NumPy .npz archive"):
        data.load_npz(path)


def test_load_npz_rejects_a_lone_npy_renamed_npz(tmp_path):
    path = tmp_path / "array.npz"
    with open(path, "wb") as handle:
        np.save(handle, np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="not a NumPy .npz archive"):
        data.load_npz(path)


def test_load_npz_rejects_a_truncated_archive(tmp_path):
    path = write_npz(tmp_path / "cut.npz")
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(ValueError, match="cut.npz"):
        data.load_npz(path)


def test_load_npz_rejects_a_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        data.load_npz(tmp_path / "nowhere.npz")


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_load_idx_dataset_reads_the_four_files(tmp_path, compress):
    arrays, paths = write_idx_set(tmp_path, compress=compress)
    dataset = data.load_idx_dataset(*paths, name="Tiny IDX")
    for key, value in arrays.items():
        np.testing.assert_array_equal(getattr(dataset, key), value)
        assert not getattr(dataset, key).flags.writeable
    assert dataset.name == "Tiny IDX"
    assert paths[0].name in dataset.source
    assert len(dataset.sha256) == 64


def test_read_idx_rejects_a_wrong_magic_number(tmp_path):
    path = tmp_path / "labels-ubyte"
    path.write_bytes(idx_bytes(np.zeros(30, np.uint8)))
    with pytest.raises(
        ValueError, match="wrong IDX magic number 2049.*images file starts with 2051"
    ):
        data.read_idx(path, expect="images")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-10], "file is truncated"),
        (idx_bytes(np.zeros((2, 28, 28), np.uint8)) + b"\0", "longer than its header says"),
        (b"\0\0\x08", "no full header"),
    ],
    ids=["truncated", "too-long", "no-header"],
)
def test_read_idx_rejects_a_size_that_does_not_match_the_header(tmp_path, content, message):
    path = tmp_path / "images-ubyte"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        data.read_idx(path, expect="images")


def test_read_idx_rejects_a_broken_gzip(tmp_path):
    path = tmp_path / "images-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((1, 28, 28), np.uint8)))[:-8])
    with pytest.raises(ValueError, match="not a valid gzip file"):
        data.read_idx(path, expect="images")


def test_read_idx_names_the_allowed_kinds(tmp_path):
    with pytest.raises(ValueError, match="'images' or 'labels'"):
        data.read_idx(tmp_path / "any", expect="pictures")


def test_load_idx_dataset_rejects_images_of_the_wrong_size(tmp_path):
    _, paths = write_idx_set(tmp_path)
    paths[0].write_bytes(idx_bytes(np.zeros((6, 32, 32), np.uint8)))
    with pytest.raises(ValueError, match=r"x_train must have shape \(n, 28, 28\)"):
        data.load_idx_dataset(*paths)


def test_load_idx_dataset_rejects_counts_that_disagree(tmp_path):
    _, paths = write_idx_set(tmp_path)
    paths[1].write_bytes(idx_bytes(np.zeros(5, np.uint8)))
    with pytest.raises(ValueError, match=r"y_train must have shape \(6,\)"):
        data.load_idx_dataset(*paths)


def test_load_idx_dataset_rejects_labels_out_of_range(tmp_path):
    _, paths = write_idx_set(tmp_path)
    paths[3].write_bytes(idx_bytes(np.array([0, 1, 2, 12], np.uint8)))
    with pytest.raises(ValueError, match=r"y_test labels must be in 0\.\.9, found 0\.\.12"):
        data.load_idx_dataset(*paths)


def test_train_validation_split_sizes_and_contents():
    x, y = np.arange(100).reshape(100, 1, 1), np.arange(100)
    x_train, y_train, x_val, y_val = data.train_validation_split(x, y, 0.2, seed=3)
    assert (len(x_train), len(y_train), len(x_val), len(y_val)) == (80, 80, 20, 20)
    np.testing.assert_array_equal(x_train.ravel(), y_train)
    assert sorted(np.concatenate([y_train, y_val]).tolist()) == list(range(100))


def test_train_validation_split_is_determined_by_the_seed():
    x, y = np.zeros((50, 2, 2)), np.arange(50)
    first = data.train_validation_split(x, y, 0.3, seed=7)[3]
    again = data.train_validation_split(x, y, 0.3, seed=7)[3]
    other = data.train_validation_split(x, y, 0.3, seed=8)[3]
    np.testing.assert_array_equal(first, again)
    assert first.tolist() != other.tolist()


def test_train_validation_split_with_no_validation():
    x, y = np.zeros((5, 2, 2)), np.arange(5)
    assert [len(a) for a in data.train_validation_split(x, y, 0.0)] == [5, 5, 0, 0]


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_train_validation_split_rejects_a_bad_fraction(fraction):
    with pytest.raises(ValueError, match=r"fraction must be in \[0, 1\)"):
        data.train_validation_split(np.zeros((4, 1)), np.arange(4), fraction)


def test_train_validation_split_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        data.train_validation_split(np.zeros((4, 1)), np.arange(3), 0.5)


def test_random_subset_is_seeded_sorted_and_checked():
    x, y = np.arange(100) * 2, np.arange(100)
    x_sub, y_sub = data.random_subset(x, y, 10, seed=3)
    assert len(x_sub) == 10 and np.all(np.diff(y_sub) > 0)
    assert np.array_equal(x_sub, y_sub * 2), "images and labels stay paired"
    assert np.array_equal(data.random_subset(x, y, 10, seed=3)[1], y_sub)
    assert not np.array_equal(data.random_subset(x, y, 10, seed=4)[1], y_sub)
    assert data.random_subset(x, y, None)[0] is x
    with pytest.raises(ValueError, match=r"subset size must be in \[1, 100\]"):
        data.random_subset(x, y, 101)
