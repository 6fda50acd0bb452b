"""MNIST Lab: the library behind the dashboard and the CLI (no Streamlit in here).

From a notebook: ``LabCallback`` shows any Keras ``fit`` in the lab (`mnist_lab.callback`),
``load_run`` brings any run of the lab back (`mnist_lab.notebook`). Both are imported on
first use, so ``import mnist_lab`` stays cheap and loads no Keras.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["LabCallback", "load_run"]

# Public name -> the module that defines it, imported on first access (PEP 562).
_LAZY = {"LabCallback": "mnist_lab.callback", "load_run": "mnist_lab.notebook"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mnist_lab' has no attribute {name!r}")
