"""A form's values kept for this browser across refreshes (`mnist_lab.kept_forms`).

A refresh is a new Streamlit session: `state.keep_widget_state` forgets then. The browser
keeps a random token in a cookie (set by `cookie.set_cookie`; never a value of the form, and
nothing in the address), and the values are kept on the server under that token.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import streamlit as st

from dashboard.ui.app.cookie import set_cookie
from mnist_lab import kept_forms

BROWSER_COOKIE = "mnist_lab_browser"
# How long the browser keeps its token: a term's worth of lessons.
COOKIE_S = 120 * 24 * 3600
TOKEN_KEY = "form_memory_token"
# Per form: whether this session read it back yet, and what it last wrote.
READ_KEY, WRITTEN_KEY = "form_memory_read", "form_memory_written"


def browser_token() -> str:
    """This browser's token: its cookie's, else a new one its cookie keeps from now on."""
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        token = str(st.context.cookies.get(BROWSER_COOKIE) or "")
        if not kept_forms.TOKEN.fullmatch(token):
            token = secrets.token_urlsafe(32)
            with st.sidebar:
                set_cookie(BROWSER_COOKIE, token, COOKIE_S)
        st.session_state[TOKEN_KEY] = token
    return token


def read_back(root: Path, form: str) -> dict:
    """The values this browser last kept for ``form``, once per session (else empty).

    Parameters
    ----------
    root : Path
        The runs directory, where `mnist_lab.kept_forms` keeps them.
    form : str
        The form's name (e.g. ``"train"``): a browser keeps one file per form.
    """
    read = st.session_state.setdefault(READ_KEY, set())
    if form in read:
        return {}
    read.add(form)
    return kept_forms.read_form(root, _token_of(form))


def keep(root: Path, form: str, values: dict) -> None:
    """Keep ``values`` of ``form`` for this browser (written only when they changed).

    A value that cannot be kept (too large, not plain JSON) is left unkept: the form
    then forgets across a refresh, as it did before, and nothing else changes.
    """
    written = st.session_state.setdefault(WRITTEN_KEY, {})
    if written.get(form) == values:
        return
    try:
        kept_forms.write_form(root, _token_of(form), values)
    except (ValueError, OSError):
        return
    written[form] = values


def _token_of(form: str) -> str:
    """The browser's token for one form: its own file name, so forms never share a file."""
    return f"{browser_token()}-{form}"
