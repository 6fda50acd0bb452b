"""The library's docstring examples run as tests, so the documentation stays true."""

import doctest
import importlib
import pkgutil

import pytest

import mnist_lab

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(mnist_lab.__path__, prefix="mnist_lab.")
)


def test_every_library_module_is_found():
    assert "mnist_lab.records" in MODULES and "mnist_lab.engines.keras_net.callbacks" in MODULES


@pytest.mark.parametrize("name", [name for name in MODULES if name != "mnist_lab.__main__"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
