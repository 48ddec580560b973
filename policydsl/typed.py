"""What checking an expression works with: the scope a name is read in, and what it gives back
(`Typed`). Apart from `typecheck` so that the modules it hands parts of its work to (`time_check`,
`maps`, `reason_templates`) share them without importing it."""

from __future__ import annotations

from typing import Any

import attrs

from policydsl import typesys as t
from policydsl.source import Span


@attrs.frozen
class Typed:
    """A checked expression and its type (what `typecheck.ExprChecker.expr` gives)."""

    expr: Any
    type: t.Type


@attrs.define
class Scope:
    """What a name can mean at one point of an expression."""

    locals: dict[str, t.Type] = attrs.Factory(dict)
    outcome: bool = False  # `decision` and `fired` visible (inside outputs and definitions)
    columns: frozenset[str] = frozenset()
    # where each local and column is declared, so a name that would hide it can point there
    origins: dict[str, tuple[str, Span | None]] = attrs.Factory(dict)

    def bind(self, name: str, type_: t.Type, origin: tuple[str, Span | None]) -> Scope:
        locals_, origins = {**self.locals, name: type_}, {**self.origins, name: origin}
        return Scope(locals_, self.outcome, self.columns, origins)  # not `evolve`: slower
