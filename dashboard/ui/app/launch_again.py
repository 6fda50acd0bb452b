"""The question an identical launch seconds after another raises, and its "Launch it again".

`mnist_lab.launch.launch` refuses the same run (settings, name, owner) within
`REPEAT_SECONDS` with a `RepeatedLaunchError` whose text is the question. A page shows it with
`ask_to_launch_again`; the button leaves an answer in session state, and the next rerun reads
it with `launch_again_answer` and launches with ``force=True``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.ui.app.text import plain_markdown
from mnist_lab.launch import RepeatedLaunchError

AGAIN_LABEL = "Launch it again"


def ask_to_launch_again(question: RepeatedLaunchError, key: str, answer: Any = True) -> None:
    """Show ``question`` with a button that leaves ``answer`` under ``key`` for the next rerun.

    Parameters
    ----------
    question : RepeatedLaunchError
    key : str
        Session-state key (prefixed by page) of the answer; the button's key derives from it.
    answer : object, default True
        What the rerun after the click gets from `launch_again_answer` (e.g. what to launch).
    """
    st.warning(plain_markdown(question), icon=":material/help:")
    st.button(
        AGAIN_LABEL,
        key=f"{key}_button",
        on_click=lambda: st.session_state.update({key: answer}),
    )


def launch_again_answer(key: str) -> Any:
    """The answer the "Launch it again" button left under ``key`` (once), else None."""
    return st.session_state.pop(key, None)
