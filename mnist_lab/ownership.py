"""Who may rename, stop and delete a run (or cancel a sweep): its owner, or the teacher.

A classroom policy, not a login: a session says who it is and is believed. With a teacher key
set (``$MNIST_LAB_TEACHER_KEY`` or the dashboard's secrets) a student manages only the runs
that record them as ``owner``; whoever gives the key manages every run. With no key set (one
person on a laptop) everyone manages everything, as before there were owners.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import os
import secrets
import threading
import time
from typing import Protocol

TEACHER_KEY_ENV = "MNIST_LAB_TEACHER_KEY"
# Who trains or brings a model when no owner is given (a notebook, the command line).
OWNER_ENV = "MNIST_LAB_USER"


class Owned(Protocol):
    """What somebody launched or added and owns: a run, a sweep, a dataset."""

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


# How long an unlocked browser stays the teacher's without typing the key again.
TEACHER_SESSION_S = 12 * 3600


class TeacherSessions:
    """Browsers that gave the teacher key, by a random token each keeps (never the key).

    Only a hash of each token is kept, with its expiry and the key it was given for, so
    changing the key ends every session. Kept in the server's memory: a restart asks again.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    def open(self, key: str, now: float | None = None) -> str:
        """A new token for a browser that just gave ``key``, valid `TEACHER_SESSION_S`."""
        token = secrets.token_urlsafe(32)
        now = time.time() if now is None else now
        with self._lock:
            self._tokens = {t: kept for t, kept in self._tokens.items() if kept[0] > now}
            self._tokens[self._digest(token)] = (now + TEACHER_SESSION_S, self._digest(key))
        return token

    def valid(self, token: str, key: str, now: float | None = None) -> bool:
        """Whether ``token`` was opened for ``key`` and has not expired or been closed."""
        now = time.time() if now is None else now
        with self._lock:
            kept = self._tokens.get(self._digest(token))
        return (
            kept is not None and kept[0] > now and hmac.compare_digest(kept[1], self._digest(key))
        )

    def close(self, token: str) -> None:
        """End the session of ``token`` (the teacher locked the browser again)."""
        with self._lock:
            self._tokens.pop(self._digest(token), None)


teacher_sessions = TeacherSessions()


def may_manage(run: Owned, person: str | None, teacher: bool) -> bool:
    """Whether ``person`` may rename, stop or delete ``run``.

    Parameters
    ----------
    run : Run, Sweep or DatasetInfo
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
