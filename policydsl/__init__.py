"""policydsl: a declarative policy language for Python, its compiler and its evaluator."""

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
