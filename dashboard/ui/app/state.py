"""Widget state that outlives the reruns in which a widget is not drawn."""

from __future__ import annotations

import streamlit as st


def keep_widget_state(defaults: dict) -> None:
    """Give each widget key its default once, and keep the values the user chose.

    Call it before the widgets are drawn. Their keys must be passed to the widgets with no
    ``value``/``index``/``default`` of their own: the default lives in session state.

    Parameters
    ----------
    defaults : dict
        Widget key -> value on a first visit.
    """
    for key, default in defaults.items():
        if key in st.session_state:
            # Lazy tabs forget the widgets of hidden tabs; re-assigning their values keeps them.
            st.session_state[key] = st.session_state[key]
        else:
            st.session_state[key] = default
