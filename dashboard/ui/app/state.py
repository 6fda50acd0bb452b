"""Widget state that outlives the reruns in which a widget is not drawn."""

from __future__ import annotations

import streamlit as st

# A plain (non-widget) key: Streamlit drops a widget's key on a page that does not draw it,
# so each value is also copied here, and read back when the student returns to the page.
KEPT = "kept_widget_values"
PAGE_NOW, PAGE_BEFORE = "page_now", "page_before"


def remember_page(page: str) -> None:
    """Record that this run draws ``page`` (the frame calls it once a run, before the page)."""
    st.session_state[PAGE_BEFORE] = st.session_state.get(PAGE_NOW)
    st.session_state[PAGE_NOW] = page


def keep_widget_state(defaults: dict) -> None:
    """Give each widget key its default once, and keep the values the user chose.

    Call it before the widgets are drawn. Their keys must be passed to the widgets with no
    ``value``/``index``/``default`` of their own: the default lives in session state. The
    values outlive a visit to another page, for as long as the session lasts.

    Parameters
    ----------
    defaults : dict
        Widget key -> value on a first visit.
    """
    kept = st.session_state.setdefault(KEPT, {})
    # Back from another page, a widget's key may hold a stale value: the copy is the truth then.
    returning = st.session_state.get(PAGE_BEFORE) != st.session_state.get(PAGE_NOW)
    for key, default in defaults.items():
        if key in st.session_state and not (returning and key in kept):
            # Lazy tabs forget the widgets of hidden tabs; re-assigning their values keeps them.
            st.session_state[key] = st.session_state[key]
        else:
            st.session_state[key] = kept.get(key, default)
        kept[key] = st.session_state[key]


def set_kept(key: str, value) -> None:
    """Set a kept widget's value before it is drawn, on its own page or from another one.

    A button on another page (Evaluate's "Copy this run's settings") fills a form this way:
    the copy in `KEPT` is what the form's page reads back when the student arrives.
    """
    st.session_state[key] = value
    st.session_state.setdefault(KEPT, {})[key] = value
