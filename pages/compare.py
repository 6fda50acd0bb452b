"""Compare runs: every run in one table, learning curves side by side, a network vs the baseline."""

import numpy as np
import streamlit as st

from dashboard.ui.app.dataset_cache import run_dataset
from dashboard.ui.app.digit_galleries import digit_gallery
from dashboard.ui.app.figures.style import class_labels
from dashboard.ui.app.identity import check_may_manage
from dashboard.ui.app.pages import PAGE
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.data.datasets_view import warn_if_different_datasets
from dashboard.ui.evaluate.figures.evaluation import difference_figure, per_digit_accuracy_figure
from dashboard.ui.evaluate.label_issues_view import show_label_issues
from dashboard.ui.evaluate.model_checks_view import compare_checks
from dashboard.ui.runs.baseline_view import baseline_offer
from dashboard.ui.runs.runs_view import (
    load_evaluated,
    run_labels,
    runs_page,
    runs_table,
    show_runs_table,
)
from dashboard.ui.train.shared_figures import shared_learning_curves_figure
from dashboard.ui.train.train_forms import copy_settings_button
from mnist_lab import evaluation as ev
from mnist_lab.assignments.grading import freeze_due
from mnist_lab.assignments.store import AssignmentStore
from mnist_lab.files import DamagedRunError
from mnist_lab.runs import MAX_NAME_LENGTH, RunStore

GALLERY_SIZE = 20
# Widgets whose options are labelled with run names: a rename must relabel their choices.
RUN_PICKERS = ("compare_curves", "compare_network", "compare_baseline", "compare_manage")


def relabel_run_pickers() -> None:
    """Give each run picker its current choice again, so it is shown with the new labels."""
    for key in RUN_PICKERS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def rename_chosen_run(store: RunStore) -> None:
    """The Rename button: rename the chosen run, or keep the reason it was refused."""
    run_id, new_name = st.session_state["compare_manage"], st.session_state["compare_new_name"]
    try:
        old_name = store.get(run_id).name
        check_may_manage(store.get(run_id), "rename")
        # Grades due before the rename are frozen first: they keep the name graded.
        freeze_due(AssignmentStore(store))
        store.rename(run_id, new_name)
    except (KeyError, ValueError, PermissionError) as error:
        st.session_state["compare_rename_error"] = str(error)
        return
    # Plain names: the flash is escaped as a whole where it is shown (escaping twice shows "\\").
    st.session_state["compare_flash"] = f"Renamed “{old_name}” to “{store.get(run_id).name}”."
    relabel_run_pickers()


def delete_chosen_run(store: RunStore) -> None:
    """The Delete button: delete the chosen run, or keep the reason it was refused."""
    run_id = st.session_state["compare_manage"]
    try:
        name = store.get(run_id).name
        check_may_manage(store.get(run_id), "delete")
        # Grades due before the deletion are frozen first: the run stays in them.
        freeze_due(AssignmentStore(store))
        store.delete(run_id)
    except (KeyError, ValueError, PermissionError) as error:
        st.session_state["compare_delete_error"] = str(error)
        return
    st.session_state["compare_flash"] = f"Deleted “{name}”."
    del st.session_state["compare_manage"]
    if run_id in st.session_state.get("compare_curves", []):
        st.session_state["compare_curves"] = [
            chosen for chosen in st.session_state["compare_curves"] if chosen != run_id
        ]


st.title(PAGE["compare"].title)
if flash := st.session_state.pop("compare_flash", None):
    st.success(plain_markdown(flash))
store = RunStore()
table = runs_table(store)
if table.empty:
    st.info("No runs yet. Train a network on the Train page, or the baseline here.")
    baseline_offer(store, "compare_baseline")
    st.stop()
rows = {row["id"]: row for row in table.to_dict("records")}
labels = run_labels(list(rows.values()))
shown = runs_page(table, key="compare_table")
show_runs_table(shown, key="compare_table")
for row in shown.to_dict("records"):
    if row["state"] == "damaged":
        st.warning(f"`{row['id']}`: {plain_markdown(row['message'])}")

