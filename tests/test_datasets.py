"""Users' own datasets: stored by hash, reloaded by name, trained on by every engine."""

import gzip
import io
import shutil
import threading
import zipfile

import numpy as np
import pytest

from mnist_lab import data
from mnist_lab.data import EMBEDDED_SHA256
from mnist_lab.datasets import (
    DATASETS_DIR,
    MAX_NAME_LENGTH,
    DatasetStore,
    dataset_of,
    parse_class_names,
)
from mnist_lab.engines import get_engine
from mnist_lab.engines.logreg.settings import LogregSettings
from mnist_lab.engines.numpy_net.settings import NumpyNetSettings
from mnist_lab.runs import RunStore
from mnist_lab.status import DAMAGED
from tests.shapes import CLASS_NAMES, N_TEST, N_TRAIN, idx_bytes, shapes_arrays, write_shapes_idx


@pytest.fixture
def shapes_files(tmp_path):
    return write_shapes_idx(tmp_path / "upload")


@pytest.fixture
def store():
    return RunStore()


@pytest.fixture
def shapes(store, shapes_files):
    DatasetStore(store.root).add_files(shapes_files, "Shapes", ", ".join(CLASS_NAMES))
    return store


def stored_files(store):
    return sorted(p.name for p in (store.root / DATASETS_DIR).rglob("*"))


def test_a_dataset_is_added_listed_and_reloaded_by_name(store, shapes_files):
    datasets = DatasetStore(store.root)
    info = datasets.add_files(shapes_files, " Shapes ", "square, cross, circle")
    assert (info.name, info.class_names) == ("Shapes", CLASS_NAMES)
    assert (info.n_train, info.n_test, info.n_classes) == (N_TRAIN, N_TEST, 3)
    assert stored_files(store) == sorted([info.sha256, "data.npz", "dataset.json"])
    assert [i.name for i in datasets.list()] == ["Shapes"]
    assert datasets.names() == ["MNIST", "Shapes"]
    dataset = datasets.load("shapes")
    arrays = shapes_arrays()
    for key, value in arrays.items():
        np.testing.assert_array_equal(getattr(dataset, key), value)
    assert (dataset.name, dataset.class_names, dataset.sha256) == (
        "Shapes",
        CLASS_NAMES,
        info.sha256,
    )


def test_the_hash_is_of_the_arrays_so_idx_and_npz_of_the_same_data_agree(
    store, shapes_files, tmp_path
):
    first = DatasetStore(store.root).add_files(shapes_files, "Shapes")
    again = DatasetStore(store.root).add_files(shapes_files, "Shapes")
    assert again.sha256 == first.sha256 and len(DatasetStore(store.root).list()) == 1
    npz = tmp_path / "shapes.npz"
    np.savez_compressed(npz, **shapes_arrays())
    with pytest.raises(ValueError, match="already stored as 'Shapes'"):
        DatasetStore(store.root).add_files([npz], "Same shapes")
    other = RunStore(tmp_path / "elsewhere")
    assert DatasetStore(other.root).add_files([npz], "Shapes").sha256 == first.sha256


def test_without_class_names_the_labels_name_the_classes(store, shapes_files):
    assert DatasetStore(store.root).add_files(shapes_files, "Shapes").class_names == ("0", "1", "2")


@pytest.mark.parametrize(
    ("name", "classes", "message"),
    [
        ("MNIST", None, "embedded dataset's name"),
        ("", None, "needs a name"),
        ("x" * (MAX_NAME_LENGTH + 1), None, "at most 40 characters"),
        ("Shapes", "a, b", "3 class names are needed"),
        ("Shapes", "a, b, c, d", "have no training image"),
        ("Shapes", "a,,b", "class name 2 is empty"),
        ("Shapes", "a, A, b", "same name"),
        ("Shapes", ",".join("abcdefghijk"), "2 to 10 class names"),
    ],
)
def test_bad_names_and_classes_are_refused_and_nothing_is_stored(
    store, shapes_files, name, classes, message
):
    with pytest.raises(ValueError, match=message):
        DatasetStore(store.root).add_files(shapes_files, name, classes)
    assert not (store.root / DATASETS_DIR).exists() or stored_files(store) == []


