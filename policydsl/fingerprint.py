"""A policy's fingerprint: what identifies one loaded policy across processes and machines.

A SHA-256 of its sources (each name relative to the set's common folder, so the same files
installed elsewhere fingerprint alike, and each text), the IR version (how the compiler reads them)
and the policydsl version. Logs and the decision service report it beside the author's `version`;
a worker process keeps the policies it unpickled by it (`Policy.__reduce__`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from policydsl.ir import IR_VERSION
from policydsl.source import Source
from policydsl.version import __version__

FORMAT = 1
SHORT = 16  # hex digits shown where a full digest would crowd a line (`policyc serve` logs)


def relative_names(sources: Sequence[Source]) -> list[str]:
    """Each source's name relative to the folder all of them share (`/`-separated)."""
    names = [s.name for s in sources]
    if not names:
        return []
    if len(names) == 1:
        return [os.path.basename(names[0]) or names[0]]
    try:
        root = os.path.commonpath(names)
    except ValueError:  # absolute and relative names mixed: keep them as given
        return names
    return [os.path.relpath(n, root).replace(os.sep, "/") if root else n for n in names]


def of(sources: Sequence[Source]) -> str:
    """The fingerprint, `sha256:` and 64 hex digits."""
    digest = hashlib.sha256(f"policydsl-fingerprint {FORMAT}\0{__version__}\0{IR_VERSION}".encode())
    for name, source in zip(relative_names(sources), sources, strict=True):
        data = source.text.encode("utf-8", "surrogatepass")
        digest.update(f"\0{len(name)}:{name}\0{len(data)}:".encode())
        digest.update(data)
    return "sha256:" + digest.hexdigest()


def short(fingerprint: str) -> str:
    """The first `SHORT` hex digits, for people."""
    return fingerprint.removeprefix("sha256:")[:SHORT]
