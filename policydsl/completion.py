"""Completion: what may be typed at a point of a policy, read from the text before the cursor and
the set's symbol index (the index outlives a half-typed declaration, the text is the latest).

Attribute paths after a `.`, enum members where an enum is expected, effects after a rule's `:`,
obligations in `obligations [...]`, tables after `for`, and otherwise the names in scope and the
grammar's keywords. Pure Python, no editor protocol.
"""

from __future__ import annotations

import re

import attrs

from policydsl import nodes
from policydsl.builtin_names import BUILTIN_TYPES, FUNCTIONS
from policydsl.lark_grammar import reserved_words
from policydsl.symbols import RULE_FIELDS, Index, Symbol

_WINDOW = 2000  # characters before the cursor that decide what fits there

_PATH = re.compile(r"((?:[A-Za-z_]\w*\s*\.\s*)+)(\w*)$")
_RULE_EFFECT = re.compile(r"\brule\s+\w+(?:\s+for\s+\w+)?\s*:\s*\w*$")
_RULE_FOR = re.compile(r"\brule\s+\w+\s+for\s+\w*$")
_OBLIGATIONS = re.compile(r"\bobligations\s*\[[\w\s,]*$")
# `\Z`: the cursor's own line (`$` would match the end of an `effects` line far above it)
_EFFECTS = re.compile(r"^effects\b[^\n]*(?:>|\bdefault|\brefuse)\s*\w*\Z", re.MULTILINE)
_COMPARED = re.compile(
    r"([A-Za-z_][\w.]*)\s*(?:==|!=|\bnot\s+in\b|\bin\b|\bcontains_any\b|\bcontains_all\b"
    r"|\bcontains\b)\s*(?:\[[\w\s,]*)?\w*$"
)
_DEFAULT = re.compile(
    r"\w+\s*:\s*(?:set<|list<|map<string,\s*)?(\w+)[^\n=]*=\s*(?:\[[\w\s,]*)?\w*$"
)
# a type is expected: `  owner: Us`, `{ readers: set<Te`, `entity User in [Te` (not `rule r: a`)
_TYPE_EXPECTED = re.compile(
    r"(?:(?:^|\{)\s*\w+\s*:\s*(?:set<|list<|map<string,\s*)?"
    r"|^\s*entity\s+\w+\s+in\s+(?:\[\s*(?:\w+\s*,\s*)*)?)\w*$"
)
_CLAUSE = re.compile(r"^\s*(\w+)\s+\w*$", re.MULTILINE)
_OUTPUT = re.compile(r"\boutput\s+\w+\s*:\s*(\w+)")
_ARROW = re.compile(r"=>\s*\w*$")
_RULE = re.compile(r"^rule\s+\w+(?:\s+for\s+(\w+))?", re.MULTILINE)  # the table, if any
# a line whose text before the cursor ends inside a comment or an open string
_IN_COMMENT_OR_STRING = re.compile(r'^(?:[^"#]|"(?:[^"\\]|\\.)*")*(?:#|"(?:[^"\\]|\\.)*$)')
_FIRED_VAR = re.compile(r"\b(?:some|all)\s+(\w+)\s+in\s+fired\b")
_BOUND = re.compile(r"\b(?:some|all)\s+(\w+)\s+in\s+([A-Za-z_][\w.]*)")


@attrs.frozen
class Item:
    """One completion; `kind` is a symbol's kind or `keyword`, `type`, `function`, `field`."""

    label: str
    kind: str
    detail: str = ""
    first: bool = False  # sorted before the rest: what the position expects


def complete(index: Index, text: str, offset: int) -> list[Item]:
    """What may be typed at `offset` of `text`."""
    before = text[max(0, offset - _WINDOW) : offset]
    line = before.rsplit("\n", 1)[-1]
    if _IN_COMMENT_OR_STRING.match(line):
        return []
    path = _PATH.search(line)
    if path is not None:
        return _after_dot(index, before, path.group(1))
    if _RULE_FOR.search(before):
        return [Item(s.name, "table", "table", True) for s in index.of_kind("table")]
    if _RULE_EFFECT.search(before) or _EFFECTS.search(before):
        return _effects(index)
    if _OBLIGATIONS.search(before):
        return [Item(s.name, "obligation", "obligation", True) for s in index.of_kind("obligation")]
    if _TYPE_EXPECTED.search(line):  # an attribute's type, an entity's parents: types first
        types = [Item(s.name, "entity", "entity", True) for s in index.of_kind("entity")]
        types += [Item(s.name, "enum", "enum", True) for s in index.of_kind("enum")]
        types += [Item(name, "type", "type", True) for name in BUILTIN_TYPES]
        return types + _in_scope(index, before, exclude={i.label for i in types})
    expected = _expected_enum(index, before, line)
    items = _members(index, expected) if expected else []
    return items + _in_scope(index, before, exclude={i.label for i in items})


def _after_dot(index: Index, before: str, prefix: str) -> list[Item]:
    parts = [p.strip() for p in prefix.split(".") if p.strip()]
    if parts[0] in {s.name for s in index.children_of("")}:  # through entities: `principal.`
        return _attributes(index, index.children_at(parts))
    if len(parts) == 1 and f"enum:{parts[0]}" in index.symbols:
        return _members(index, parts[0])
    if len(parts) == 1 and parts[0] in _FIRED_VAR.findall(before):
        fields = [Item(name, "field", "of a fired rule", True) for name in RULE_FIELDS]
        notes = [
            Item(s.name, "annotation", "annotation", True) for s in index.of_kind("annotation")
        ]
        return fields + notes
    entity = _element_entity(index, before, parts[0])
    if entity is not None:  # a variable over a set of entities: their attributes, through
        return _attributes(index, index.children_at([entity, *parts[1:]], entity=True))
    record = _element_record(index, before, parts[0])
    if record is not None:  # a variable over a list of records: its element's fields
        under = ".".join((record, *parts[1:]))
        return _attributes(index, index.children_of(under))
    return []


