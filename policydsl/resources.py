"""Data files (the grammar and the standard library) found the same way installed or in a checkout.

An installed package carries them as `policydsl/grammar/` and `policydsl/stdlib_rules/` (see
`setup.cfg`); a source checkout keeps them at the repository's top level.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _data_dir(name: str) -> Path:
    """The installed copy when there is one, otherwise the checkout's top-level folder."""
    installed = importlib.resources.files("policydsl").joinpath(name)
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    return _CHECKOUT / name


def grammar_path() -> Path:
    return _data_dir("grammar") / "policy.lark"


def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def stdlib_path() -> Path:
    """The folder of the standard library's `.policy` files (the usage policy)."""
    return _data_dir("stdlib_rules")
