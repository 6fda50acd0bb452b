"""Home: what MNIST Lab is, the dataset at a glance, and where to go next."""

import pandas as pd
import streamlit as st

from dashboard.ui.app.dataset_cache import cached_class_counts, get_dataset
from dashboard.ui.app.pages import HOME, PAGES, page_link, session_pages
from dashboard.ui.assignments.student_view import assignment_cards, shown_assignments
from dashboard.ui.data.shared_figures import dataset_distribution_figure
from dashboard.ui.runs.runs_view import TABLE_COLUMNS, run_row, show_runs_table
from mnist_lab.runs import RunStore

RECENT_RUNS = 5

dataset = get_dataset()

st.title("MNIST Lab")
st.markdown(
    "A hands-on lab for learning how neural networks read handwritten digits. "
    "Look at the data, train a small network, find out where it goes wrong, "
    "then draw your own digits and see what it thinks. No code needed."
)
store = RunStore()
if assigned := shown_assignments(store):
    st.subheader("Assignments")
    if assignment_cards(assigned, "home_assignment_start"):
        st.switch_page(session_pages()["train"])

with st.container(border=True):
    st.subheader(f"The dataset: {dataset.name}")
    height, width = dataset.image_shape
    figures = st.columns(4)
    figures[0].metric("Training images", f"{dataset.n_train:,}")
    figures[1].metric("Test images", f"{dataset.n_test:,}")
    figures[2].metric("Image size", f"{height} x {width} px")
    figures[3].metric("Classes", f"{dataset.n_classes} digits")
    st.caption(
        "Grey levels 0 (paper) to 255 (ink). Share of each digit per split: "
        "close to balanced, with more 1s than 5s."
    )
    counts = cached_class_counts(dataset, dataset.sha256)
    st.plotly_chart(dataset_distribution_figure(dataset, counts, "share", height=220))
    st.caption(f"Source: {dataset.source}. SHA-256 {dataset.sha256[:12]}...")

st.subheader("Where to go next")
columns = st.columns(4)
# Every other page, in the order of a first visit.
for position, page in enumerate(page for page in PAGES if page.name != HOME):
    with columns[position % 4]:
        page_link(page.name)
        st.caption(page.description)

st.subheader("Recent runs")
recent = store.list()[:RECENT_RUNS]
if recent:
    show_runs_table(
        pd.DataFrame([run_row(run) for run in recent], columns=[*TABLE_COLUMNS, "scored_on"]),
        "home_runs",
    )
    page_link("compare", "All runs on Compare")
else:
    st.caption("No runs yet: the Train page launches your first one, or try a Lesson.")
