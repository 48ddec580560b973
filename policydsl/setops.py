"""`contains_any` and `contains_all`, shared by every backend: linear in the sizes of both sides.

Comparing every pair made `xs contains_any ys` quadratic (seconds for two 10,000-element lists).
"""

from __future__ import annotations

from typing import Any

# Below this many wanted elements, scanning `items` for each beats building a set of it.
_FEW = 4


def contains_any(items: Any, wanted: Any) -> bool:
    """`items contains_any wanted`: they share an element. In time linear in both sizes: a set
    is built of one side unless one is already a set or `wanted` is tiny. Elements are scalars
    (the checker's types, a validated request), so hashing agrees with `==`; anything
    unhashable falls back to comparing pairs."""
    try:
        if items.__class__ is frozenset:
            return not items.isdisjoint(wanted)
        if wanted.__class__ is frozenset:
            return not wanted.isdisjoint(items)
        if len(wanted) <= _FEW or not items:
            return any(w in items for w in wanted)
        return not frozenset(items).isdisjoint(wanted)
    except TypeError:  # an unhashable element
        return any(w in items for w in wanted)


def contains_all(items: Any, wanted: Any) -> bool:
    """`items contains_all wanted`: every element of `wanted` is in `items`; linear, as above."""
    try:
        if items.__class__ is frozenset:
            return items.issuperset(wanted)
        if len(wanted) <= _FEW:
            return all(w in items for w in wanted)
        return frozenset(items).issuperset(wanted)
    except TypeError:  # an unhashable element
        return all(w in items for w in wanted)
