"""The ground floor of every file the lab keeps: atomic writes, checked reads, kept versions.

Every other module that writes a run's, a dataset's or a sweep's files goes through these
helpers, so a crash never leaves half a file and a broken file reads as damaged with its
reason. This module imports nothing of the project: each format's owner (`runs`, `status`,
`records`, `evaluation`, `datasets`, the engines...) names its own files and builds on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat as file_modes
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

# The largest JSON file read: a run's evaluation of 10,000 digits takes about half a megabyte.
MAX_JSON_BYTES = 16 * 2**20
# The largest .npz read from a run: k-nearest neighbours store up to 60,000 digits (47 MB).
MAX_ARRAYS_BYTES = 512 * 2**20
# Small JSON files (settings, status) by version, as read: 1-2 kB each, 32 MB at the very most.
MAX_KEPT_FILE_BYTES = 16 * 2**10
MAX_KEPT_FILES = 2048
# The longest whole number read as one (Python's own limit is 4,300 digits).
MAX_DIGITS = 4000


class DamagedRunError(ValueError):
    """A run directory whose files are missing, truncated or not valid JSON."""


def now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def is_aware_time(value: Any) -> bool:
    """Whether ``value`` is an ISO 8601 time with a time zone, as `now_iso` writes.

    Examples
    --------
    >>> is_aware_time("2026-01-02T03:04:05+00:00"), is_aware_time("2026-01-02T03:04:05")
    (True, False)
    """
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def json_default(value: Any) -> Any:
    """Serialize NumPy scalars and arrays, which ``json`` does not know."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it over ``path``.

    A crash or a full disk leaves either the old file or the new one, never half a file.

    Parameters
    ----------
    path : Path
        Destination file; its directory must exist.
    data : bytes
        The complete new content.
    """
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically (see `atomic_write_bytes`)."""
    text = json.dumps(obj, indent=2, default=json_default)
    atomic_write_bytes(Path(path), text.encode())


