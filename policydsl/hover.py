"""Hover: what a name of a policy means, as Markdown, from the symbol index (`symbols`): an
attribute's declared type, a definition's body and type, a rule's effect and clauses, a table
row's rules with their file and line, an effect's rank; and the names the language provides.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from policydsl import datetimes, nodes
from policydsl.pieces import absolute
from policydsl.source import Source, Span
from policydsl.symbols import Index, Place, Symbol, TableRow

MAX_HOVER_LINES = 14
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
BUILTIN_DOCS = {
    "decision": "the decision, the strongest effect among the rules that fired (outputs only)",
    "fired": "the rules that fired, each with `id`, `effect`, `cite`, `tags` and its annotations"
    " (outputs only)",
    "size": "`size(xs)`: the number of elements of a set or list, or of keys of a map",
    "keys": "`keys(m)`: a map's keys, a `set<string>`",
    "values": "`values(m)`: a map's values, a list in the request's order",
    "is_ipv4": "`is_ipv4(source)`: the `ip` is an IPv4 address",
    "is_ipv6": "`is_ipv6(source)`: the `ip` is an IPv6 address (IPv4-mapped ones too)",
    "is_loopback": "`is_loopback(source)`: the `ip` is in `127.0.0.0/8` or is `::1`",
    "is_multicast": "`is_multicast(source)`: the `ip` is in `224.0.0.0/4` or `ff00::/8`",
    "obligated": "the obligations of the decision (properties only)",
    "monotone": "`monotone(OUTPUT, ATTRIBUTE)`: the output never lightens as the attribute grows"
    " (properties only)",
    **datetimes.DOCS,
}
RULE_FIELD_DOCS = {
    "id": "a fired rule's id: `string` (`name[key]` for a table's rule)",
    "effect": "a fired rule's effect",
    "cite": "a fired rule's citations: `set<string>`",
    "tags": "a fired rule's tags: `set<string>`",
}


def hover(index: Index, file: str, offset: int) -> tuple[str, Place] | None:
    """Markdown for what is under `offset`, with the range it describes."""
    occ = index.at(file, offset)
    row = index.row_at(file, offset)
    if occ is not None and occ.key in index.symbols:
        text = describe(index, index.symbols[occ.key])
        text = text + "\n\n---\n" + _describe_row(index, row) if row else text
        return text, Place(occ.source, occ.start, occ.end)
    if row is not None:
        return _describe_row(index, row), Place(row.source, row.start, row.end)
    return _builtin(index, file, offset)


def _builtin(index: Index, file: str, offset: int) -> tuple[str, Place] | None:
    """What the language itself names: `decision`, `fired`, `size`, a fired rule's fields."""
    if file not in index.files:
        return None
    source = index.files[file][0]
    text = source.text
    start = offset
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    word = _NAME.match(text, start)
    if word is None:
        return None
    name = word.group(0)
    after_dot = text[:start].rstrip().endswith(".")
    about = (RULE_FIELD_DOCS if after_dot else BUILTIN_DOCS).get(name)
    if about is None:
        return None
    return f"{_code(name)}\n{about}", Place(source, start, word.end())


