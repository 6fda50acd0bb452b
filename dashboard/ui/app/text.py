"""User text made safe to show: escaped for Streamlit's markdown, so it shows as typed."""

from __future__ import annotations

import re

# Every ASCII punctuation character: markdown may give each a meaning, a backslash takes it away.
MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain_markdown(text: str) -> str:
    r"""User text escaped for Streamlit's markdown (alerts, headers), so it shows as typed.

    Examples
    --------
    >>> print(plain_markdown("**bold** [x](y)"))
    \*\*bold\*\* \[x\]\(y\)
    """
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))
