"""policydsl: a declarative policy language for Python, its compiler and its evaluator.

`format_source` is imported on first use (PEP 562): loading and deciding never need the
formatter, and a fresh process pays for every module it imports.
"""

from typing import TYPE_CHECKING, Any

from policydsl.context import ContextError
from policydsl.decision import Decision, EvaluationError
from policydsl.diagnostics import Diagnostic, PolicyError
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

if TYPE_CHECKING:
    from policydsl.formatter import format_source

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "ContextError",
    "Decision",
    "Diagnostic",
    "EvaluationError",
    "Policy",
    "PolicyError",
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
    raise AttributeError(f"module 'policydsl' has no attribute {name!r}")