st.subheader("Learning curves")
with_curves = [run_id for run_id in rows if rows[run_id]["state"] != "damaged"]
# The first choice through Session State, not a default: the rename and delete buttons
# set it there too, and a widget given both makes Streamlit warn.
kept = st.session_state.get("compare_curves", with_curves[:2])
st.session_state["compare_curves"] = [run_id for run_id in kept if run_id in with_curves]
chosen = st.multiselect(
    "Runs to overlay",
    with_curves,
    format_func=labels.__getitem__,
    key="compare_curves",
)
if chosen:
    warn_if_different_datasets([store.get(run_id) for run_id in chosen])
    names = [rows[run_id]["name"] for run_id in chosen]
    curves = {
        # Two runs of one name stay two curves, told apart by their ids.
        (name if names.count(name) == 1 else f"{name} ({run_id})"): store.get(run_id)
        for run_id, name in zip(chosen, names, strict=True)
    }
    st.plotly_chart(shared_learning_curves_figure(curves), key="compare_curves_chart")

st.subheader("A network against the baseline")
evaluated = [run_id for run_id, row in rows.items() if row["test_accuracy"] == row["test_accuracy"]]
networks = [r for r in evaluated if not rows[r]["baseline"]]
baselines = [r for r in evaluated if rows[r]["baseline"]]
if not networks or not baselines:
    st.info("This needs one evaluated network and one evaluated baseline.")
    if not baselines:
        baseline_offer(store, "compare_baseline")
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
        st.warning(plain_markdown(network if isinstance(network, str) else baseline))
    elif warn_if_different_datasets([store.get(network_id), store.get(baseline_id)]):
        pass
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
        try:
            dataset = run_dataset(store.get(network_id))
        except DamagedRunError as error:
            st.warning(f"Its test images cannot be shown: {plain_markdown(error)}.")
            dataset = None
        for column, title, indices, preds in zip(
            st.columns(2),
            ("Only the network gets right", "Only the baseline gets right"),
            (only_network, only_baseline),
            (baseline.y_pred, network.y_pred),
            strict=True,
        ):
            column.markdown(f"**{title}** ({len(indices)} images; titles: true → other's guess)")
            shown = indices[:GALLERY_SIZE]
            if len(shown) and dataset is not None:
                shown_names = class_labels(dataset.class_names)
                titles = [
                    f"{shown_names[network.y_true[i]]}→{shown_names[preds[i]]}" for i in shown
                ]
                column.plotly_chart(
                    digit_gallery(dataset, "test", network.indices[shown], titles, n_cols=5),
                    key=f"compare_gallery_{title}",
                )

evaluated_runs = {labels[run_id]: store.get(run_id) for run_id in evaluated}
st.subheader("Calibration and robustness")
compare_checks(evaluated_runs, key="compare_checks")
st.subheader("Suspicious labels")
show_label_issues(store, evaluated_runs, key="compare_labels")

st.subheader("Rename or delete a run")
managed = st.selectbox("Run", list(rows), format_func=labels.__getitem__, key="compare_manage")
copy_settings_button(store.get(managed), "compare_copy_settings", open_train=True)
left, right = st.columns(2)
# No max_chars: the browser would drop a longer paste silently; the rename says what is wrong.
left.text_input(f"New name (1-{MAX_NAME_LENGTH} characters)", key="compare_new_name")
left.button("Rename", key="compare_rename", on_click=rename_chosen_run, args=(store,))
if error := st.session_state.pop("compare_rename_error", None):
    left.error(error)
confirm = right.checkbox("Yes, delete this run and all its files", key="compare_confirm_delete")
right.button(
    "Delete",
    disabled=not confirm,
    key="compare_delete",
    on_click=delete_chosen_run,
    args=(store,),
)
if error := st.session_state.pop("compare_delete_error", None):
    right.error(error)
