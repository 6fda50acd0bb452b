"""A run's exported script run as a student would: offline, in a folder without mnist_lab."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mnist_lab.data import EMBEDDED_PATH
from mnist_lab.engines.code import ACCURACY_PREFIX
from mnist_lab.export import export_run
from mnist_lab.runs import Run

ACCURACY = re.compile(re.escape(ACCURACY_PREFIX) + r"(\d\.\d{4})")


@dataclass(frozen=True)
class ScriptResult:
    """What the exported script printed: its last test accuracy and all of its output."""

    path: Path
    accuracy: float
    stdout: str


def run_exported_script(run: Run, folder: Path, timeout_s: float = 600) -> ScriptResult:
    """Export ``run`` as a script into ``folder``, run it there with MNIST from `MNIST_NPZ`.

    No ``PYTHONPATH`` and a foreign working directory: the script cannot import mnist_lab.
    """
    path = folder / f"{run.id}.py"
    path.write_text(export_run(run, "script"))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["MNIST_NPZ"] = str(EMBEDDED_PATH)
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = ACCURACY.findall(result.stdout)
    assert found, result.stdout[-3000:]
    return ScriptResult(path, float(found[-1]), result.stdout)
