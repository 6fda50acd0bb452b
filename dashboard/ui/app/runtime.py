"""What the Streamlit runtime does after every rerun, tuned for a class on one server."""

from __future__ import annotations

from streamlit.runtime.scriptrunner import script_runner

# Streamlit's own cleanup as it was before `keep_keras_state` replaced it (tests restore it).
STREAMLIT_CLEANUP = getattr(script_runner, "_clean_problem_modules", None)


def _keep_keras_state() -> None:
    """Streamlit's cleanup after a rerun, less the Keras part (see `keep_keras_state`)."""


def keep_keras_state() -> None:
    """Stop Streamlit from clearing Keras's global state after every rerun of every session.

    Once any page has imported Keras, Streamlit's ``_clean_problem_modules`` calls
    ``keras.backend.clear_session()`` after each rerun: a full garbage collection and a reset
    of TensorFlow's kernel cache, about half the server's CPU per rerun of a light page. The
    lab builds no model inside a page's script (models are loaded once per server, see
    `dashboard.ui.app.run_cache.model_of`), so there is no state to clear, and its pages use no
    matplotlib, the other module that cleanup serves. A Streamlit without this private hook
    is left as it is.
    """
    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = _keep_keras_state
