"""Fixtures shared by the test modules."""

import pytest

from mnist_lab.data import MnistDataset, load_mnist


@pytest.fixture(scope="session")
def mnist() -> MnistDataset:
    """The embedded MNIST, loaded (and checksummed) once per test session."""
    return load_mnist()


@pytest.fixture(autouse=True)
def isolated_runs_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own empty runs directory, never the repository's ``runs/``."""
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
