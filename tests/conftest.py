"""Fixtures shared by the test modules."""

import pytest

from mnist_lab.data import MnistDataset, load_mnist


@pytest.fixture(scope="session")
def mnist() -> MnistDataset:
    """The embedded MNIST, loaded (and checksummed) once per test session."""
    return load_mnist()
