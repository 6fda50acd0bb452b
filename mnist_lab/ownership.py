"""Who may rename, stop and delete a run (or cancel a sweep): its owner, or the teacher.

A classroom policy, not a login: a session says who it is and is believed. With a teacher key
set (``$MNIST_LAB_TEACHER_KEY`` or the dashboard's secrets) a student manages only the runs
that record them as ``owner``; whoever gives the key manages every run. With no key set (one
person on a laptop) everyone manages everything, as before there were owners.
"""

from __future__ import annotations

import hmac
import os
from typing import Protocol

TEACHER_KEY_ENV = "MNIST_LAB_TEACHER_KEY"


class Owned(Protocol):
    """What somebody launched and owns: a run, a sweep."""

    @property
    def owner(self) -> str | None: ...


def teacher_key_from_env() -> str | None:
    """The teacher key of ``$MNIST_LAB_TEACHER_KEY``; None when unset or blank."""
    return os.environ.get(TEACHER_KEY_ENV, "").strip() or None


def key_matches(given: str, expected: str) -> bool:
    """Whether ``given`` is the teacher key, compared in constant time.

    Examples
    --------
    >>> key_matches("owl", "owl"), key_matches("ow", "owl")
    (True, False)
    """
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def may_manage(run: Owned, person: str | None, teacher: bool) -> bool:
    """Whether ``person`` may rename, stop or delete ``run``.

    Parameters
    ----------
    run : Run or Sweep
    person : str or None
        The name the session gave; None if it gave none.
    teacher : bool
        Whether the session unlocked the teacher's rights (or no key is set at all).

    Returns
    -------
    bool
        True for the teacher, and for the person the run records as its owner.
    """
    return teacher or (person is not None and run.owner == person)


def refusal(run: Owned, action: str, what: str = "run") -> str:
    """Why a student may not ``action`` (e.g. "delete") ``run``, a ``what``, in plain words."""
    owner = run.owner
    whose = f"{owner}'s {what}" if owner else f"a {what} nobody owns"
    return f"This is {whose}: only its owner or the teacher can {action} it."


def check_may_manage(run: Owned, person: str | None, teacher: bool, action: str) -> None:
    """Raise `PermissionError` with `refusal`'s message unless `may_manage` allows ``action``."""
    if not may_manage(run, person, teacher):
        raise PermissionError(refusal(run, action))
