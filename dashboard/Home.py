"""MNIST Lab: the frame around every page (page config, navigation, shared sidebar)."""

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
# `streamlit run dashboard/Home.py` puts only dashboard/ on sys.path; the pages need the repo root.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGES = ROOT / "pages"

st.set_page_config(page_title="MNIST Lab", page_icon=":material/draw:", layout="wide")

navigation = st.navigation(
    {
        "Start": [
            st.Page(PAGES / "home.py", title="Home", icon=":material/home:", default=True),
            st.Page(PAGES / "explore.py", title="Explore data", icon=":material/query_stats:"),
        ],
        "Models": [
            st.Page(PAGES / "train.py", title="Train", icon=":material/model_training:"),
            st.Page(PAGES / "evaluate.py", title="Evaluate", icon=":material/fact_check:"),
            st.Page(PAGES / "compare.py", title="Compare runs", icon=":material/compare:"),
            st.Page(PAGES / "inside.py", title="Inside the network", icon=":material/hub:"),
        ],
        "Learn": [
            st.Page(PAGES / "playground.py", title="Playground", icon=":material/draw:"),
            st.Page(PAGES / "lessons.py", title="Lessons", icon=":material/school:"),
        ],
    }
)

with st.sidebar:
    st.caption("MNIST Lab · learn how neural networks see handwritten digits")

navigation.run()
