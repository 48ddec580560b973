"""policydsl: a declarative policy language for Python, its compiler and its evaluator.

`format_source`, `Diagnostic`, `PolicyError`, `EntityDataError` and `PolicyHolder` are imported
on first use (PEP 562): deciding never needs the formatter, a standard library loaded from its
compiled artifact never makes a diagnostic, and a fresh process pays for every module it
imports.
"""

from typing import TYPE_CHECKING, Any

from policydsl.context import ContextError
from policydsl.decision import Decision, EvaluationError
from policydsl.engine import (
    BACKENDS,
    Policy,
    check,
    compile_policy,
    load,
    load_stdlib,
    loads,
    stdlib_path,
)
from policydsl.entities import Entity, EntityStore
from policydsl.version import __version__

if TYPE_CHECKING:
    from policydsl.diagnostics import Diagnostic, PolicyError
    from policydsl.entity_data import EntityDataError
    from policydsl.formatter import format_source
    from policydsl.reload import PolicyHolder


__all__ = [
    "BACKENDS",
    "ContextError",
    "Decision",
    "Diagnostic",
    "Entity",
    "EntityDataError",
    "EntityStore",
    "EvaluationError",
    "Policy",
    "PolicyError",
    "PolicyHolder",
    "__version__",
    "check",
    "compile_policy",
    "format_source",
    "load",
    "load_stdlib",
    "loads",
    "stdlib_path",
]


def __getattr__(name: str) -> Any:
    if name == "format_source":
        from policydsl.formatter import format_source

        return format_source
    if name == "EntityDataError":
        from policydsl.entity_data import EntityDataError

        return EntityDataError
    if name == "PolicyHolder":
        from policydsl.reload import PolicyHolder

        return PolicyHolder
    if name in ("Diagnostic", "PolicyError"):
        from policydsl import diagnostics

        return getattr(diagnostics, name)
    raise AttributeError(f"module 'policydsl' has no attribute {name!r}")
