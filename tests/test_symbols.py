"""The symbol index, the recovery past syntax errors and the "did you mean" fixes, in process (the
language server's own tests, `test_lsp.py`, go through the protocol).

Every name of every policy in the repository resolves to its declaration: an identifier outside
comments and strings that the index does not know is a bug in the index.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest

import policydsl
from policydsl.hover import describe, hover
from policydsl.lark_grammar import reserved_words
from policydsl.lsp_workspace import Workspace, suggested_fix
from policydsl.parser import parse, read_source
from policydsl.pieces import Pieces, recover
from policydsl.source import Source
from policydsl.symbols import RULE_FIELDS, Cancelled, Index

ROOT = Path(__file__).resolve().parent.parent
SETS = [ROOT / "stdlib_rules", ROOT / "examples" / "doc_sharing", ROOT / "tests" / "policies"]
NOT_SYMBOLS = {
    "bool",
    "int",
    "string",
    "ip",
    "size",
    "decision",
    "fired",
    "obligated",
    "monotone",
    *RULE_FIELDS,
}
_MASK = re.compile(r'#[^\n]*|"(?:[^"\\\n]|\\.)*"')
_WORD = re.compile(r"[A-Za-z_]\w*")


def index_of(folder: Path) -> Index:
    files = []
    for path in sorted(folder.rglob("*.policy")):
        source = read_source(path)
        assert isinstance(source, Source)
        tree, diags = parse(source)
        assert tree is not None, diags
        files.append((source, tree))
    return Index(files)


@pytest.mark.parametrize("folder", SETS, ids=lambda p: p.name)
def test_every_name_resolves(folder: Path) -> None:
    index = index_of(folder)
    tags = {
        m.group(1)
        for m in re.finditer(
            r"\btags\s*\[([^\]]*)\]", "".join(s.text for s, _ in index.files.values())
        )
    }
    tag_names = {t.strip() for group in tags for t in group.split(",")}
    for name, (source, _) in index.files.items():
        masked = _MASK.sub(lambda m: " " * len(m.group(0)), source.text)
        unknown = {
            (m.group(0), source.line_col(m.start())[0])
            for m in _WORD.finditer(masked)
            if m.group(0) not in reserved_words() | NOT_SYMBOLS | tag_names
            and index.at(name, m.start()) is None
        }
        assert not unknown, f"{name}: {sorted(unknown)}"


@pytest.mark.parametrize("folder", SETS, ids=lambda p: p.name)
def test_each_occurrence_names_a_declared_symbol_with_a_hover(folder: Path) -> None:
    index = index_of(folder)
    for found in index.occurrences.values():
        for occ in found:
            symbol = index.symbols[occ.key]
            written = occ.source.text[occ.start : occ.end]
            assert written == symbol.name.rsplit(".", 1)[-1], (written, symbol.key)
            text = hover(index, occ.source.name, occ.start)
            assert text is not None and text[0], symbol.key
        spans = [(o.start, o.end) for o in found]
        assert all(a[1] <= b[0] for a, b in pairwise(spans)), "overlap"


def test_definition_types_come_from_the_checked_model() -> None:
    loaded = policydsl.load(ROOT / "examples" / "doc_sharing")
    index = index_of(ROOT / "examples" / "doc_sharing")
    index.checked = loaded.checked
    assert "type `bool`" in describe(index, index.symbols["definition:may_share"])


# ---- recovery ---------------------------------------------------------------------------------

TEXT = """enum Role { viewer, admin }
context { role: Role }
effects deny > allow default allow

rule first: deny {
  when role == viewer
  cite "1"
  reason "a"
}

rule second: deny {
  when role ==
}

