"""The run pickers shared by the pages: a deleted run on screen is said so, not swapped silently."""

from streamlit.testing.v1 import AppTest

from mnist_lab.runs import RunStore


def page_of_one_run():
    import streamlit as st

    from dashboard.ui.runs.runs_view import page_run
    from mnist_lab.runs import RunStore

    st.text(page_run(RunStore(), "evaluate_run").id)


def test_a_run_deleted_elsewhere_is_announced_and_the_next_one_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_RUNS_DIR", str(tmp_path))
    store = RunStore(tmp_path)
    older = store.create({"engine": "numpy"}, name="older")
    shown = store.create({"engine": "numpy"}, name="my *best* run")
    for run in (older, shown):
        run.update_status(state="finished")
    app = AppTest.from_function(page_of_one_run)
    app.query_params["run"] = shown.id
    app.run()
    assert app.text[0].value == shown.id and not app.warning
    store.delete(shown.id)  # as another tab would
    app.run()
    assert not app.exception
    assert app.text[0].value == older.id
    (warning,) = app.warning
    assert r"my \*best\* run, has been deleted" in warning.value and "older" in warning.value
    app.run()
    assert not app.warning, "said once, when it happened"
