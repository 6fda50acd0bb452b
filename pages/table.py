"""The MNIST table: classic methods' published errors beside the lab's own runs of them."""

import streamlit as st

from dashboard.ui.app.pages import PAGE
from dashboard.ui.table.figures import error_time_figure
from dashboard.ui.table.table_view import (
    queue_controls,
    scored_on_caption,
    show_flash,
    table_frame,
)
from mnist_lab.mnist_table import table
from mnist_lab.runs import RunStore

# Training digits the page can read the table for: the papers' 60,000, or a quick try.
SUBSETS = {None: "all 60,000 (as published)", 10_000: "10,000", 1_000: "1,000 (a quick try)"}
REFRESH_SECONDS = 5

st.title(PAGE["table"].title)
st.caption(
    "Do we even need a neural network? The MNIST page's published test errors, and beside "
    "them the lab's runs of each method: a row fills when a run of its recipe finishes "
    "(the best one if several did, with its name). Training time runs from the first step to "
    "the end of training (starting the worker, loading data and the final evaluation "
    "excluded); prediction time is per 1,000 test digits."
)
store = RunStore()
subset = st.selectbox("Training digits", list(SUBSETS), format_func=SUBSETS.get, key="table_subset")
show_flash()
live = any(entry.live for entry in table(store, subset))


@st.fragment(run_every=REFRESH_SECONDS if live else None)
def body() -> None:
    entries = table(store, subset)
    st.dataframe(table_frame(entries), hide_index=True, key="table_rows")
    scored_on_caption(entries)
    if any(entry.best for entry in entries):
        st.plotly_chart(error_time_figure(entries), key="table_chart")
    else:
        st.info("No row has a finished run yet: queue one below, or every row at once.")
    with st.expander("How the lab's recipes differ from the papers"):
        for entry in entries:
            st.markdown(f"**{entry.row.title}.** {entry.row.note}")
    queue_controls(store, entries, subset)
    if live and not any(entry.live for entry in entries):
        # The last run just ended: rerun the page once so the refresh stops.
        st.rerun()


body()
