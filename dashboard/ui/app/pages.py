"""The dashboard's pages: one table behind the navigation, Home's links and every page link.

Each page is declared once here, with its script, title, icon, one-line description and
navigation section; the frame, the Home page and every ``st.page_link`` read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parents[3] / "pages"
HOME = "home"
# Where a session keeps its st.Page objects (see `session_pages`).
SESSION_PAGES_KEY = "pages_made"


@dataclass(frozen=True)
class PageInfo:
    """One page of the dashboard.

    Attributes
    ----------
    name : str
        Short name, the stem of its script ``pages/<name>.py``.
    title : str
        Shown in the navigation and on links to it; most pages use it as their heading.
    icon : str
        A material icon, ``":material/<name>:"``.
    description : str
        What a newcomer finds there, in one line.
    section : str
        Navigation section: "Start", "Models" or "Learn".
    """

    name: str
    title: str
    icon: str
    description: str
    section: str

    @property
    def path(self) -> Path:
        """The page's script as an absolute path (``st.Page`` and ``st.page_link`` take it)."""
        # Read at call time, so a test can point the table at stub scripts.
        return PAGES_DIR / f"{self.name}.py"


# In navigation order, which is also the order of a first visit.
PAGES = (
    PageInfo(
        "home",
        "Home",
        ":material/home:",
        "What MNIST Lab is and where to start.",
        "Start",
    ),
    PageInfo(
        "explore",
        "Explore data",
        ":material/query_stats:",
        "Look at the digits as numbers.",
        "Start",
    ),
    PageInfo(
        "data",
        "Your data",
        ":material/upload_file:",
        "Add your own dataset: Fashion-MNIST, KMNIST or your own images.",
        "Start",
    ),
    PageInfo(
        "train",
        "Train",
        ":material/model_training:",
        "Build a network and watch it learn.",
        "Models",
    ),
    PageInfo(
        "evaluate",
        "Evaluate",
        ":material/fact_check:",
        "See which digits it gets wrong.",
        "Models",
    ),
    PageInfo(
        "compare",
        "Compare runs",
        ":material/compare:",
        "Put your experiments side by side.",
        "Models",
    ),
    PageInfo(
        "table",
        "The MNIST table",
        ":material/table_chart:",
        "Classic methods' published errors beside your own runs of them.",
        "Models",
    ),
    PageInfo(
        "sweeps",
        "Sweeps",
        ":material/tune:",
        "Dozens of runs from one form, read in one chart.",
        "Models",
    ),
    PageInfo(
        "inside",
        "Inside the network",
        ":material/hub:",
        "Weights, filters and activations.",
        "Models",
    ),
    PageInfo(
        "classroom",
        "Class",
        ":material/groups:",
        "Every student's runs, the leaderboard, who trains now.",
        "Models",
    ),
    PageInfo(
        "playground",
        "Playground",
        ":material/draw:",
        "Draw a digit and ask a model.",
        "Learn",
    ),
    PageInfo(
        "lessons",
        "Lessons",
        ":material/school:",
        "Guided steps for class or self-study.",
        "Learn",
    ),
)
PAGE = {page.name: page for page in PAGES}


def navigation_sections() -> dict[str, list[st.Page]]:
    """Every page as an ``st.Page``, grouped by section, for ``st.navigation``.

    Returns
    -------
    dict
        Section name -> its pages in table order; the Home page is the default.
    """
    sections: dict[str, list[st.Page]] = {}
    made = session_pages()
    for page in PAGES:
        sections.setdefault(page.section, []).append(made[page.name])
    return sections


def session_pages() -> dict[str, st.Page]:
    """Every page's ``st.Page`` by name, made once per browser session.

    Making one resolves its script's path on disk, and so does a link given a path: a few
    file-system calls per page on every rerun, each of which lets another session's rerun
    in first when a class shares the server.
    """
    made = st.session_state.get(SESSION_PAGES_KEY)
    if made is None:
        made = {
            page.name: st.Page(
                page.path, title=page.title, icon=page.icon, default=page.name == HOME
            )
            for page in PAGES
        }
        st.session_state[SESSION_PAGES_KEY] = made
    return made


def page_link(name: str, label: str | None = None, **kwargs) -> None:
    """A link to the page ``name``, with its title and icon unless given.

    Parameters
    ----------
    name : str
        A page of `PAGES`, e.g. ``"train"``.
    label : str, optional
        The link's text; the page's title by default.
    **kwargs
        Passed to ``st.page_link`` (``query_params``, ``help``...); ``icon=None`` drops the
        page's icon.

    Raises
    ------
    ValueError
        If ``name`` is not a page of the table.
    """
    if name not in PAGE:
        raise ValueError(f"name must be one of {tuple(PAGE)}, got {name!r}")
    page = PAGE[name]
    # Given a page, st.page_link takes icon=None for "the page's icon" and "" for none.
    icon = kwargs.pop("icon", page.icon)
    st.page_link(session_pages()[name], label=label or page.title, icon=icon or "", **kwargs)