def test_a_taken_name_is_refused(shapes, tmp_path):
    npz = tmp_path / "other.npz"
    np.savez(npz, **shapes_arrays(seed=1))
    with pytest.raises(ValueError, match="already exists"):
        DatasetStore(shapes.root).add_files([npz], "shapes")


def test_sessions_adding_one_name_at_once_store_it_once(store, tmp_path):
    """Four sessions upload different data under one name at the same instant: one wins."""
    uploads = []
    for seed in range(4):
        npz = tmp_path / f"upload-{seed}.npz"
        np.savez(npz, **shapes_arrays(seed=seed))
        uploads.append(npz)
    start = threading.Barrier(len(uploads))
    outcomes = []

    def add(npz):
        start.wait()
        try:
            outcomes.append(DatasetStore(store.root).add_files([npz], "Shapes").sha256)
        except ValueError as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=add, args=(npz,)) for npz in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = DatasetStore(store.root).list()
    assert [info.name for info in stored] == ["Shapes"]
    assert outcomes.count(stored[0].sha256) == 1
    assert sum("already exists" in outcome for outcome in outcomes) == 3


def test_a_dataset_is_renamed_relabelled_and_deleted_unless_a_run_needs_it(shapes):
    datasets = DatasetStore(shapes.root)
    info = datasets.by_name("Shapes")
    datasets.rename(info.sha256, "Figures")
    assert datasets.names() == ["MNIST", "Figures"]
    with pytest.raises(ValueError, match="embedded dataset's name"):
        datasets.rename(info.sha256, "mnist")
    datasets.set_class_names(info.sha256, "a, b, c")
    assert datasets.info(info.sha256).class_names == ("a", "b", "c")
    with pytest.raises(ValueError, match="give 3 names"):
        datasets.set_class_names(info.sha256, "a, b")
    run = shapes.create(NumpyNetSettings(dataset="Figures").to_dict())
    with pytest.raises(ValueError, match="1 run\\(s\\) trained on 'Figures'"):
        datasets.delete(info.sha256, shapes)
    shutil.rmtree(run.path)
    datasets.delete(info.sha256, shapes)
    assert datasets.list() == [] and stored_files(shapes) == []


def test_adding_the_same_data_again_with_other_class_names_says_where_to_change_them(
    shapes, shapes_files
):
    with pytest.raises(ValueError, match="already holds these images, with the classes"):
        DatasetStore(shapes.root).add_files(shapes_files, "Shapes", "a, b, c")
    same = DatasetStore(shapes.root).add_files(shapes_files, "Shapes", ", ".join(CLASS_NAMES))
    assert same.class_names == CLASS_NAMES


def replace_file(paths, index, content):
    paths[index].write_bytes(gzip.compress(content))
    return paths


def malformed_bad_magic(paths, tmp_path):
    raw = bytearray(gzip.decompress(paths[0].read_bytes()))
    raw[3] = 0x01
    return replace_file(paths, 0, bytes(raw))


def malformed_truncated(paths, tmp_path):
    return replace_file(paths, 0, gzip.decompress(paths[0].read_bytes())[:-100])


def malformed_gzip_bomb(paths, tmp_path):
    # 50 MB of zeros after a header that announces 10 images: a 50 kB file.
    header = idx_bytes(np.zeros((10, 28, 28), np.uint8))[:16]
    bomb = gzip.compress(header + bytes(50 * 2**20), compresslevel=9)
    assert len(bomb) < 100_000
    paths[0].write_bytes(bomb)
    return paths


def malformed_counts(paths, tmp_path):
    return replace_file(paths, 1, idx_bytes(np.zeros(N_TRAIN - 1, np.uint8)))


def malformed_size(paths, tmp_path):
    return replace_file(paths, 0, idx_bytes(np.zeros((N_TRAIN, 32, 32), np.uint8)))


def malformed_not_gzip(paths, tmp_path):
    paths[0].write_bytes(b"not gzip at all" * 10)
    return paths


