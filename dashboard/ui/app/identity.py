"""Who this browser session is: a name given once (kept in the URL across refreshes), and
whether it unlocked the teacher's rights. `mnist_lab.ownership` decides what that allows.
"""

from __future__ import annotations

import streamlit as st

from dashboard.ui.app.cookie import set_cookie
from dashboard.ui.app.text import plain_markdown
from mnist_lab import ownership
from mnist_lab.runs import validate_owner_name

NAME_KEY = "identity_name"
TEACHER_KEY = "identity_teacher"
# The URL keeps the name, so a refresh (a new session) does not ask again.
NAME_PARAM = "student"
SECRET_NAME = "teacher_key"
SECRETS_READ_EVERY_S = 30
# The browser keeps a random token of the teacher's session (never the key), so a refresh
# stays unlocked; the token's cookie is set by a script, as Streamlit sets no cookies itself.
TEACHER_COOKIE = "mnist_lab_teacher"
TOKEN_KEY = "identity_teacher_token"
COOKIE_TO_WRITE = "identity_cookie_to_write"


# Without a secrets file Streamlit looks for one (and raises inside) on every access; the
# key is asked for once per run in a table, so the answer is kept for a while.
@st.cache_resource(ttl=SECRETS_READ_EVERY_S, show_spinner=False)
def _teacher_key_from_secrets() -> str | None:
    if st.secrets.load_if_toml_exists() and str(st.secrets.get(SECRET_NAME, "")).strip():
        return str(st.secrets[SECRET_NAME]).strip()
    return None


def teacher_key() -> str | None:
    """The teacher key: ``teacher_key`` in Streamlit's secrets, else ``$MNIST_LAB_TEACHER_KEY``.

    A secrets file added while the server runs counts within `SECRETS_READ_EVERY_S`.
    """
    return _teacher_key_from_secrets() or ownership.teacher_key_from_env()


NAME_FIRST = "Give your name in the sidebar first: your runs are kept under it."


def classroom_mode() -> bool:
    """Whether a teacher key is set, so students manage only their own runs."""
    return teacher_key() is not None


def current_owner() -> str | None:
    """The name this session gave (recorded as the owner of the runs it launches), or None."""
    return st.session_state.get(NAME_KEY)


def name_missing() -> bool:
    """Whether this session must give its name before it launches anything.

    In a classroom every run needs an owner: only its owner may stop or delete it, and the
    fair queue counts each student's runs.
    """
    return classroom_mode() and current_owner() is None


def is_teacher() -> bool:
    """Whether this session may manage every run: it gave the teacher key, or none is set."""
    return not classroom_mode() or st.session_state.get(TEACHER_KEY, False)


def may_manage(run: ownership.Owned) -> bool:
    """Whether this session may change ``run`` (or a sweep, a dataset): `mnist_lab.ownership`."""
    return ownership.may_manage(run, current_owner(), is_teacher())


def check_may_manage(run: ownership.Owned, action: str) -> None:
    """Raise `PermissionError`, with the reason, unless this session may ``action`` ``run``."""
    ownership.check_may_manage(run, current_owner(), is_teacher(), action)


def remember_name() -> None:
    """Adopt the name in the URL on a fresh session; write the session's name back after."""
    name = current_owner()
    if name is None and NAME_PARAM in st.query_params:
        try:
            st.session_state[NAME_KEY] = validate_owner_name(st.query_params[NAME_PARAM])
        except ValueError:
            del st.query_params[NAME_PARAM]
    elif name is not None and st.query_params.get(NAME_PARAM) != name:
        # Switching pages drops the query string: put the name back.
        st.query_params[NAME_PARAM] = name


def _give_name() -> None:
    try:
        st.session_state[NAME_KEY] = validate_owner_name(st.session_state["identity_name_input"])
    except ValueError as error:
        st.session_state["identity_error"] = str(error)
        return
    st.query_params[NAME_PARAM] = st.session_state[NAME_KEY]


def _forget_name() -> None:
    st.session_state.pop(NAME_KEY, None)
    st.query_params.pop(NAME_PARAM, None)


def _unlock() -> None:
    key = teacher_key()
    try:
        right = key is not None and ownership.try_teacher_key(
            st.session_state["identity_key_input"], key
        )
    except ownership.TooManyWrongKeys as refusal:
        st.session_state["identity_error"] = str(refusal)
    else:
        if right:
            token = ownership.teacher_sessions.open(key)
            st.session_state[TEACHER_KEY] = True
            st.session_state[TOKEN_KEY] = token
            st.session_state[COOKIE_TO_WRITE] = (token, ownership.TEACHER_SESSION_S)
        else:
            st.session_state["identity_error"] = "That is not the teacher key."
    st.session_state["identity_key_input"] = ""


def _lock() -> None:
    ownership.teacher_sessions.close(st.session_state.pop(TOKEN_KEY, ""))
    st.session_state[TEACHER_KEY] = False
    st.session_state[COOKIE_TO_WRITE] = ("", 0)


def _unlock_from_cookie() -> None:
    """Unlock a fresh session (a refresh) whose browser kept a valid teacher token."""
    key = teacher_key()
    token = str(st.context.cookies.get(TEACHER_COOKIE) or "")
    if key is not None and token and ownership.teacher_sessions.valid(token, key):
        st.session_state[TEACHER_KEY] = True
        st.session_state[TOKEN_KEY] = token


def identity_sidebar() -> None:
    """The sidebar's name box (once per session) and the teacher's unlock, or who this is."""
    remember_name()
    classroom = classroom_mode()
    if classroom and TEACHER_KEY not in st.session_state:
        _unlock_from_cookie()
    with st.sidebar:
        name = current_owner()
        if name is None:
            with st.form("identity_form", border=False):
                st.text_input(
                    "Your name" if classroom else "Your name (optional)",
                    key="identity_name_input",
                    help="Recorded with the runs you launch."
                    + (
                        " Only you and the teacher can rename, stop or delete them."
                        if classroom
                        else ""
                    ),
                )
                st.form_submit_button("That's me", on_click=_give_name)
        else:
            st.caption(f"Signed in as **{plain_markdown(name)}**")
            st.button(
                "Change name",
                key="identity_change_name",
                on_click=_forget_name,
                help="Runs already launched keep the name they were launched under.",
            )
        if classroom and st.session_state.get(TEACHER_KEY):
            st.caption("Teacher: you can manage every run.")
            st.button("Lock", key="identity_lock", on_click=_lock, help="Give up the rights.")
        elif classroom:
            with st.expander("Teacher"):
                st.text_input("Teacher key", type="password", key="identity_key_input")
                st.button("Unlock", key="identity_unlock", on_click=_unlock)
        if error := st.session_state.pop("identity_error", None):
            st.error(error)
        if COOKIE_TO_WRITE in st.session_state:
            # Set, or cleared with a max-age of 0.
            set_cookie(TEACHER_COOKIE, *st.session_state.pop(COOKIE_TO_WRITE))
