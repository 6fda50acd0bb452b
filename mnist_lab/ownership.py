"""Who may rename, stop and delete a run: its owner, or the teacher.

A classroom policy, not a login: a session says who it is and is believed. With a teacher key
set (``$MNIST_LAB_TEACHER_KEY`` or the dashboard's secrets) a student manages only the runs
that record them as ``owner``; whoever gives the key manages every run. With no key set (one
person on a laptop) everyone manages everything, as before there were owners.
"""

from __future__ import annotations

import collections
import hmac
import os
import threading
import time

from mnist_lab.runs import Run

TEACHER_KEY_ENV = "MNIST_LAB_TEACHER_KEY"


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


# Wrong keys the whole server accepts per minute: enough for typos, too few to guess a key;
# counted for the server, not a session, since a new session costs a student one refresh.
MAX_WRONG_KEYS_PER_MINUTE = 10
_wrong_keys: collections.deque[float] = collections.deque()
_wrong_keys_lock = threading.Lock()


class TooManyWrongKeys(PermissionError):
    """Refused: too many wrong teacher keys were given on this server in the last minute."""


def try_teacher_key(given: str, expected: str, now: float | None = None) -> bool:
    """Whether ``given`` is the teacher key, with at most `MAX_WRONG_KEYS_PER_MINUTE` misses.

    Parameters
    ----------
    given, expected : str
        The key typed and the key set.
    now : float, optional
        The time of the try (`time.monotonic`), for tests.

    Raises
    ------
    TooManyWrongKeys
        Before comparing, once the last minute holds that many wrong keys; it says how long
        to wait.
    """
    now = time.monotonic() if now is None else now
    with _wrong_keys_lock:
        while _wrong_keys and _wrong_keys[0] <= now - 60:
            _wrong_keys.popleft()
        if len(_wrong_keys) >= MAX_WRONG_KEYS_PER_MINUTE:
            wait_s = max(1, round(_wrong_keys[0] + 60 - now))
            raise TooManyWrongKeys(
                f"Too many wrong teacher keys on this server in the last minute: "
                f"try again in {wait_s} s."
            )
        if key_matches(given, expected):
            return True
        _wrong_keys.append(now)
        return False


def may_manage(run: Run, person: str | None, teacher: bool) -> bool:
    """Whether ``person`` may rename, stop or delete ``run``.

    Parameters
    ----------
    run : Run
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


def refusal(run: Run, action: str) -> str:
    """Why a student may not ``action`` (e.g. "delete") ``run``, in plain words."""
    owner = run.owner
    whose = f"{owner}'s run" if owner else "a run nobody owns"
    return f"This is {whose}: only its owner or the teacher can {action} it."


def check_may_manage(run: Run, person: str | None, teacher: bool, action: str) -> None:
    """Raise `PermissionError` with `refusal`'s message unless `may_manage` allows ``action``."""
    if not may_manage(run, person, teacher):
        raise PermissionError(refusal(run, action))
