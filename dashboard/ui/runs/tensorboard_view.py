"""The command that opens a run in TensorBoard, for the Train and Evaluate pages."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import streamlit as st

from mnist_lab.runs import TENSORBOARD_DIR, Run

TENSORBOARD_URL = "http://localhost:6006"


def _shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies inside it, as typed in a shell."""
    path = path.resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def tensorboard_command(run: Run) -> str | None:
    """The shell command that shows ``run`` in TensorBoard, or None if it wrote no event files.

    The ``tensorboard`` beside the running Python is named (``.venv/bin/tensorboard`` after
    the README's set-up), so the command works without activating the environment.
    """
    log_dir = run.file(TENSORBOARD_DIR)
    if not log_dir.is_dir():
        return None
    program = Path(sys.executable).with_name("tensorboard")
    executable = _shown_path(program) if program.exists() else "tensorboard"
    return f"{shlex.quote(executable)} --logdir {shlex.quote(_shown_path(log_dir))}"


def render_tensorboard_command(run: Run) -> None:
    """Show the TensorBoard command of ``run`` (nothing for runs without event files)."""
    command = tensorboard_command(run)
    if command is None:
        return
    st.caption(
        "Open this run in TensorBoard (loss, accuracy, validation and learning rate per epoch, "
        f"and a histogram of every weight), then visit {TENSORBOARD_URL}. Point `--logdir` at "
        "the runs directory instead to see every run side by side."
    )
    st.code(command, language="bash", wrap_lines=True)
