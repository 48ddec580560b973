"""Tables read as data: a table's name in an expression is the list of its rows, each a record
of its columns, so a rule can look up reference data by a value of the request:

    table grants(user: string, action: string, level: int) { ... }      # a key may repeat
    rule may_publish: allow {
      when some g in grants: g.user == user.id and g.action == "publish" and g.level >= 2
    }

The rows are constants known when the policy is checked. A table no rule is written `for` is a
relation: its first column need not be unique. Lowering gives a `some` over a table whose test
starts with `row.column == value` an index on that column (`lower`), so a lookup costs the rows
with that value, not the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from policydsl import nodes
from policydsl import typesys as t
from policydsl.render import TABLE_ROW


class Row(dict[str, Any]):
    """One row of a table read as data: a record of its cells (an absent cell is no key, as an
    absent optional attribute is). Hashable and never changed: a constant of the policy."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("a table's row is a constant")

    def __reduce__(self) -> Any:
        return (Row, (dict(self),))


class RowIndex(dict[Any, tuple[Row, ...]]):
    """A table's rows by the value of one column: what `RowsWhere` looks up. Hashable and never
    changed, as a constant of the compiled policy is."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __setitem__(self, key: Any, value: tuple[Row, ...]) -> None:
        raise TypeError("a table's index is a constant")

    def __reduce__(self) -> Any:
        return (RowIndex, (dict(self),))


def index(rows: Sequence[Row], column: str) -> RowIndex:
    """`rows` by their value in `column` (a row without one is in no entry)."""
    found: dict[Any, list[Row]] = {}
    for row in rows:
        if column in row:
            found.setdefault(row[column], []).append(row)
    return RowIndex({value: tuple(group) for value, group in found.items()})


def rows_type(
    table: nodes.TableDecl, column_type: Callable[[nodes.Column], tuple[t.Type, bool]]
) -> t.CollectionType:
    """`list<{column: type, ...}>`: the record type of the table's rows, named for the table."""
    fields = tuple(
        t.FieldType(c.name.name, ty, optional=optional)
        for c in table.columns
        for ty, optional in [column_type(c)]
    )
    return t.CollectionType("list", t.RecordType(f"{TABLE_ROW}`{table.name.name}`", fields))


def rows_of(table: nodes.TableDecl, values: Sequence[list[Any]]) -> tuple[Row, ...]:
    """Each row's record (cells already checked: `values` per row, in column order)."""
    names = [c.name.name for c in table.columns]
    return tuple(
        Row({n: v for n, v in zip(names, row, strict=True) if v is not None}) for row in values
    )
