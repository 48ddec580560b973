"""The user's cache of parser tables: JSON data under a key, never code, never another's file.

Building the LALR tables costs more than loading the whole standard library once they exist, so
`lark_grammar` keeps them on disk between processes. Lark's own `cache=` option is not used: it
stores a pickle (loading an attacker's pickle runs the attacker's code) and defaults to a path in
the shared temporary folder. This module stores plain JSON data instead, read only when it is
safe to:

- Where: `$POLICYDSL_CACHE_DIR` when set (`off` turns the cache off), else
  `$XDG_CACHE_HOME/policydsl`, else `~/.cache/policydsl`. The folder is created with mode 0o700
  and used only while it is a directory of the current user's that nobody else can write to, so
  a shared temporary folder is never used even when named.
- Reading: the file is opened without following a symlink and checked on the open descriptor
  (no race between check and read): a regular file of the current user's, writable by nobody
  else, of a sane size. Its first line holds the key and the CRC-32 of the rest; the rest is
  decoded only when both match, so a truncated, corrupt or stale file reads as missing. The
  checksum is there to catch damage, not forgery (whoever could forge a file could also have
  computed any digest of it: the owner and mode checks keep others out), and a CRC-32 needs no
  `hashlib`, whose import (OpenSSL) cost a compiled artifact's load ~3 ms.
- Writing: to a private temporary file (mode 0o600) in the same folder, then renamed over the
  old one, so a reader sees the old file or the new one, never half of one.

Every failure (a read-only home, no home, a full disk, a bad file) reads as "not cached": the
caller builds the tables and the program goes on. Platforms without POSIX owners (Windows) keep
no cache. JSON has no tuples and no integer keys, which the tables use, so both are tagged.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any

ENV_VAR = "POLICYDSL_CACHE_DIR"
OFF = "off"
MAX_BYTES = 16 * 1024 * 1024  # tables are ~200 KB; anything far larger is not ours
MAX_HEADER = 64 * 1024  # a key names at most the files it follows (`artifact`: ~4 KB)
_TUPLE = "\x00tuple"  # NUL never occurs in a name Lark gives a key
_INT_KEYS = "\x00int-keyed"
_OTHERS_MAY_WRITE = stat.S_IWGRP | stat.S_IWOTH


def cache_dir() -> Path | None:
    """The folder this user's cache lives in (not yet created), or None when caching is off."""
    chosen = os.environ.get(ENV_VAR, "")
    if chosen.strip().lower() == OFF:
        return None
    if chosen:
        return Path(chosen)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):  # the XDG spec: a relative value is ignored
        return Path(xdg) / "policydsl"
    try:
        return Path.home() / ".cache" / "policydsl"
    except RuntimeError:  # no home to find
        return None


def read(folder: Path, name: str, key: str) -> Any | None:
    """The data stored under `name` if it is there, safe to read, and stored under `key`."""
    if not hasattr(os, "geteuid") or not _private_dir(folder):
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(folder / name, flags)
    except OSError:  # missing, a symlink, unreadable
        return None
    try:
        with os.fdopen(fd, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not _private_file(info) or info.st_size > MAX_BYTES:
                return None
            header = stream.readline(MAX_HEADER)
            body = stream.read(MAX_BYTES)
    except OSError:
        return None
    try:
        meta = json.loads(header)
        if meta != {"key": key, "crc32": binascii.crc32(body)}:
            return None
        return json.loads(body, object_hook=_decode)
    except ValueError:  # not JSON, not UTF-8: corrupt
        return None


def write(folder: Path, name: str, key: str, data: Any) -> bool:
    """Store `data` under `name` (atomically, privately); False when it could not be stored."""
    if not hasattr(os, "geteuid"):
        return False
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return False
    if not _private_dir(folder):
        return False
    try:
        body = json.dumps(_encode(data), separators=(",", ":")).encode("ascii")
    except (TypeError, ValueError):  # data JSON cannot hold
        return False
    header = json.dumps({"key": key, "crc32": binascii.crc32(body)}).encode()
    if len(header) >= MAX_HEADER:
        return False
    import tempfile  # writing only: a cached load never needs it

    try:
        fd, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)  # mode 0o600
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(header + b"\n" + body)
        os.replace(temporary, folder / name)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


def _private_dir(folder: Path) -> bool:
    """A directory of the current user's that no one else can write to (so no one else can put
    or swap files in it)."""
    try:
        info = os.stat(folder)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & _OTHERS_MAY_WRITE
    )


def _private_file(info: os.stat_result) -> bool:
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & _OTHERS_MAY_WRITE
    )


def _encode(value: Any) -> Any:
    """JSON-ready: tuples and dicts with keys other than strings are tagged."""
    if isinstance(value, dict):
        if all(type(k) is str for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {_INT_KEYS: [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if _TUPLE in obj:
            return tuple(obj[_TUPLE])
        if _INT_KEYS in obj:
            return dict(obj[_INT_KEYS])
    return obj
