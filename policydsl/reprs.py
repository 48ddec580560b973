"""The `__repr__` of the syntax nodes, the checked model, the types, the IR, sources and
decisions, written once.

attrs writes a `__repr__` for each class it makes, as source text it compiles: a third of the
cost of making a class, and the package makes some seventy of them on every start-up. Classes
made with `@attrs.frozen(repr=False)` that derive from `Repr` print the same text for a fraction
of that: `Name(field=value, ...)`, the fields attrs would show (those not declared `repr=False`).
"""

from __future__ import annotations

import attrs


class Repr:
    """Base class giving an attrs class the `__repr__` attrs would have made for it (without its
    guard against cycles: these objects are trees)."""

    __slots__ = ()

    def __repr__(self) -> str:
        cls = type(self)
        fields: tuple[attrs.Attribute[object], ...] = cls.__attrs_attrs__  # type: ignore[attr-defined]
        shown = ", ".join(
            f"{a.name}={getattr(self, a.name, attrs.NOTHING)!r}"
            if a.repr is True
            else f"{a.name}={a.repr(getattr(self, a.name, attrs.NOTHING))}"
            for a in fields
            if a.repr is not False
        )
        return f"{cls.__qualname__.rsplit('>.', 1)[-1]}({shown})"
