"""The server keeps Keras's state between reruns instead of clearing it after every one."""

import inspect

from streamlit.runtime.scriptrunner import script_runner

from dashboard.ui.app.runtime import STREAMLIT_CLEANUP, keep_keras_state


def test_streamlit_no_longer_clears_keras_after_each_rerun(monkeypatch):
    # The reason for the tuning: Streamlit's own cleanup clears the Keras session.
    assert "clear_session" in inspect.getsource(STREAMLIT_CLEANUP)
    # Another test's frame may have tuned the runtime already: start from Streamlit's own.
    monkeypatch.setattr(script_runner, "_clean_problem_modules", STREAMLIT_CLEANUP)
    import keras

    keras.backend.clear_session()
    first = keras.layers.Dense(2).name
    keep_keras_state()
    script_runner._clean_problem_modules()
    # A cleared session would start naming layers afresh.
    assert keras.layers.Dense(2).name != first