def malformed_npz_member(paths, tmp_path):
    npz = tmp_path / "sneaky.npz"
    np.savez(npz, **shapes_arrays())
    with zipfile.ZipFile(npz, "a") as archive:
        archive.writestr("payload.pkl", b"\x80\x04K\x01.")
    return [npz]


def malformed_npz_pickle(paths, tmp_path):
    npz = tmp_path / "objects.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(npz, "w") as archive:
        archive.writestr("x_train.npy", buffer.getvalue())
    return [npz]


@pytest.mark.parametrize(
    ("malform", "message"),
    [
        (malformed_bad_magic, "wrong IDX magic number"),
        (malformed_truncated, "truncated"),
        (malformed_gzip_bomb, "longer than its header says"),
        (malformed_counts, "must have shape"),
        (malformed_size, r"shape \(n, 28, 28\)"),
        (malformed_not_gzip, "not a valid gzip file"),
        (malformed_npz_member, "is not a .npy array"),
        (malformed_npz_pickle, "pickled data"),
    ],
    ids=lambda value: getattr(value, "__name__", "")[10:],
)
def test_malformed_uploads_get_a_clear_message_and_leave_nothing(
    store, shapes_files, tmp_path, malform, message
):
    paths = malform(shapes_files, tmp_path)
    with pytest.raises(ValueError, match=message):
        DatasetStore(store.root).add_files(paths, "Broken")
    assert DatasetStore(store.root).list() == []
    assert not (store.root / DATASETS_DIR).exists() or stored_files(store) == []


def test_a_gzip_bomb_past_the_cap_is_refused_from_its_header(store, shapes_files, monkeypatch):
    # The cap is checked before inflating: a header announcing more than it is refused at once.
    monkeypatch.setattr(data, "MAX_ARRAY_BYTES", 100_000)
    with pytest.raises(ValueError, match="more than the 0 MB"):
        DatasetStore(store.root).add_files(shapes_files, "Too big")


def test_files_that_are_not_four_idx_files_are_refused(store, shapes_files):
    with pytest.raises(ValueError, match="four IDX files"):
        DatasetStore(store.root).add_files(shapes_files[:3], "Three")
    renamed = shapes_files[0].rename(shapes_files[0].with_name("mystery.gz"))
    with pytest.raises(ValueError, match="cannot tell which"):
        DatasetStore(store.root).add_files([renamed, *shapes_files[1:]], "Mystery")


def test_parse_class_names_accepts_a_list():
    assert parse_class_names(["a", " b "]) == ("a", "b")
    assert parse_class_names(None) is None


def test_a_run_on_an_unknown_dataset_is_refused_before_it_exists(store):
    with pytest.raises(ValueError, match="no dataset named 'Shapes'"):
        store.create(NumpyNetSettings(dataset="Shapes").to_dict())
    assert store.list() == []


def test_mnist_runs_record_the_embedded_dataset(store):
    run = store.create(NumpyNetSettings().to_dict())
    assert run.config()["dataset"] == {"name": "MNIST", "sha256": EMBEDDED_SHA256}
    assert NumpyNetSettings.from_dict(run.config()).dataset == "MNIST"


@pytest.mark.parametrize(
    ("settings", "outputs"),
    [
        (NumpyNetSettings(dataset="Shapes", epochs=1, hidden_units=16), lambda run: "W2"),
        (LogregSettings(dataset="Shapes", max_iter=50), lambda run: "coef"),
    ],
    ids=["numpy", "baseline"],
)
def test_numpy_and_baseline_train_on_the_dataset_with_three_outputs(shapes, settings, outputs):
    run = shapes.create(settings.to_dict())
    engine = get_engine(run.config()["engine"])
    assert engine.train(run).state == "finished"
    info = DatasetStore(shapes.root).by_name("Shapes")
    assert run.config()["dataset"] == {"name": "Shapes", "sha256": info.sha256}
    assert dataset_of(run).class_names == CLASS_NAMES
    evaluation = run.evaluation()
    assert evaluation["class_names"] == list(CLASS_NAMES)
    assert np.array(evaluation["confusion_matrix"]).shape == (3, 3)
    assert engine.predict_proba(run, shapes_arrays()["x_test"][:5]).shape == (5, 3)


