"""Text cells of the CSV files the lab hands out, safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by spreadsheets (CSV injection); a student's name or a run's name could start so. Every CSV of
names (the class's runs, an assignment's gradebook) quotes such text with a leading ``'``.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value``, with text that a spreadsheet would run as a formula quoted by a leading ``'``.

    Examples
    --------
    >>> spreadsheet_safe("=HYPERLINK(1)"), spreadsheet_safe("Ada"), spreadsheet_safe(-0.5)
    ("'=HYPERLINK(1)", 'Ada', -0.5)
    """
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value
