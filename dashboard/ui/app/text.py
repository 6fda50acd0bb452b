"""User text made safe to show: escaped for Streamlit's markdown, so it shows as typed."""

from __future__ import annotations

import re

# Every ASCII punctuation character: markdown may give each a meaning, a backslash takes it away.
MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# GitHub's markdown links bare URLs and e-mail addresses even when escaped; an invisible word
# joiner before "http", "www" and "@" keeps them text, since a link must follow a space or a
# punctuation mark.
AUTOLINK_START = re.compile(r"(https?:|www\.|@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain_markdown(text: str) -> str:
    r"""User text escaped for Streamlit's markdown (alerts, headers), so it shows as typed.

    Examples
    --------
    >>> print(plain_markdown("**bold** [x](y)"))
    \*\*bold\*\* \[x\]\(y\)
    >>> plain_markdown("see http://x.org")
    'see \u2060http\\:\\/\\/x\\.org'
    """
    linkless = AUTOLINK_START.sub(WORD_JOINER + r"\1", str(text))
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", linkless)