def test_keras_trains_one_epoch_on_the_dataset_with_three_outputs(shapes):
    from mnist_lab.engines.keras_net.settings import KerasSettings

    settings = KerasSettings(dataset="Shapes", preset="mlp-relu", epochs=1, batch_size=32)
    run = shapes.create(settings.to_dict())
    engine = get_engine("keras")
    assert engine.train(run).state == "finished"
    model = engine.load_model(run)
    assert model.output_shape == (None, 3)
    assert run.config()["dataset"]["name"] == "Shapes"
    assert run.evaluation()["class_names"] == list(CLASS_NAMES)
    assert engine.predict_proba(run, shapes_arrays()["x_test"][:4], model).shape == (4, 3)


def test_a_run_whose_dataset_is_gone_reads_as_damaged(shapes):
    import shutil

    run = shapes.create(NumpyNetSettings(dataset="Shapes").to_dict())
    shutil.rmtree(shapes.root / DATASETS_DIR)
    status = run.status()
    assert status["state"] == DAMAGED
    assert "dataset 'Shapes'" in status["message"] and "no longer stored" in status["message"]
    with pytest.raises(ValueError, match="no longer stored"):
        dataset_of(run)


def test_the_cli_adds_lists_and_trains_on_a_dataset(store, shapes_files, capsys):
    from mnist_lab.cli.main import build_parser, main
    from mnist_lab.cli.train import launch_request

    files = [str(path) for path in shapes_files]
    assert (
        main(["dataset", "add", *files, "--name", "Shapes", "--classes", "square,cross,circle"])
        == 0
    )
    assert "Stored 'Shapes': 300 training and 60 test images, 3 classes" in capsys.readouterr().out
    assert main(["dataset", "list"]) == 0
    listing = capsys.readouterr().out
    assert "MNIST" in listing and "square, cross, circle" in listing
    assert main(["dataset", "add", files[0], "--name", "One file"]) == 2
    assert "four IDX files" in capsys.readouterr().err
    request = launch_request(build_parser().parse_args(["train", "--dataset", "Shapes"]))
    assert request.settings.dataset == "Shapes"
    assert main(["train", "--engine", "numpy", "--dataset", "Elsewhere"]) == 2
    assert "no dataset named 'Elsewhere'" in capsys.readouterr().err
    assert store.list() == []


def test_a_run_on_another_machine_takes_its_dataset_along(shapes, monkeypatch, tmp_path):
    import json

    from mnist_lab.datasets import dataset_files
    from mnist_lab.execution import ray_cluster

    run = shapes.create(LogregSettings(dataset="Shapes", max_iter=20).to_dict())
    files = dataset_files(run)
    sha256 = run.config()["dataset"]["sha256"]
    assert sorted(files) == [f".datasets/{sha256}/data.npz", f".datasets/{sha256}/dataset.json"]
    # The Ray task's body, on a node without this runs directory (no cluster needed for it).
    monkeypatch.setattr(ray_cluster, "_this_node", lambda: ("f00d", "elsewhere"))
    monkeypatch.setattr(ray_cluster.StopQuestion, "asked", lambda self: False)
    *_, last = ray_cluster.train_on_node(run.config(), run.id, None, files)
    evaluation = json.loads(last["files"]["evaluation.json"])
    assert evaluation["class_names"] == list(CLASS_NAMES)
    assert dataset_files(shapes.create(NumpyNetSettings().to_dict())) == {}


def test_a_slow_map_of_a_stored_dataset_is_computed(shapes):
    import time

    from mnist_lab.map_cache import (
        MapRequest,
        load_map,
        map_failure,
        map_job_running,
        start_map_job,
    )

    sha256 = DatasetStore(shapes.root).by_name("Shapes").sha256
    request = MapRequest(sha256, "train", "tsne", 100)
    start_map_job(request, shapes.root)
    path = request.path(shapes.root)
    deadline = time.monotonic() + 120
    while map_job_running(path) and time.monotonic() < deadline:
        time.sleep(0.2)
    points = load_map(path)
    assert points is not None, map_failure(path)
    assert sorted(set(points["digit"])) == [0, 1, 2]