@contextlib.contextmanager
def locked_directory(directory: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``directory`` itself (no lock file to leave behind).

    Parameters
    ----------
    directory : Path
        An existing directory; every process that locks it waits for the others.
    """
    handle = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _version(stat: os.stat_result) -> tuple[int, int, int]:
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def file_version(path: Path) -> tuple[int, int, int] | None:
    """A file's version: inode, modification time (ns) and size; None if there is no file.

    Writing the file again, in place or aside and renamed over it, gives a new version:
    what is derived from a file is kept under it.
    """
    try:
        return _version(os.stat(path))
    except FileNotFoundError:
        return None


class KeptByVersion:
    """The newest ``size`` values by (path, version), shared by every thread.

    Parameters
    ----------
    size : int
        How many values are kept; the least recently used goes first.
    """

    def __init__(self, size: int):
        self.size, self.values, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple) -> Any:
        """The value kept under ``key``, or None."""
        with self.lock:
            if key in self.values:
                self.values.move_to_end(key)
                return self.values[key]
        return None

    def put(self, key: tuple, value: Any) -> None:
        """Keep ``value`` under ``key``, forgetting the least recently used beyond ``size``."""
        with self.lock:
            self.values[key] = value
            while len(self.values) > self.size:
                self.values.popitem(last=False)

    def of_file(self, path: Path, derive) -> Any:
        """``derive(path)`` for the current version of ``path``, computed once per version.

        Returns None when there is no file.
        """
        version = file_version(path)
        if version is None:
            return None
        key = (str(path), *version)
        value = self.get(key)
        if value is None:
            value = derive(path)
            self.put(key, value)
        return value


_FILE_BYTES = KeptByVersion(MAX_KEPT_FILES)
# The contents that passed their format's check: a verdict per (check, bytes).
_CHECKED = KeptByVersion(MAX_KEPT_FILES)


def _size_words(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 2**10} kB"


@contextlib.contextmanager
def open_regular(path: Path, limit: int, follow_links: bool = False) -> Iterator[BinaryIO]:
    """Open ``path`` for reading only if it is a regular file of at most ``limit`` bytes.

    A FIFO would block the reader forever and a device (``/dev/zero``) never ends, so
    neither is opened for reading; a link is refused unless ``follow_links`` (the lab never
    writes one into a run, and one could point anywhere).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    DamagedRunError
        If it is a link, not a regular file, or larger than ``limit``.
    """
    path = Path(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        handle = os.open(path, flags)
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise
        if not follow_links and path.is_symlink():
            raise DamagedRunError(f"{path.name} is a link, which the lab does not follow") from None
        raise DamagedRunError(f"{path.name} cannot be opened ({error.strerror})") from None
    with os.fdopen(handle, "rb") as opened:
        found = os.fstat(handle)
        if not file_modes.S_ISREG(found.st_mode):
            raise DamagedRunError(f"{path.name} is not a regular file")
        if found.st_size > limit:
            raise DamagedRunError(f"{path.name} is larger than {_size_words(limit)}")
        yield opened


def read_bytes(path: Path, limit: int, follow_links: bool = False) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them (see `open_regular`).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    DamagedRunError
        If it is a link, not a regular file, or larger than ``limit`` (also while it grows).
    """
    with open_regular(path, limit, follow_links) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise DamagedRunError(f"{Path(path).name} is larger than {_size_words(limit)}")
    return data


def _kept_or_read(
    path: Path, limit: int, kept: KeptByVersion, follow_links: bool = False
) -> tuple[Any, os.stat_result | None, bytes]:
    """The value kept for the current version of ``path``, else its bytes and their stat.

    Returns ``(value, None, b"")`` for a kept version, ``(None, stat, bytes)`` after a read.
    """
    found = os.stat(path, follow_symlinks=follow_links)
    value = kept.get((str(path), *_version(found)))
    if value is not None and file_modes.S_ISREG(found.st_mode):
        return value, None, b""
    with open_regular(path, limit, follow_links) as handle:
        read_stat = os.fstat(handle.fileno())
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise DamagedRunError(f"{Path(path).name} is larger than {_size_words(limit)}")
    return None, read_stat, data


def read_kept(
    path: Path,
    limit: int,
    derive: Callable[[bytes], Any],
    kept: KeptByVersion,
    follow_links: bool = False,
    keep_up_to: int | None = None,
) -> Any:
    """``derive`` of the bytes of the regular file ``path``, computed once per version.

    Pages read each run's files several times per rerun, and a class reruns at once; under
    a class each read hands the interpreter to another session, so a stat is all a known
    version costs. A value is stored under the stat of the opened file itself, so it always
    matches what was read, even when the file was replaced in between; a link, FIFO or
    device is refused as `read_bytes` refuses it, kept version or not.

    Parameters
    ----------
    path : Path
    limit : int
        The most bytes the file may take.
    derive : callable
        Bytes -> the value kept (the bytes themselves, parsed records...); shared by every
        caller, so not to be modified.
    kept : KeptByVersion
        Where the values are kept.
    follow_links : bool, default False
    keep_up_to : int, optional
        Only files of at most this many bytes are kept; all when None.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    DamagedRunError
        As `read_bytes`.
    """
    value, read_stat, data = _kept_or_read(path, limit, kept, follow_links)
    if read_stat is None:
        return value
    value = derive(data)
    if len(data) == read_stat.st_size and (keep_up_to is None or len(data) <= keep_up_to):
        kept.put((str(path), *_version(read_stat)), value)
    return value


def read_growing(
    path: Path, limit: int, parse: Callable[[bytes], list], kept: KeptByVersion
) -> list:
    """``parse`` of the lines of the regular file ``path``, a log that grows by whole lines.

    As `read_kept`, a known version costs a stat. A new version of the same file whose
    start is unchanged (checked by digest, so a file rewritten in place is parsed afresh) has
    only its new complete lines parsed: a live run's records grow every second, and every
    page of a class reads them again.

    Parameters
    ----------
    path : Path
    limit : int
        The most bytes the file may take.
    parse : callable
        Bytes of whole lines -> a list of items, each line parsed on its own (a line that
        does not parse gives none), so that the items of two parts joined are the items of
        the whole.
    kept : KeptByVersion
        Where each version's items, and the file's parsed start, are kept.

    Returns
    -------
    list
        Shared by every caller: not to be modified.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    DamagedRunError
        As `read_bytes`.
    """
    value, read_stat, data = _kept_or_read(path, limit, kept)
    if read_stat is None:
        return value
    # Whole lines only go into the kept start: the last one may still be being written.
    whole = data.rfind(b"\n") + 1
    start_key = (str(path), read_stat.st_ino, "start")
    start = kept.get(start_key)
    if start is not None and start[0] <= whole and start[1] == _digest(data[: start[0]]):
        lines = start[2] + parse(data[start[0] : whole])
    else:
        lines = parse(data[:whole])
    kept.put(start_key, (whole, _digest(data[:whole]), lines))
    value = lines + parse(data[whole:])
    if len(data) == read_stat.st_size:
        kept.put((str(path), *_version(read_stat)), value)
    return value


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _file_bytes(path: Path, limit: int, follow_links: bool) -> bytes:
    """The bytes of ``path``: small files (settings, status) are kept per version."""
    return read_kept(path, limit, bytes, _FILE_BYTES, follow_links, MAX_KEPT_FILE_BYTES)


def _whole(digits: str) -> int | float:
    """A JSON whole number; one too long for Python's `int` reads as an infinite float."""
    return int(digits) if len(digits.lstrip("-")) <= MAX_DIGITS else float(digits)


def _parsed(text: str) -> Any:
    """``text`` as JSON; a number of more than 4,300 digits reads as an infinite float.

    Python refuses to parse such a number (``sys.int_info.str_digits_check_threshold``):
    read so, the field that holds it is refused as not finite, by its name. Only such a file
    pays for the slower parsing.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:
        return json.loads(text, parse_int=_whole)


def read_json(
    path: Path,
    limit: int = MAX_JSON_BYTES,
    follow_links: bool = False,
    check: Callable[[dict], bool] | None = None,
) -> dict:
    """Read a JSON object from the regular file ``path``.

    Parameters
    ----------
    path : Path
        The file; a link is refused unless ``follow_links``.
    limit : int, default `MAX_JSON_BYTES`
        The most bytes the format may take.
    follow_links : bool, default False
        Whether a link is followed (a user's own file given on the command line).
    check : callable, optional
        The format's check of the object: raises `DamagedRunError` unless every field is
        well formed, and returns whether that verdict is final. A final verdict is kept
        with the file's bytes, so the same content is not checked again.

    Raises
    ------
    DamagedRunError
        If the file is missing, empty, truncated, not JSON, nested too deeply, larger than
        ``limit``, a link, a FIFO or device, or is not a JSON object; or as ``check``.
    """
    path = Path(path)
    try:
        data = _file_bytes(path, limit, follow_links)
        value = _parsed(data.decode())
    except FileNotFoundError:
        raise DamagedRunError(f"{path.name} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DamagedRunError(f"{path.name} is not valid JSON ({error})") from None
    except RecursionError:
        raise DamagedRunError(f"{path.name} is nested too deeply to be settings") from None
    if not isinstance(value, dict):
        raise DamagedRunError(f"{path.name} does not hold a JSON object")
    if check is not None and _CHECKED.get((check, data)) is None and check(value):
        if len(data) <= MAX_KEPT_FILE_BYTES:
            _CHECKED.put((check, data), True)
    return value


def read_arrays(
    path: Path, names: tuple[str, ...] | list[str] | None, limit: int = MAX_ARRAYS_BYTES
) -> dict:
    """The named arrays of an ``.npz`` file, read without ever unpickling.

    Parameters
    ----------
    path : Path
        The regular file (links, FIFOs and devices are refused).
    names : sequence of str or None
        The arrays to read; None for every one the file holds.
    limit : int, default `MAX_ARRAYS_BYTES`
        The most bytes the file may take.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    DamagedRunError
        If it is not a readable ``.npz``, holds pickled objects, lacks one of ``names``, is
        larger than ``limit`` or is not a regular file.
    """
    import zipfile

    import numpy as np

    path = Path(path)
    try:
        with open_regular(path, limit) as handle, np.load(handle, allow_pickle=False) as archive:
            return {name: archive[name] for name in (archive.files if names is None else names)}
    except (FileNotFoundError, DamagedRunError):
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DamagedRunError(f"{path.name} is unreadable ({error})") from None
