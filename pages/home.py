"""Home: what MNIST Lab is, the dataset at a glance, and where to go next."""

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.ui.cache import get_dataset
from dashboard.ui.figures import class_distribution_figure
from dashboard.ui.runs_view import TABLE_COLUMNS, run_row, show_runs_table
from mnist_lab import stats
from mnist_lab.data import MnistDataset
from mnist_lab.runs import RunStore

PAGES = Path(__file__).resolve().parent
RECENT_RUNS = 5
# (script, label, icon, what a newcomer finds there), in the order of a first visit.
DESTINATIONS = (
    ("explore.py", "Explore data", ":material/query_stats:", "Look at the digits as numbers."),
    ("train.py", "Train", ":material/model_training:", "Build a network and watch it learn."),
    ("evaluate.py", "Evaluate", ":material/fact_check:", "See which digits it gets wrong."),
    ("compare.py", "Compare runs", ":material/compare:", "Put your experiments side by side."),
    ("inside.py", "Inside the network", ":material/hub:", "Weights, filters and activations."),
    ("playground.py", "Playground", ":material/draw:", "Draw a digit and ask a model."),
    ("lessons.py", "Lessons", ":material/school:", "Guided steps for class or self-study."),
)


@st.cache_data(show_spinner=False)
def cached_class_counts(_dataset: MnistDataset, sha256: str) -> pd.DataFrame:
    # The leading underscore keeps st.cache_data from hashing the images; sha256 keys the cache.
    return stats.class_counts({"train": _dataset.y_train, "test": _dataset.y_test})


dataset = get_dataset()

st.title("MNIST Lab")
st.markdown(
    "A hands-on lab for learning how neural networks read handwritten digits. "
    "Look at the data, train a small network, find out where it goes wrong, "
    "then draw your own digits and see what it thinks. No code needed."
)

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
    st.plotly_chart(class_distribution_figure(counts, "share", dataset.class_names, height=220))
    st.caption(f"Source: {dataset.source}. SHA-256 {dataset.sha256[:12]}...")

st.subheader("Where to go next")
columns = st.columns(4)
for position, (script, label, icon, description) in enumerate(DESTINATIONS):
    with columns[position % 4]:
        st.page_link(PAGES / script, label=label, icon=icon)
        st.caption(description)

st.subheader("Recent runs")
recent = RunStore().list()[:RECENT_RUNS]
if recent:
    show_runs_table(
        pd.DataFrame([run_row(run) for run in recent], columns=list(TABLE_COLUMNS)), "home_runs"
    )
    st.page_link(PAGES / "compare.py", label="All runs on Compare", icon=":material/compare:")
else:
    st.caption("No runs yet: the Train page launches your first one, or try a Lesson.")