def _attributes(index: Index, symbols: list[Symbol]) -> list[Item]:
    """The completions of attributes read after a dot: each by its last name, with its type."""
    return [
        Item(s.name.rsplit(".", 1)[-1], "attribute", _type_of(index, s.name), True) for s in symbols
    ]


def _element_record(index: Index, before: str, var: str, depth: int = 0) -> str | None:
    """`pod.containers[]` for `c` bound by the last `some c in pod.containers` before the
    cursor (through outer variables: `some p in c.ports`)."""
    bound = [m for m in _BOUND.finditer(before) if m.group(1) == var]
    if not bound or depth > 8:
        return None
    parts = bound[-1].group(2).split(".")
    if parts[0] in {s.name for s in index.children_of("")}:
        path = ".".join(parts)
    else:
        outer = _element_record(index, before[: bound[-1].start()], parts[0], depth + 1)
        path = ".".join((outer, *parts[1:])) if outer is not None else ""
    return f"{path}[]" if f"{path}[]" in {s.parent for s in index.of_kind("attribute")} else None


def _element_entity(index: Index, before: str, var: str) -> str | None:
    """`User` for `v` bound by the last `some v in viewers` before the cursor, `viewers` a set
    or list of `User`s (read through references: `some t in resource.owner.teams`)."""
    bound = [m for m in _BOUND.finditer(before) if m.group(1) == var]
    path = index.record_of(bound[-1].group(2).split(".")) if bound else None
    field = index.fields.get(path) if path is not None else None
    kind = field.type if field is not None else None
    if not isinstance(kind, nodes.CollectionType):
        return None
    element = kind.element
    if isinstance(element, nodes.NamedType) and element.name in index.entities:
        return element.name
    return None


def _type_of(index: Index, path: str) -> str:
    field = index.fields.get(path)
    if field is None or field.type.span is None:
        return ""
    span = field.type.span
    return " ".join(span.source.text[span.start : span.end].split())


def _effects(index: Index) -> list[Item]:
    return [Item(s.name, "effect", "effect", True) for s in index.of_kind("effect")]


def _members(index: Index, enum: str) -> list[Item]:
    if enum == "effect":
        return _effects(index)
    return [Item(m, "member", f"member of {enum}", True) for m in index.enum_members(enum)]


def _expected_enum(index: Index, before: str, line: str) -> str | None:
    """The enum whose members fit at the cursor: compared with an attribute, a default, an
    annotation's value, an output's value."""
    compared = _COMPARED.search(before)
    if compared is not None:
        name = compared.group(1)
        if name == "decision" or name.endswith(".effect"):
            return "effect"
        if name in index.fields:
            return index.enum_of(index.fields[name].type)
        head, _, rest = name.partition(".")
        if rest and head in _FIRED_VAR.findall(before):
            return index.enum_of(index.annotation_types.get(rest))
    default = _DEFAULT.search(line)
    if default is not None and f"enum:{default.group(1)}" in index.symbols:
        return default.group(1)
    clause = _CLAUSE.search(line)
    if clause is not None and clause.group(1) in index.annotation_types:
        return index.enum_of(index.annotation_types[clause.group(1)])
    if _ARROW.search(line):
        outputs = _OUTPUT.findall(before)
        if outputs and f"enum:{outputs[-1]}" in index.symbols:
            return str(outputs[-1])
    return None


def _in_scope(index: Index, before: str, exclude: set[str]) -> list[Item]:
    items: list[Item] = []
    rules = _RULE.findall(before)
    if rules and rules[-1]:  # inside a table rule: its columns
        prefix = f"column:{rules[-1]}."
        items += [
            Item(s.name, "column", f"column of {rules[-1]}")
            for k, s in index.symbols.items()
            if k.startswith(prefix)
        ]
    items += [Item(s.name, "definition", "definition") for s in index.of_kind("definition")]
    items += [Item(s.name, "attribute", _type_of(index, s.name)) for s in index.children_of("")]
    items += [Item(s.name, "enum", "enum") for s in index.of_kind("enum")]
    items += [Item(s.name, "entity", "entity") for s in index.of_kind("entity")]
    owners: dict[str, list[str]] = {}
    for s in index.of_kind("member"):
        owners.setdefault(s.name.split(".", 1)[1], []).append(s.parent or "")
    items += [Item(m, "member", f"member of {o[0]}") for m, o in owners.items() if len(o) == 1]
    items += [Item(s.name, "effect", "effect") for s in index.of_kind("effect")]
    items += [Item(s.name, "annotation", "annotation") for s in index.of_kind("annotation")]
    items += [Item(name, "type", "type") for name in BUILTIN_TYPES]
    items += [Item(name, "function", "function") for name in FUNCTIONS]
    items += [Item(word, "keyword", "keyword") for word in sorted(reserved_words())]
    seen = set(exclude)
    unique = []
    for item in items:
        if item.label not in seen:
            seen.add(item.label)
            unique.append(item)
    return unique
