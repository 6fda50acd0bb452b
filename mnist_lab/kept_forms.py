"""A browser's form values kept beside the runs, so a refresh finds a form as it was left.

A refresh starts a new dashboard session, which remembers nothing; the browser keeps a random
token in a cookie, and the values live on the server under ``<runs>/.forms/``, one file per
browser, named by the token's SHA-256 (the token itself is never written). This module owns
that file: ``{"version": 1, "saved": <time>, "values": {key: plain JSON value}}``, at most
`MAX_FORM_BYTES`, every field checked on read. A missing or damaged file reads as no values:
the form then shows its defaults, and nothing else is affected.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from mnist_lab.files import DamagedRunError, atomic_write_bytes, now_iso, read_json
from mnist_lab.settings import check_plain

FORMS_DIR = ".forms"
VERSION = 1
MAX_FORM_BYTES = 64 * 2**10
MAX_KEY_LENGTH = 100
# One file per browser that saved a form: beyond this many the oldest are removed.
MAX_KEPT_FORMS = 1000
# A token of `secrets.token_urlsafe`'s characters, long enough not to be guessed.
TOKEN = re.compile(r"[A-Za-z0-9_-]{22,128}")


def form_file(root: Path, token: str) -> Path:
    """The file of the browser holding ``token``, under the runs directory ``root``.

    Raises
    ------
    ValueError
        If ``token`` is not 22-128 letters, digits, ``_`` or ``-``.
    """
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise ValueError("a browser token is 22-128 letters, digits, _ or -")
    return Path(root) / FORMS_DIR / f"{hashlib.sha256(token.encode()).hexdigest()}.json"


def check_values(values: Any) -> None:
    """Raise ``ValueError`` unless ``values`` is an object of short keys and plain values."""
    if not isinstance(values, dict):
        raise ValueError("the kept values are not an object")
    for key, value in values.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
            raise ValueError(f"a kept key is not a text of 1-{MAX_KEY_LENGTH} characters")
        check_plain(key, value)


def _check(document: dict) -> bool:
    """`read_json`'s check of a form file: its version and every value."""
    if document.get("version") != VERSION:
        raise DamagedRunError(f"a kept form of version {document.get('version')!r}")
    try:
        check_values(document.get("values"))
    except ValueError as error:
        raise DamagedRunError(str(error)) from None
    return True


def read_form(root: Path, token: str) -> dict:
    """The values the browser holding ``token`` last saved; empty if none or damaged.

    Examples
    --------
    >>> read_form(Path("/nonexistent"), "x" * 22)
    {}
    """
    try:
        return dict(read_json(form_file(root, token), MAX_FORM_BYTES, check=_check)["values"])
    except (DamagedRunError, ValueError, OSError):
        return {}


def write_form(root: Path, token: str, values: dict) -> None:
    """Keep ``values`` for the browser holding ``token`` (replacing what it kept before).

    Raises
    ------
    ValueError
        If the token or a value is refused, or the values take more than `MAX_FORM_BYTES`.
    """
    path = form_file(root, token)
    check_values(values)
    document = {"version": VERSION, "saved": now_iso(), "values": values}
    data = json.dumps(document, indent=1).encode()
    if len(data) > MAX_FORM_BYTES:
        raise ValueError(f"the form's values take more than {MAX_FORM_BYTES:,} bytes")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    _forget_oldest(path.parent)


def _forget_oldest(directory: Path) -> None:
    """Remove the oldest form files beyond `MAX_KEPT_FORMS` (browsers long gone)."""
    files = [path for path in directory.iterdir() if path.suffix == ".json"]
    if len(files) <= MAX_KEPT_FORMS:
        return

    def modified(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    for path in sorted(files, key=modified)[: len(files) - MAX_KEPT_FORMS]:
        path.unlink(missing_ok=True)
