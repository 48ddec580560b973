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
from policydsl.model import Const
from policydsl.render import TABLE_ROW
from policydsl.typed import Typed


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


class Reader:
    """What the expression checker reads a table's name as (`ExprChecker.relation`): its rows,
    typed `list<{column: type}>`, each table's made once. `row_values` gives a row's checked
    cells, `column_type` a column's (type, optional), `error` reports as the checker does."""

    def __init__(
        self,
        tables: dict[str, nodes.TableDecl],
        row_values: Callable[[nodes.TableDecl, nodes.Row], list[Any]],
        column_type: Callable[[nodes.Column], tuple[t.Type, bool]],
        error: Callable[..., None],
    ) -> None:
        self.tables = tables
        self.row_values = row_values
        self.column_type = column_type
        self.error = error
        self.made: dict[str, tuple[Row, ...]] = {}

    def __call__(self, path: nodes.Path) -> Typed:
        table = self.tables[path.parts[0]]
        type_ = rows_type(table, self.column_type)
        if len(path.parts) > 1:
            from policydsl.codes import Code  # only checking reports: loading never imports it

            self.error(
                Code.NO_ATTRIBUTES,
                f"table `{table.name.name}` is a list of rows, which has no attributes",
                path.span,
                help="read a row's columns through a quantifier: "
                f"`some r in {table.name.name}: r.{path.parts[1]} == ...`",
            )
            return Typed(Const(None, span=path.span), t.ANY)
        return Typed(Const(self.rows(table), span=path.span, type=type_), type_)

    def rows(self, table: nodes.TableDecl) -> tuple[Row, ...]:
        """A table's rows as records (rows of the wrong length are left out: the table's check
        reports them)."""
        name = table.name.name
        if name not in self.made:
            self.made[name] = ()  # while its rows are read: a cell naming it reads none
            width = len(table.columns)
            values = [self.row_values(table, r) for r in table.rows if len(r.cells) == width]
            self.made[name] = rows_of(table, values)
        return self.made[name]
