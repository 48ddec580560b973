"""`policyc compile --emit dot`: the decision tree as Graphviz, to read how a request reaches its
rules. Index nodes (diamonds) branch on a request attribute to buckets (one per key), buckets lead
to rules (coloured by effect) directly or through a residual test (the edge's label), or to the
next index of the trie; rules no index reaches hang off the request with their test.
"""

from __future__ import annotations

from typing import Any

from policydsl import ir
from policydsl import typesys as t
from policydsl.render import value_text
from policydsl.terminal import shown

_PALETTE = ("#f4cccc", "#fff2cc", "#d9ead3", "#cfe2f3", "#ead1dc", "#d9d2e9")
_VERB = {**ir.INDEX_VERBS, "member": "each element of"}


def _quote(text: str) -> str:
    """A DOT string: escapes for `"` and `\\`, line breaks as `\\n`, invisible characters shown
    as the language writes them (`\\u{1b}`)."""
    escaped = shown(text, keep="\n").replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


class _Graph:
    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self.lines: list[str] = []
        self.names: dict[int, str] = {}  # id() of an index or bucket -> its node (DAG: shared)

    def node(self, name: str, label: str, **attrs: str) -> None:
        extra = "".join(f", {k}={v}" for k, v in attrs.items())
        self.lines.append(f"  {name} [label={_quote(label)}{extra}];")

    def edge(self, a: str, b: str, label: str = "") -> None:
        self.lines.append(f"  {a} -> {b}" + (f" [label={_quote(label)}];" if label else ";"))

    def show(self, e: ir.Expr) -> str:
        return ir.show(e, self.program.slots)

    def index(self, ix: ir.Index) -> str:
        if id(ix) in self.names:
            return self.names[id(ix)]
        name = self.names[id(ix)] = f"ix{len(self.names)}"
        slot = self.program.slots[ix.slot]
        self.node(name, f"{ix.probe.text()}{_VERB[ix.kind]}\n{slot.dotted}", shape="diamond")
        key_type: Any = slot.type
        if ix.kind == "member" and isinstance(key_type, t.CollectionType):
            key_type = key_type.element
        if ix.probe.part != "value":
            key_type = t.StringType()
        for bound, rule in ix.above:
            self.edge(name, f"r{rule}", f">= {value_text(bound, key_type)}")
        for bound, rule in ix.below:
            self.edge(name, f"r{rule}", f"< {value_text(bound, key_type)}")
        if ix.kind in ("except", "not_network", "not_matches"):
            for rule in ix.everyone:
                self.edge(name, f"r{rule}", "unless its value")
        if ix.kind == "not_matches":  # its one bucket: the rules whose pattern matches
            self.edge(name, self.bucket(ix.buckets[0]), "not those that match")
            return name
        for bucket in ix.buckets:
            if ix.kind == "order":
                key = _place(ix.bounds, bucket.key, key_type)
            else:
                key = value_text(bucket.key, key_type)
            if ix.kind in ("except", "not_network"):
                key = f"== {key}: not " + " ".join(f"r{r}" for r in bucket.always)
                self.edge(name, name, key)
                continue
            if len(bucket.always) == 1 and not bucket.checks and not bucket.indexes:
                self.edge(name, f"r{bucket.always[0]}", key)  # one rule: no bucket node
            else:
                self.edge(name, self.bucket(bucket), key)
        return name

    def bucket(self, b: ir.Bucket) -> str:
        if id(b) in self.names:
            return self.names[id(b)]
        name = self.names[id(b)] = f"b{len(self.names)}"
        self.node(name, "", shape="point")
        self.reach(name, b.always, b.checks, b.indexes)
        return name

    def reach(
        self,
        name: str,
        always: tuple[int, ...],
        checks: tuple[ir.Check, ...],
        indexes: tuple[ir.Index, ...],
    ) -> None:
        for rule in always:
            self.edge(name, f"r{rule}")
        for check in checks:
            self.edge(name, f"r{check.rule}", "if " + self.show(check.condition))
        for sub in indexes:
            self.edge(name, self.index(sub))


def _place(bounds: tuple[Any, ...], place: int, key_type: Any) -> str:
    low = f">= {value_text(bounds[place - 1], key_type)}" if place > 0 else ""
    high = f"< {value_text(bounds[place], key_type)}" if place < len(bounds) else ""
    return " and ".join(p for p in (low, high) if p) or "any"


def render(program: ir.Program) -> str:
    """The program as a Graphviz `digraph` (`dot -Tsvg`)."""
    graph = _Graph(program)
    colour = {e: _PALETTE[i % len(_PALETTE)] for i, e in enumerate(program.effects)}
    head = [
        "digraph policy {",
        "  rankdir=LR;",
        '  node [fontname="monospace", fontsize=10];',
        '  edge [fontname="monospace", fontsize=9];',
    ]
    graph.node("request", "request", shape="oval")
    for rule in program.rules:
        label = f"{rule.id}\n{rule.effect}"
        style = {"shape": "box", "style": "filled", "fillcolor": _quote(colour[rule.effect])}
        if rule.bit in program.dead:
            label += "\n(never fires)"
            style["style"] = '"filled,dashed"'
        graph.node(f"r{rule.bit}", label, **style)
    graph.reach("request", program.always, program.checks, program.indexes)
    default = f"no rule fires: {program.default_effect}"
    graph.node("default", default, shape="note")
    graph.edge("request", "default")
    return "\n".join([*head, *graph.lines, "}"]) + "\n"


def render_policy(path: Any, *, emit: str = "dot", naive: bool = False) -> str:
    """`policyc compile --emit dot`: the graph of a policy's indexed (or naive) program."""
    from policydsl.engine import load
    from policydsl.evaluator import CompiledEvaluator

    policy = load(path, backend="naive" if naive else "compiled")
    evaluator = policy.evaluator or CompiledEvaluator(policy.lowered())
    return render(evaluator.program)
