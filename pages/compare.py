"""Compare runs: every run in one table, learning curves side by side, a network vs the baseline."""

import numpy as np
import streamlit as st

from dashboard.ui.cache import get_dataset
from dashboard.ui.figures.curves import learning_curves_figure
from dashboard.ui.figures.evaluation import difference_figure, per_digit_accuracy_figure
from dashboard.ui.figures.images import digit_grid_figure
from dashboard.ui.pages import PAGE
from dashboard.ui.runs_view import load_evaluated, run_label, runs_table, show_runs_table
from mnist_lab import evaluation as ev
from mnist_lab.runs import RunStore

GALLERY_SIZE = 20

st.title(PAGE["compare"].title)
if flash := st.session_state.pop("compare_flash", None):
    st.success(flash)
store = RunStore()
table = runs_table(store)
if table.empty:
    st.info(
        "No runs yet. Train a network on the Train page, or a baseline with "
        "`python -m mnist_lab baseline`."
    )
    st.stop()
rows = {row["id"]: row for row in table.to_dict("records")}
labels = {run_id: run_label(row) for run_id, row in rows.items()}
show_runs_table(table, key="compare_table")
for row in rows.values():
    if row["state"] == "damaged":
        st.warning(f"`{row['id']}`: {row['message']}")

st.subheader("Learning curves")
with_curves = [run_id for run_id in rows if rows[run_id]["state"] != "damaged"]
chosen = st.multiselect(
    "Runs to overlay",
    with_curves,
    default=with_curves[:2],
    format_func=labels.__getitem__,
    key="compare_curves",
)
if chosen:
    curves = {rows[run_id]["name"]: store.get(run_id).metrics() for run_id in chosen}
    st.plotly_chart(learning_curves_figure(curves), key="compare_curves_chart")

st.subheader("A network against the baseline")
evaluated = [run_id for run_id, row in rows.items() if row["test_accuracy"] == row["test_accuracy"]]
networks = [r for r in evaluated if not rows[r]["baseline"]]
baselines = [r for r in evaluated if rows[r]["baseline"]]
if not networks or not baselines:
    st.info(
        "This needs one evaluated network and one evaluated baseline "
        "(`python -m mnist_lab baseline`)."
    )
else:
    left, right = st.columns(2)
    network_id = left.selectbox(
        "Network", networks, format_func=labels.__getitem__, key="compare_network"
    )
    baseline_id = right.selectbox(
        "Baseline", baselines, format_func=labels.__getitem__, key="compare_baseline"
    )
    network, baseline = (
        load_evaluated(store.get(network_id)),
        load_evaluated(store.get(baseline_id)),
    )
    if isinstance(network, str) or isinstance(baseline, str):
        st.warning(network if isinstance(network, str) else baseline)
    elif not np.array_equal(network.y_true, baseline.y_true):
        st.warning("These two runs were tested on different test sets, so they cannot be compared.")
    else:
        names = {
            f"network: {rows[network_id]['name']}": network,
            f"baseline: {rows[baseline_id]['name']}": baseline,
        }
        st.plotly_chart(per_digit_accuracy_figure(names), key="compare_per_digit")
        st.caption(
            "Network minus baseline, per confusion cell: blue on the diagonal and red "
            "off it is where the network does better."
        )
        st.plotly_chart(
            difference_figure(ev.confusion_difference(network.matrix, baseline.matrix)),
            key="compare_difference",
        )
        only_network, only_baseline = ev.disagreements(
            network.y_true, network.y_pred, baseline.y_pred
        )
        x_test = get_dataset().x_test
        for column, title, indices, preds in zip(
            st.columns(2),
            ("Only the network gets right", "Only the baseline gets right"),
            (only_network, only_baseline),
            (baseline.y_pred, network.y_pred),
            strict=True,
        ):
            column.markdown(f"**{title}** ({len(indices)} images; titles: true → other's guess)")
            shown = indices[:GALLERY_SIZE]
            if len(shown):
                titles = [f"{network.y_true[i]}→{preds[i]}" for i in shown]
                column.plotly_chart(
                    digit_grid_figure(x_test[shown], titles, n_cols=5),
                    key=f"compare_gallery_{title}",
                )

st.subheader("Rename or delete a run")
manage_id = st.selectbox("Run", list(rows), format_func=labels.__getitem__, key="compare_manage")
left, right = st.columns(2)
new_name = left.text_input("New name", max_chars=80, key="compare_new_name")
if left.button("Rename", key="compare_rename"):
    try:
        store.rename(manage_id, new_name)
    except ValueError as error:
        left.error(str(error))
    else:
        st.session_state["compare_flash"] = f"Renamed `{manage_id}`."
        st.rerun()
confirm = right.checkbox("Yes, delete this run and all its files", key="compare_confirm_delete")
if right.button("Delete", disabled=not confirm, key="compare_delete"):
    try:
        store.delete(manage_id)
    except ValueError as error:
        right.error(str(error))
    else:
        st.session_state["compare_flash"] = f"Deleted `{manage_id}`."
        st.rerun()
