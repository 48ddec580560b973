"""Table rows from a JSON file: `table allowed_repos(name: string, repos: list<string>) from
"allowed_repos.json"`, one rule instance per row, as Gatekeeper constraints are kept apart from
their template.

The file is a JSON array of rows: objects keyed by column (a missing key or `null` is `-`, the
absent cell) or arrays of cells in column order. Each row becomes the syntax a written row would
be, spanned over the row's own text in the file, so the checker checks it as any other row and
its diagnostics point at the file, line and column of the row. JSON is read strictly: a key given
twice, `NaN`, a number with a fraction or an object as a cell is refused, naming the row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

import attrs

from policydsl import nodes
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic, did_you_mean
from policydsl.source import Source, Span
from policydsl.typecheck import BUILTIN_TYPES

MAX_INT_DIGITS = 100  # as in the policy text
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"[ \t\n\r]*")

# Reads a data file (its path as the policy names it, resolved against the policy's folder):
# its source, or why it cannot be read.
Reader = Callable[[str], Source | Diagnostic]


class _Refused(ValueError):
    """A row or a cell that cannot be one; the message names what, the row is added after."""


_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+")


class _Fraction(str):
    """A JSON number with a fraction or an exponent, kept as written: not a cell (yet)."""


def data_path(table: nodes.TableDecl) -> str | None:
    """Where a table's rows are, as the loader reads them: the `from` path joined to the folder
    of the file that declares the table (unchanged when absolute)."""
    if table.source is None or table.source.span is None:
        return None
    declared_in = PurePath(table.source.span.source.name)
    return str(declared_in.parent / table.source.value)


def attach(
    files: list[nodes.PolicyFile], read: Reader
) -> tuple[list[nodes.PolicyFile], list[Source], list[Diagnostic]]:
    """The files with the rows of each `from` table read in, the data files read (each once),
    and the problems found reading them."""
    sources: dict[str, Source] = {}
    problems: list[Diagnostic] = []
    done: list[nodes.PolicyFile] = []
    for file in files:
        decls = list(file.decls)
        for i, decl in enumerate(decls):
            path = data_path(decl) if isinstance(decl, nodes.TableDecl) else None
            if path is None:
                continue
            assert isinstance(decl, nodes.TableDecl)
            source = sources.get(path)
            if source is None:
                found = read(path)
                if isinstance(found, Diagnostic):
                    where = decl.source.span if decl.source is not None else None
                    problems.append(attrs.evolve(found, span=found.span or where))
                    continue
                source = sources[path] = found
            rows, found_problems = rows_of(decl, source)
            problems.extend(found_problems)
            decls[i] = attrs.evolve(decl, rows=rows)
        done.append(attrs.evolve(file, decls=tuple(decls)) if decls != list(file.decls) else file)
    return done, list(sources.values()), problems


def rows_of(
    table: nodes.TableDecl, source: Source
) -> tuple[tuple[nodes.Row, ...], list[Diagnostic]]:
    """The rows a data file holds for `table`, and what is wrong with it."""
    text = source.text
    problems: list[Diagnostic] = []
    at = _SPACE.match(text).end()  # type: ignore[union-attr]  # matches the empty string
    if not text.startswith("[", at):
        span = Span(source, at, min(at + 1, len(text)))
        return (), [_problem("the file must hold a JSON array of rows", span)]
    decoder = json.JSONDecoder(
        object_pairs_hook=_no_repeated_keys,
        parse_float=_Fraction,
        parse_constant=_no_constant,
    )
    rows: list[nodes.Row] = []
    at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    number = 0
    while not text.startswith("]", at):
        number += 1
        try:
            value, end = decoder.raw_decode(text, at)
        except _Refused as err:  # a key twice, `NaN`: where the row starts, and no further
            problems.append(_problem(f"row {number}: {err}", Span(source, at, at + 1)))
            return tuple(rows), problems
        except (ValueError, RecursionError) as err:
            message = err.msg if isinstance(err, json.JSONDecodeError) else str(err) or "too deep"
            span = Span(source, getattr(err, "pos", at), getattr(err, "pos", at) + 1)
            problems.append(_problem(f"row {number} is not JSON: {message}", span))
            return tuple(rows), problems
        span = Span(source, at, end)
        try:
            rows.append(nodes.Row(_cells(table, value, span), span=span))
        except _Refused as err:
            problems.append(_problem(f"row {number}: {err}", span))
        at = _SPACE.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith(",", at):
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
        elif not text.startswith("]", at):
            span = Span(source, at, min(at + 1, len(text)))
            problems.append(_problem(f"expected `,` or `]` after row {number}", span))
            return tuple(rows), problems
    rest = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    if rest < len(text):
        problems.append(_problem("text after the array of rows", Span(source, rest, rest + 1)))
    return tuple(rows), problems


def _cells(table: nodes.TableDecl, value: Any, span: Span) -> tuple[Any, ...]:
    columns = {c.name.name: c for c in table.columns}
    if isinstance(value, dict):
        for key in value:
            if key not in columns:
                hint = did_you_mean(key, columns)
                raise _Refused(
                    f"unknown column `{key:.60}`"
                    + (f" ({hint})" if hint else "")
                    + "; columns: "
                    + ", ".join(columns)
                )
        picked = [value.get(c.name.name) for c in table.columns]
    elif isinstance(value, list):
        picked = value  # a count that differs is the checker's to report, as for a written row
    else:
        raise _Refused(f"a row is an object of columns or an array of cells, not {_kind(value)}")
    types = [c.type for c in table.columns] + [None] * max(0, len(picked) - len(table.columns))
    return tuple(_cell(v, t, span, top=True) for v, t in zip(picked, types, strict=False))


def _cell(value: Any, type_: Any, span: Span, *, top: bool = False) -> Any:
    """A JSON value as the cell a row would hold: `null` is `-` (at the top of a cell only), a
    string in an enum column a member's name."""
    if isinstance(type_, nodes.OptionalType):
        type_ = type_.inner
    if value is None and top:
        return nodes.Absent(span=span)
    if isinstance(value, bool):
        return nodes.BoolLit(value, span=span)
    if isinstance(value, _Fraction):
        if not (isinstance(type_, nodes.NamedType) and type_.name == "decimal"):
            raise _Refused(f"`{value:.40}` has a fraction; cells hold integers")
        if _DECIMAL.fullmatch(value) is None:  # `8.5e-1`: a decimal is written with its point
            raise _Refused(f"`{value:.40}` is not written as a decimal (`0.85`)")
        return nodes.DecLit(str(value), span=span)  # checked as a written literal is
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_INT_DIGITS:
            raise _Refused(f"an integer of more than {MAX_INT_DIGITS} digits")
        return nodes.IntLit(value, span=span)
    if isinstance(value, str):
        enum = isinstance(type_, nodes.NamedType) and type_.name not in BUILTIN_TYPES
        if enum and _NAME.fullmatch(value):
            return nodes.Path((value,), span=span)
        return nodes.StrLit(value, span=span)
    if isinstance(value, list):
        element = type_.element if isinstance(type_, nodes.CollectionType) else None
        return nodes.ListLit(tuple(_cell(v, element, span) for v in value), span=span)
    raise _Refused(f"a cell cannot be {_kind(value)}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return kinds.get(type(value), "a number")


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Refused(f"the key `{key:.60}` is given twice")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise _Refused(f"`{name}` is not a number JSON allows")


def _problem(message: str, span: Span) -> Diagnostic:
    return Diagnostic(
        Code.DATA_NOT_ROWS,
        message,
        span,
        help="a table's data file is a JSON array of rows: objects keyed by column, or arrays "
        "of cells in column order",
    )
