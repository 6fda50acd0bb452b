"""Times of assignments as a reader sees them: in the browser's time zone, in plain words."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

UTC = ZoneInfo("UTC")


def reader_zone() -> ZoneInfo:
    """The browser's time zone (what the teacher means by "Friday 17:00"), else UTC."""
    try:
        return ZoneInfo(st.context.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def aware(day: date, moment: time) -> datetime:
    """The day and time picked in the browser, as a time with its zone."""
    return datetime.combine(day, moment, tzinfo=reader_zone())


def when_text(iso: str | None, none: str = "none") -> str:
    """An ISO 8601 time in the reader's zone, e.g. ``Fri 4 Dec 17:00 (Europe/Paris)``.

    Examples
    --------
    >>> when_text(None, none="no deadline")
    'no deadline'
    """
    if iso is None:
        return none
    zone = reader_zone()
    local = datetime.fromisoformat(iso).astimezone(zone)
    return f"{local:%a %-d %b %Y %H:%M} ({zone.key})"


def local_parts(iso: str | None, default: datetime) -> tuple[date, time]:
    """The day and minute of an ISO time (``default`` when None) in the reader's zone."""
    local = (datetime.fromisoformat(iso) if iso else default).astimezone(reader_zone())
    return local.date(), local.time().replace(second=0, microsecond=0)
