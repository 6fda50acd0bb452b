"""Sweeps: define many runs in one form, launch them, watch them, and read them in one chart."""

import streamlit as st

from dashboard.ui.app.pages import PAGE
from dashboard.ui.sweeps.sweeps_view import show_sweep, sweep_form, sweep_label
from mnist_lab.engines import DEFAULT_ENGINE, ENGINES, get_engine
from mnist_lab.runs import RunStore
from mnist_lab.sweeps.store import SweepStore

st.title(PAGE["sweeps"].title)
st.caption(
    "Which learning rate? Does batch size matter? A sweep trains one run per combination of "
    "the settings you vary; every trial is an ordinary run the other pages can open."
)
store = RunStore()
st.caption("Runs trained outside the lab (LabCallback, an imported model) cannot be swept.")
st.session_state.setdefault("sweeps_shown", None)

with st.expander("New sweep", expanded=not SweepStore(store).list()):
    engine = get_engine(
        st.selectbox(
            "Engine",
            list(ENGINES),
            index=list(ENGINES).index(DEFAULT_ENGINE),
            format_func=lambda name: get_engine(name).title,
            key="sweeps_engine",
        )
    )
    launched = sweep_form(engine, store)
    if launched is not None:
        st.session_state["sweeps_shown"] = launched.id
        st.success(f"Launched {launched.definition().trial_count()} trials.")

sweeps = {sweep.id: sweep for sweep in SweepStore(store).list()}
if not sweeps:
    st.info("No sweep yet: define one above.")
    st.stop()
if st.session_state["sweeps_shown"] in sweeps:
    st.session_state["sweeps_pick"] = st.session_state.pop("sweeps_shown")
chosen = st.selectbox(
    "Sweep",
    list(sweeps),
    format_func=lambda sweep_id: sweep_label(sweeps[sweep_id]),
    key="sweeps_pick",
)
show_sweep(sweeps[chosen])
