"""MNIST Lab: the frame around every page (page config, navigation, shared sidebar)."""

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
# `streamlit run dashboard/Home.py` puts only dashboard/ on sys.path; the pages need the repo root.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard.ui.app.identity import identity_sidebar  # noqa: E402
from dashboard.ui.app.pages import navigation_sections  # noqa: E402
from dashboard.ui.app.runtime import keep_keras_state  # noqa: E402
from dashboard.ui.app.state import remember_page  # noqa: E402
from dashboard.ui.app.warm_up import warm_up  # noqa: E402

st.set_page_config(page_title="MNIST Lab", page_icon=":material/draw:", layout="wide")
warm_up()
keep_keras_state()

navigation = st.navigation(navigation_sections())

with st.sidebar:
    st.caption("MNIST Lab · learn how neural networks see handwritten digits")
identity_sidebar()

remember_page(navigation.url_path)
navigation.run()