def describe(index: Index, sym: Symbol) -> str:
    where = f"`{_place(sym.span)}`"
    node = sym.node
    match sym.kind:
        case "attribute":
            text = _code(_slice(node))
            owner = sym.name.split(".", 1)[0]
            if owner in index.entities and "." in sym.name:
                text += f"\nattribute `{sym.name.split('.', 1)[1]}` of entity `{owner}`"
            else:
                text += f"\ncontext attribute `{sym.name}`"
            return text + f", declared at {where}" + _entity_note(index, sym.name)
        case "entity":
            head = _first_lines(_slice(node), 1)
            fields = len(node.fields or ())
            return f"{_code(head)}\nentity type, {fields} attributes, {where}"
        case "member":
            uses = len(index.references(sym.key, include_decl=False))
            return f"{_code(sym.name)}\nmember of enum `{sym.parent}` ({where}), {uses} uses"
        case "effect":
            rank = index.effects.index(sym.name) + 1 if sym.name in index.effects else 0
            order = f"rank {rank} of {len(index.effects)}, strongest first"
            return f"{_code(_slice(node))}\neffect `{sym.name}`: {order}"
        case "definition":
            typed = _definition_type(index, sym.name)
            return _code(_slice(node)) + (f"\ntype `{typed}`" if typed else "") + f"\n{where}"
        case "table":
            rules = ", ".join(f"`{r.name.name}`" for r in index.rules_of_table.get(sym.name, []))
            rows = len(node.rows)
            head = _first_lines(_slice(node), len(node.columns) and 1)
            used = f"; rules: {rules}" if rules else ""
            return f"{_code(head)}\ntable of {rows} rows{used}, {where}"
        case "column":
            return f"{_code(_slice(node))}\ncolumn of table `{sym.parent}`, {where}"
        case "rule":
            return _describe_rule(index, node) + f"\n{where}"
        case "output":
            return f"{_code(_first_lines(_slice(node), 1))}\nderived output, {where}"
        case "variable" | "obligation" | "annotation" | "enum" | "context":
            return f"{_code(_slice(node))}\n{sym.kind} `{sym.name}`, {where}"
    return sym.name  # pragma: no cover - every kind is listed above


def _entity_note(index: Index, path: str) -> str:
    """For an attribute that holds an entity: which, and where it is declared (its attributes
    are read through it: `principal.manager.level`)."""
    entity = index.entity_of(path)
    if entity is None:
        return ""
    decl = index.entities[entity]
    parents = ", ".join(p.name for p in decl.parents)
    within = f" in [{parents}]" if parents else ""
    span = decl.name.span
    at = f", declared at `{_place(span)}`" if span is not None else ""
    return f"\n\nholds an entity `{entity}`{within}{at}; its attributes are read through it"


def _definition_type(index: Index, name: str) -> str | None:
    if index.checked is not None and name in index.checked.definitions:
        return str(index.checked.definitions[name].type)
    return None


def _describe_rule(index: Index, rule: nodes.RuleDecl) -> str:
    head = f"rule {rule.name.name}" + (f" for {rule.table.name}" if rule.table else "")
    lines = [f"{head}: {rule.effect.name}"]
    for clause in rule.clauses:
        if not isinstance(clause, nodes.WhenClause):
            lines.append("  " + " ".join(_slice(clause).split()))
    text = _code("\n".join(lines))
    if rule.table is not None:
        table = rule.table.name
        rows = [r for rs in index.rows.values() for r in rs if r.table == table]
        ids = ", ".join(f"`{rule.name.name}[{r.key}]`" for r in rows[:8])
        more = f" and {len(rows) - 8} more" if len(rows) > 8 else ""
        text += f"\none rule per row of table `{table}`: {ids}{more}"
    return text


def _describe_row(index: Index, row: TableRow) -> str:
    lines = [f"row `{row.key}` of table `{row.table}`, {_place_of(row.source, row.start)}"]
    for rule in index.rules_of_table.get(row.table, []):
        span = rule.name.span
        at = f", `{_place(span)}`" if span is not None else ""
        lines.append(f"- rule `{rule.name.name}[{row.key}]`: {rule.effect.name}{at}")
    if len(lines) == 1:
        lines.append("no rule reads this table")
    return "\n".join(lines)


def _slice(node: Any) -> str:
    span = getattr(node, "span", None)
    if span is None:
        return ""
    text: str = span.source.text[span.start : span.end]
    return _first_lines(text, MAX_HOVER_LINES)


def _first_lines(text: str, count: int) -> str:
    lines = text.splitlines()
    if len(lines) <= count:
        return text
    return "\n".join([*lines[:count], "  ..."])


def _code(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}policy\n{text}\n{fence}"


def _place(span: Span) -> str:
    file, start, _ = absolute(span.source, span.start, span.end)
    return _place_of(file, start)


def _place_of(source: Source, offset: int) -> str:
    line, col = source.line_col(offset)
    return f"{Path(source.name).name}:{line}:{col}"
