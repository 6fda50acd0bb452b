"""The MNIST table on its page: the rows as text, and the buttons that queue them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.ui.app.identity import NAME_FIRST, current_owner, name_missing
from dashboard.ui.app.launch_again import ask_to_launch_again, launch_again_answer
from dashboard.ui.app.text import plain_markdown
from mnist_lab import mnist_table
from mnist_lab.launch import RepeatedLaunchError
from mnist_lab.runs import RunStore

# Where a queue button leaves what it did, shown once on the next rerun.
FLASH_KEY = "table_flash"
# A repeated launch's question and the launch it asks about; then the answer to it.
QUESTION_KEY, AGAIN_KEY = "table_question", "table_launch_again"


def table_frame(entries: list[mnist_table.TableEntry]) -> pd.DataFrame:
    """The table as text cells (`mnist_table.entry_cells`): run names stay plain text."""
    frame = pd.DataFrame([mnist_table.entry_cells(entry) for entry in entries])
    return frame.rename(columns=str.capitalize)


def scored_on_caption(entries: list[mnist_table.TableEntry]) -> None:
    """Say which test digits the lab's errors count while an assignment hides some.

    Plain text: it names the assignments, whose titles are the teacher's.
    """
    for text in dict.fromkeys(e.best.scored_on for e in entries if e.best and e.best.scored_on):
        st.caption(plain_markdown(text))


def show_flash() -> None:
    """What the last queue button did (run names escaped: they are shown as typed).

    A launch identical to one seconds ago is asked about, with a "Launch it again" button.
    """
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash is not None:
        kind, text = flash
        (st.success if kind == "success" else st.error)(plain_markdown(text))
    if QUESTION_KEY in st.session_state:
        question, launch_rows = st.session_state.pop(QUESTION_KEY)
        ask_to_launch_again(question, AGAIN_KEY, launch_rows)


def queue_controls(
    store: RunStore, entries: list[mnist_table.TableEntry], subset: int | None
) -> None:
    """One button per reproducible row, and one for every row without a run yet."""
    if name_missing():
        st.caption(NAME_FIRST)
    if (launch_rows := launch_again_answer(AGAIN_KEY)) is not None:
        _queue(launch_rows, force=True)
    missing = [e for e in entries if e.config is not None and e.best is None and e.live is None]
    if st.button(
        f"Queue every row without a run ({len(missing)})",
        icon=":material/playlist_add:",
        type="primary",
        disabled=not missing or name_missing(),
        key="table_queue_all",
    ):
        _queue(
            lambda force: mnist_table.queue_missing(
                store, subset, owner=current_owner(), force=force
            )
        )
    for entry in entries:
        if entry.config is None:
            continue
        method, button = st.columns([4, 1], vertical_alignment="center")
        method.text(entry.row.title)
        if button.button(
            "Train again" if entry.best is not None else "Queue",
            icon=":material/play_arrow:",
            disabled=entry.live is not None or name_missing(),
            help="A run of this row is queued or training." if entry.live else None,
            key=f"table_queue_{entry.row.key}",
        ):
            _queue(
                lambda force, entry=entry: [
                    mnist_table.queue_row(
                        store, entry.row, subset, owner=current_owner(), force=force
                    )
                ]
            )


def _queue(launch_rows, force: bool = False) -> None:
    """Queue through ``launch_rows(force)``, remember what happened, rerun to show it.

    A launch identical to one seconds ago is kept with its question for the next rerun.
    """
    try:
        launched = launch_rows(force)
    except RepeatedLaunchError as question:
        st.session_state[QUESTION_KEY] = (question, launch_rows)
    except ValueError as error:
        st.session_state[FLASH_KEY] = ("error", f"Cannot queue: {error}")
    else:
        queued = [item.run.name for item in launched if not item.reused]
        reused = [item.run.name for item in launched if item.reused]
        text = f"Queued {len(queued)} run(s): {', '.join(queued)}." if queued else ""
        if reused:
            text += f" Already finished with the same settings: {', '.join(reused)}."
        st.session_state[FLASH_KEY] = ("success", text.strip())
    st.rerun()
