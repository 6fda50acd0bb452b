"""A figure that every session shows: what the browser is sent of it is made once.

``st.plotly_chart`` asks a figure for ``to_dict()`` on every rerun: a deep copy of every
trace, with each array encoded again, which costs more than the rest of a light page. A
figure cached for every session never changes (`dashboard.ui.app.figures`), so its dict
is made on the first call and handed out after, read-only.
"""

from __future__ import annotations

import plotly.graph_objects as go


class SharedFigure(go.Figure):
    """A `plotly.graph_objects.Figure` whose ``to_dict()`` is made once and then shared."""

    def to_dict(self) -> dict:
        """The figure as a dict, made on the first call; shared, so not to be modified."""
        kept = self.__dict__.get("_shared_dict")
        if kept is None:
            kept = super().to_dict()
            self._shared_dict = kept
        return kept


def shared(figure: go.Figure | None) -> SharedFigure | None:
    """``figure`` made a `SharedFigure`, for a cache that hands it to every session.

    The figure itself is adopted, not copied: a copy would validate every trace again, and a
    live run's curves are built anew every second. None stays None.
    """
    if figure is not None:
        figure.__class__ = SharedFigure
    return figure
