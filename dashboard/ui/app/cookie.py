"""Setting a cookie in the browser: the one place the dashboard writes raw HTML (a script).

Streamlit reads cookies (`st.context.cookies`) but sets none, so a small script does. Only
names and values made of letters, digits, ``_`` and ``-`` are accepted: no user text, and
nothing that could close the string or the script.
"""

from __future__ import annotations

import re

import streamlit as st

COOKIE_SAFE = re.compile(r"[A-Za-z0-9_-]*")


def set_cookie(name: str, value: str, max_age_s: int) -> None:
    """Set cookie ``name`` to ``value`` for this site, or clear it with ``max_age_s=0``.

    Parameters
    ----------
    name, value : str
        Letters, digits, ``_`` and ``-`` only (a random token, never user text).
    max_age_s : int
        Seconds the browser keeps it.

    Raises
    ------
    ValueError
        If ``name`` or ``value`` holds any other character.
    """
    if not (name and COOKIE_SAFE.fullmatch(name) and COOKIE_SAFE.fullmatch(value)):
        raise ValueError("a cookie's name and value must be letters, digits, _ and - only")
    st.html(
        f'<script>document.cookie = "{name}={value}; path=/; max-age={int(max_age_s)}; '
        'SameSite=Strict";</script>',
        unsafe_allow_javascript=True,
    )