rule third: allow {
  when role == admin
  cite "2"
  reason "b"
}
"""


@pytest.mark.parametrize(
    "broken",
    [
        TEXT,  # an expression cut short
        TEXT.replace("rule second: deny {\n  when role ==\n}", "rule second: deny {\n  when role"),
        TEXT.replace('  reason "a"\n}', '  reason "a"'),  # a declaration never closed
        TEXT + "rule fourth",  # the file ends early
        TEXT.replace("when role == viewer", 'when role == "unterminated'),
    ],
    ids=["cut", "unclosed-then-next", "unclosed", "eof", "string"],
)
def test_recovery_keeps_the_other_declarations_in_place(broken: str) -> None:
    source = Source("x.policy", broken)
    tree, diags = parse(source)
    assert tree is None and diags
    whole, blocks = Pieces().parse(source)
    assert whole is None
    recovered = recover(source, blocks)
    assert recovered is not None
    names = [d.name.name for d in recovered.decls if hasattr(d, "name")]
    assert "third" in names and "Role" in names
    for decl in recovered.decls:
        assert decl.span is not None
        written = decl.span.source.text[decl.span.start : decl.span.end]
        line = broken[: broken.index(written)].count("\n") + 1
        assert (decl.span.line, decl.span.end_line) == (line, line + written.count("\n"))


def test_workspace_falls_back_to_the_last_tree_that_parsed() -> None:
    workspace = Workspace()
    good = workspace.analyse("set", [], {"x.policy": TEXT.replace("  when role ==\n", "")})
    assert "rule:second" in good.index.symbols
    garbled = TEXT.replace("\n", "\n ")  # one declaration starts a line: nothing else to keep
    later = workspace.analyse("set", [], {"x.policy": garbled})
    assert later.parsed[0].tree is None
    assert "rule:second" in later.index.symbols  # from the last good parse


def test_workspace_diagnostics_are_policyc_checks(tmp_path: Path) -> None:
    path = tmp_path / "x.policy"
    path.write_text(TEXT, encoding="utf-8")
    workspace = Workspace()
    analysis = workspace.analyse(str(tmp_path), [path], {})
    shown = [d.to_dict() for d in workspace.check(analysis).diagnostics]
    assert shown == [d.to_dict() for d in policydsl.check([tmp_path])]
    fixed = TEXT.replace("  when role ==\n", '  when role == admin cite "3" reason "c"\n')
    analysis = workspace.analyse(str(tmp_path), [path], {str(path): fixed})
    checked = workspace.check(analysis)
    path.write_text(fixed, encoding="utf-8")
    assert [d.to_dict() for d in checked.diagnostics] == [
        d.to_dict() for d in policydsl.check([tmp_path])
    ]
    assert checked.checked is not None


# ---- quick fixes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("when role == viewr", "when role == viewer"),  # a member
        ("when rle == viewer", "when role == viewer"),  # a name
        ("when Role.viewr == role", "when Role.viewer == role"),  # a qualified member
        ("rule first: dny", "rule first: deny"),  # an effect
        ("context { role: Rle }", "context { role: Role }"),  # a type
    ],
)
def test_suggested_fix_restores_the_name(broken: str, fixed: str) -> None:
    from policydsl.loader import check_sources

    clean = TEXT.replace("rule second: deny {\n  when role ==\n}\n", "")
    original = "context { role: Role }" if "context" in fixed else clean
    if "Role.viewer" in fixed:
        clean = clean.replace("when role == viewer", fixed, 1)
    elif "context" not in fixed:
        assert fixed.split(" ", 1)[1] in clean or fixed in clean
    text = clean.replace(fixed, broken, 1)
    assert text != clean and original
    loaded = check_sources([Source("x.policy", text)])
    fixes = [f for f in map(suggested_fix, loaded.diagnostics) if f is not None]
    assert fixes, [d.to_dict() for d in loaded.diagnostics]
    start, end, new = fixes[0]
    assert text[:start] + new + text[end:] == clean


SHARING = (ROOT / "examples" / "doc_sharing" / "sharing.policy").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("right", "wrong"),
    [
        ("when may_share\n", "when may_shar\n"),  # a definition
        ("actor.role in", "actor.rol in"),  # an attribute
        ("actor.role in", "actr.role in"),  # the head of a path
        ("level == confidential", "level == confidental"),  # a member
        ("share.audience != external and", "share.audience != Audience.externl and"),
        ("rule too_wide for limits", "rule too_wide for limts"),  # a table
        ("obligations [watermark,", "obligations [watermrk,"),  # an obligation
        ("  risk exposure", "  rsk exposure"),  # an annotation
        ('reason "`{level}` documents', 'reason "`{levl}` documents'),  # a column in a reason
        ("r.risk == high", "r.rsk == high"),  # a fired rule's annotation
        ("default forbid refuse", "default forbd refuse"),  # the default effect
        ("document.level == level", "documnt.level == level"),
        ("not in audiences", "not in audience"),  # a column
        ("size(", "sze("),  # a function
    ],
)
def test_every_did_you_mean_is_a_fix(right: str, wrong: str) -> None:
    """Each kind of name the checker suggests for: the fix gives the policy back."""
    from policydsl.loader import check_sources

    original = SHARING
    if right == "size(":
        original = SHARING.replace(
            "not r ends_with", "size(share.recipients) > 0 and not r ends_with"
        )
    if "Audience.externl" in wrong:
        original = SHARING.replace(right, "share.audience != Audience.external and", 1)
        right = "share.audience != Audience.external and"
    text = original.replace(right, wrong, 1)
    assert text != original
    loaded = check_sources([Source("sharing.policy", text)])
    fixes = [f for f in map(suggested_fix, loaded.diagnostics) if f is not None]
    assert fixes, [d.to_dict() for d in loaded.diagnostics]
    start, end, new = fixes[0]
    assert text[:start] + new + text[end:] == original


def test_outline_nests_records_and_lists_declarations_in_order() -> None:
    index = index_of(ROOT / "stdlib_rules")
    name = next(n for n in index.files if n.endswith("00_schema.policy"))
    outline = index.outline(name)
    lines = [o.symbol.span.line for o in outline]
    assert lines == sorted(lines)
    user = next(o for o in outline if o.symbol.key == "attribute:user")
    assert "user.age" in [kid.symbol.name for kid in user.children]
    enums = [o for o in outline if o.symbol.kind == "enum"]
    assert enums and all(o.children for o in enums)


def test_hover_names_what_the_language_provides() -> None:
    index = index_of(ROOT / "examples" / "doc_sharing")
    name = next(iter(index.files))
    text = index.files[name][0].text
    found = hover(index, name, text.index("decision == forbid") + 2)
    assert found is not None and "strongest effect" in found[0]
    found = hover(index, name, text.index("r.tags contains") + 3)
    assert found is not None and "a fired rule's tags" in found[0]
    assert hover(index, name, text.index("# Document") + 3) is None


PODS = """\
enum Pull { Always, IfNotPresent, Never }
enum Proto { tcp, udp }
context {
  pod: {
    containers: list<{
      name: string
      pull: Pull = IfNotPresent
      probe: { path: string? }
      ports: list<{ number: int  proto: Proto = tcp }> = []
    }>[..16] = []
  }
}
effects deny > allow default allow
rule latest: deny {
  when some c in pod.containers: c.pull != Always and has c.probe.path
  reason "x"
}
rule udp: deny {
  when some c in pod.containers: some p in c.ports: p.proto == udp and p.number == 53
  reason "y"
}
"""


def test_lists_of_records_resolve_through_their_variables() -> None:
    source = Source("pods.policy", PODS)
    tree, diags = parse(source)
    assert tree is not None, diags
    index = Index([(source, tree)])

    def key_at(needle: str, shift: int = 0) -> str | None:
        occ = index.at("pods.policy", PODS.index(needle) + shift)
        return occ.key if occ is not None else None

    assert key_at("c.pull", 2) == "attribute:pod.containers[].pull"
    assert key_at("Always and") == "member:Pull.Always"
    assert key_at("c.probe.path", 8) == "attribute:pod.containers[].probe.path"
    assert key_at("p.proto", 2) == "attribute:pod.containers[].ports[].proto"
    assert key_at("udp and") == "member:Proto.udp"
    assert key_at("c.ports", 2) == "attribute:pod.containers[].ports"
    masked = _MASK.sub(lambda m: " " * len(m.group(0)), PODS)
    unknown = [
        m.group(0)
        for m in _WORD.finditer(masked)
        if m.group(0) not in reserved_words() | NOT_SYMBOLS
        and index.at("pods.policy", m.start()) is None
    ]
    assert unknown == []
    assert [s.name for s in index.children_of("pod.containers[]")] == [
        "pod.containers[].name",
        "pod.containers[].pull",
        "pod.containers[].probe",
        "pod.containers[].ports",
    ]


def test_completion_of_a_list_elements_fields() -> None:
    from policydsl.completion import complete

    text = PODS.replace("c.pull != Always", "c.")
    source = Source("pods.policy", PODS)
    tree, _ = parse(source)
    assert tree is not None
    index = Index([(source, tree)])
    at = text.index("c.") + 2
    assert [i.label for i in complete(index, text, at)] == ["name", "pull", "probe", "ports"]
    text = PODS.replace("p.proto == udp", "p.")
    at = text.index("p.") + 2
    assert [i.label for i in complete(index, text, at)] == ["number", "proto"]


def test_an_index_no_longer_wanted_stops_within_a_big_table() -> None:
    """The index of a text edited again stops while it reads a table of many rows (one
    declaration), so the next edit's check does not wait for it."""
    rows = "\n".join(f'  "g{k}", r{k % 3}' for k in range(2_000))
    text = (
        "enum Role { r0, r1, r2 }\ncontext { role: Role }\neffects allow > deny default deny\n"
        f"table grants(grant: string, role: Role) {{\n{rows}\n}}\n"
    )
    tree, errors = parse(Source("x.policy", text))
    assert tree is not None and not errors
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 1  # edited again once the build has begun

    with pytest.raises(Cancelled):
        Index([(Source("x.policy", text), tree)], None, cancelled)
    assert len(asked) == 2  # stopped at the first look inside the table's rows
    assert len(Index([(Source("x.policy", text), tree)]).rows["x.policy"]) == 2_000
