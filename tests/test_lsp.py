"""`policyc lsp` through a real client: JSON-RPC over the server's stdin and stdout
(`tests/lsp_client.py`), one server process for the module, each test in a folder of its own
(a folder is one policy set). Diagnostics are held equal to `policydsl.check` (what
`policyc check` prints), including on broken and half-typed files.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")

import policydsl
from policydsl.formatter import format_source

sys.path.insert(0, str(Path(__file__).parent))
from lsp_client import Client

ROOT = Path(__file__).resolve().parent.parent
SHARING = ROOT / "examples" / "doc_sharing" / "sharing.policy"
STDLIB = ROOT / "stdlib_rules"

pytestmark = pytest.mark.slow  # a server process: seconds, not milliseconds


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    home = tmp_path_factory.mktemp("lsp")
    started = Client([sys.executable, "-m", "policydsl", "lsp"], cwd=ROOT)
    started.initialize(home)
    yield started
    started.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


def write(folder: Path, files: dict[str, str]) -> dict[str, Path]:
    paths = {}
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    return paths


def position(text: str, needle: str, nth: int = 0, shift: int = 0) -> tuple[int, int]:
    """(line, character) of the `nth` occurrence of `needle`, `shift` characters into it."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += shift
    line = text.count("\n", 0, at)
    return line, at - (text.rfind("\n", 0, at) + 1)


def expected(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """`policyc check FOLDER`'s diagnostics, as the server should publish them, by URI."""
    found: dict[str, list[dict[str, Any]]] = {}
    for d in policydsl.check([folder]):
        item = d.to_dict()
        message = item["message"] + (f"\nhelp: {item['help']}" if item["help"] else "")
        related = [
            (
                Path(r["file"]).resolve().as_uri(),
                _range(r["line"], r["col"], r["end_line"], r["end_col"]),
                r["message"],
            )
            for r in item["related"]
        ]
        shown = (
            item["code"],
            item["severity"],
            message,
            _range(item["line"], item["col"], item["end_line"], item["end_col"]),
            related,
        )
        found.setdefault(Path(item["file"]).resolve().as_uri(), []).append(shown)  # type: ignore[arg-type]
    return found  # type: ignore[return-value]


def _range(line: int, col: int, end_line: int, end_col: int) -> dict[str, Any]:
    return {
        "start": {"line": line - 1, "character": col - 1},
        "end": {"line": end_line - 1, "character": end_col - 1},
    }


def published(client: Client, uris: list[str]) -> dict[str, list[Any]]:
    found = {}
    for uri in uris:
        shown = []
        for d in client.wait_diagnostics(uri):
            severity = {1: "error", 2: "warning"}[d["severity"]]
            related = [
                (r["location"]["uri"], r["location"]["range"], r["message"])
                for r in d.get("relatedInformation") or []
            ]
            shown.append((d["code"], severity, d["message"], d["range"], related))
        if shown:
            found[uri] = shown
    return found


def hover(client: Client, uri: str, text: str, needle: str, nth: int = 0, shift: int = 1) -> str:
    answer = client.request(
        "textDocument/hover", client.at(uri, *position(text, needle, nth, shift))
    )
    assert answer is not None, needle
    return str(answer["contents"]["value"])


def locations(answer: list[dict[str, Any]] | None) -> list[tuple[str, int, int]]:
    return sorted(
        (Path(a["uri"]).name, a["range"]["start"]["line"], a["range"]["start"]["character"])
        for a in answer or []
    )


def complete(client: Client, uri: str, text: str, needle: str, shift: int) -> list[str]:
    answer = client.request(
        "textDocument/completion", client.at(uri, *position(text, needle, 0, shift))
    )
    items = sorted(answer["items"], key=lambda i: i.get("sortText", i["label"]))
    return [i["label"] for i in items]


# ---- the session --------------------------------------------------------------------------------


def test_initialize_announces_every_feature(tmp_path: Path) -> None:
    started = Client(cwd=ROOT)
    try:
        caps = started.initialize(tmp_path)["capabilities"]
        for feature in (
            "hoverProvider",
            "definitionProvider",
            "referencesProvider",
            "documentSymbolProvider",
            "documentFormattingProvider",
        ):
            assert caps[feature], feature
        assert caps["completionProvider"]["triggerCharacters"] == [".", "[", ":"]
        assert caps["codeActionProvider"]["codeActionKinds"] == ["quickfix"]
        assert caps["textDocumentSync"]["change"] == 2  # incremental
    finally:
        started.close()


# ---- diagnostics --------------------------------------------------------------------------------


BROKEN = {
    "misspelt attribute": ("actor.role in [editor", "actor.rol in [editor"),
    "unknown member": ("level == confidential", "level == confidental"),
    "hidden name (related span)": ("def is_owner", "def actor = 1\ndef is_owner"),
    "syntax error": ('cite "S1"\n  reason "owners', 'cite "S1\n  reason "owners'),
    "warning only": ("def is_owner", "def unused = 1\ndef is_owner"),
}


@pytest.mark.parametrize("edit", BROKEN.values(), ids=list(BROKEN))
def test_diagnostics_are_policyc_checks(
    client: Client, folder: Path, edit: tuple[str, str]
) -> None:
    """The same codes, messages, help, ranges and related spans as `policyc check`."""
    text = SHARING.read_text(encoding="utf-8").replace(*edit, 1)
    paths = write(folder, {"sharing.policy": text})
    uri = client.open(paths["sharing.policy"])
    assert published(client, [uri]) == expected(folder)
    assert expected(folder)  # each edit breaks something


def test_whole_folder_is_one_set(client: Client, folder: Path) -> None:
    """An error in a file that is not open is published for it, with its related span in the
    open file; an edit to the open file that fixes the set clears both."""
    schema = (
        "enum Role { viewer, admin }\ncontext { role: Role }\neffects deny > allow default allow\n"
    )
    rules = 'rule r: deny {\n  when role == viewer\n  cite "1"\n  reason "x"\n}\n'
    paths = write(folder, {"a.policy": schema, "b.policy": rules.replace("viewer", "viewr")})
    uri = client.open(paths["a.policy"])
    other = paths["b.policy"].resolve().as_uri()
    shown = published(client, [uri, other])
    assert shown == expected(folder)
    assert list(shown) == [other]
    client.diagnostics.pop(other)
    client.change(uri, schema.replace("viewer", "viewr"))
    shown = published(client, [uri, other])
    assert other not in shown  # `viewr` is now declared: b.policy is clean


def test_related_spans_in_another_file(client: Client, folder: Path) -> None:
    """A problem whose second place is in another file names that file's URI."""
    schema = "enum Role { viewer }\ncontext { role: Role }\neffects deny > allow default allow\n"
    paths = write(folder, {"a.policy": schema, "b.policy": "def role = 1\n"})
    uri = client.open(paths["b.policy"])
    other = paths["a.policy"].resolve().as_uri()
    shown = published(client, [uri])  # a.policy is clean: nothing is published for it
    assert shown == expected(folder)
    ((code, _, _, _, related),) = shown[uri]
    assert code == "P206" and related[0][0] == other


def test_stdlib_and_example_are_clean(client: Client, folder: Path) -> None:
    shutil.copytree(STDLIB, folder / "stdlib")
    uris = [client.open(p) for p in sorted((folder / "stdlib").glob("*.policy"))]
    assert published(client, uris) == expected(folder / "stdlib") == {}


# ---- hover, definitions, references -------------------------------------------------------------


@pytest.fixture
def sharing(client: Client, folder: Path) -> tuple[str, str]:
    text = SHARING.read_text(encoding="utf-8")
    uri = client.open(write(folder, {"sharing.policy": text})["sharing.policy"])
    client.wait_diagnostics(uri)
    return uri, text


def test_hover(client: Client, sharing: tuple[str, str]) -> None:
    uri, text = sharing
    assert "role: Role" in hover(client, uri, text, "actor.role", shift=7)
    assert "context attribute `actor.role`" in hover(client, uri, text, "actor.role", shift=7)
    defined = hover(client, uri, text, "when may_share", shift=6)
    assert "def may_share = is_owner or actor.role in [editor, admin]" in defined
    assert "type `bool`" in defined  # from the checked model
    rule = hover(client, uri, text, "rule confidential_share", shift=6)
    assert "rule confidential_share: allow" in rule and 'cite "S1"' in rule
    assert 'reason "confidential documents' in rule and "obligations [watermark" in rule
    effect = hover(client, uri, text, ": forbid {", shift=3)
    assert "effect `forbid`: rank 1 of 2" in effect
    row = hover(client, uri, text, "confidential,  [team]", shift=2)
    line = position(text, "rule too_wide")[0] + 1
    assert f"rule `too_wide[confidential]`: forbid, `sharing.policy:{line}:6`" in row
    table_rule = hover(client, uri, text, "rule too_wide", shift=6)
    assert "`too_wide[public]`, `too_wide[internal]`" in table_rule
    assert "member of enum `Level`" in hover(client, uri, text, "== confidential", shift=4)
    assert "column of table `limits`" in hover(client, uri, text, "not in audiences", shift=8)


CASES = {
    # needle, shift into it, [(file, line of declaration)], number of references with it
    "enum": ("set<Audience>", 5, "enum Audience", 3),
    "member": ("[editor, admin]", 2, "editor, owner", 2),
    "attribute": ("document.level ==", 10, "level: Level = internal", 3),
    "record": ("document.level ==", 2, "document: {", 4),
    "table": ("for limits", 5, "table limits", 2),
    "column": ("not in audiences", 8, "audiences: set<Audience>", 2),
    "effect": ("rule too_wide for limits: forbid", 28, "effects forbid", 8),
    "obligation": ("[watermark,", 2, "watermark, notify_owner }", 2),
    "annotation": ("risk exposure", 1, "annotation risk", 6),
    "definition": ("is_owner or", 2, "def is_owner", 2),
    "quantifier variable": ("r.risk ==", 0, "some r in fired", 3),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_definition_and_references(
    client: Client, sharing: tuple[str, str], case: tuple[str, int, str, int]
) -> None:
    uri, text = sharing
    needle, shift, declared, count = case
    where = client.at(uri, *position(text, needle, 0, shift))
    target = client.request("textDocument/definition", where)
    decl_line = position(text, declared)[0]
    assert [(loc[0], loc[1]) for loc in locations(target)] == [("sharing.policy", decl_line)]
    refs = client.request(
        "textDocument/references", {**where, "context": {"includeDeclaration": True}}
    )
    assert len(refs) == count, locations(refs)
    without = client.request(
        "textDocument/references", {**where, "context": {"includeDeclaration": False}}
    )
    assert len(without) == count - 1


def test_definition_across_files(client: Client, folder: Path) -> None:
    shutil.copytree(STDLIB, folder / "stdlib")
    path = folder / "stdlib" / "04_minors.policy"
    text = path.read_text(encoding="utf-8")
    uri = client.open(path)
    client.wait_diagnostics(uri)
    target = client.request(
        "textDocument/definition", client.at(uri, *position(text, "has user.age and", 0, 10))
    )
    assert [loc[0] for loc in locations(target)] == ["00_schema.policy"]
    assert "age: int[" in hover(client, uri, text, "has user.age and", shift=10)


def test_hover_and_completion_of_datetime_functions(client: Client, folder: Path) -> None:
    text = (
        "context { at: datetime  idle: duration = 0ms }\neffects deny > allow default allow\n"
        'rule late: deny {\n  when hour(at, "+0100") > 22 and to_minutes(idle) > 90\n}\n'
    )
    uri = client.open(write(folder, {"time.policy": text})["time.policy"])
    client.wait_diagnostics(uri)
    assert "`hour(t)`" in hover(client, uri, text, "hour(at", shift=2)
    assert "rounded toward zero" in hover(client, uri, text, "to_minutes", shift=3)
    assert {"hour", "day_of_week", "to_days", "datetime"} <= set(
        complete(client, uri, text, "rule late: deny {\n  ", 20)
    )


# ---- completion ---------------------------------------------------------------------------------


def test_completion(client: Client, folder: Path) -> None:
    base = SHARING.read_text(encoding="utf-8")
    text = base + (
        "\nrule typing: allow {\n  when document.\n}\n"
        "rule typing2: allow {\n  when share.audience == \n}\n"
        "rule typing3: \n"
    )
    uri = client.open(write(folder, {"sharing.policy": text})["sharing.policy"])
    client.wait_diagnostics(uri)
    assert complete(client, uri, text, "when document.\n", 14)[:2] == ["level", "owner_id"]
    members = complete(client, uri, text, "share.audience == \n", 18)
    assert members[:3] == ["company", "external", "team"]
    assert complete(client, uri, text, "rule typing3: \n", 14) == ["allow", "forbid"]
    generic = complete(client, uri, text, "rule typing2: allow {\n  ", 24)
    assert {"may_share", "actor", "when", "cite", "size", "Role"} <= set(generic)
    assert "Role" in complete(client, uri, text, "  when document.\n", 2)


def test_completion_of_members_obligations_and_fired_rules(client: Client, folder: Path) -> None:
    base = SHARING.read_text(encoding="utf-8")
    text = base.replace("obligations [watermark, notify_owner]", "obligations [watermark, ")
    text = text.replace("has r.risk and r.risk == high", "has r.risk and r.")
    uri = client.open(write(folder, {"sharing.policy": text})["sharing.policy"])
    client.wait_diagnostics(uri)
    assert complete(client, uri, text, "[watermark, ", 12) == ["notify_owner", "watermark"]
    fields = complete(client, uri, text, "has r.risk and r.", 17)
    assert {"id", "effect", "cite", "tags", "risk"} == set(fields)
    assert complete(client, uri, text, "set<Audience>", 4)  # anywhere: something, never an error
    assert complete(client, uri, text, 'reason "owners, editors', 12) == []  # in a string
    assert complete(client, uri, text, "# The widest", 6) == []  # in a comment


# ---- broken and half-typed files ----------------------------------------------------------------


def test_syntax_error_keeps_hover_and_completion(client: Client, folder: Path) -> None:
    """A half-typed rule: the rest of the file keeps hover, definitions and completion."""
    text = SHARING.read_text(encoding="utf-8")
    broken = text.replace(
        "rule external_without_expiry: forbid {\n  when share.audience == external and",
        "rule external_without_expiry: forbid {\n  when share.audience == and and",
    )
    uri = client.open(write(folder, {"sharing.policy": broken})["sharing.policy"])
    (diag,) = client.wait_diagnostics(uri)
    assert diag["code"] == "P100"
    assert "rule too_wide for limits: forbid" in hover(
        client, uri, broken, "rule too_wide", shift=6
    )
    assert "role: Role" in hover(client, uri, broken, "actor.role", shift=7)
    after = hover(client, uri, broken, "rule outside_recipient", shift=6)  # after the error
    assert "rule outside_recipient: forbid" in after
    assert "level" in complete(client, uri, broken, "when may_share and document.", 28)


def test_unclosed_declaration_recovers(client: Client, folder: Path) -> None:
    text = SHARING.read_text(encoding="utf-8")
    broken = text.replace('  reason "owners, editors and admins may share documents"\n}\n', "", 1)
    uri = client.open(write(folder, {"sharing.policy": broken})["sharing.policy"])
    assert client.wait_diagnostics(uri)[0]["code"] == "P100"
    assert "rule too_wide" in hover(client, uri, broken, "rule too_wide", shift=6)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert "outside_recipient" in [s["name"] for s in symbols]


def test_edits_are_followed(client: Client, folder: Path) -> None:
    """Incremental changes: an edit that breaks, then one that fixes; positions follow."""
    text = SHARING.read_text(encoding="utf-8")
    uri = client.open(write(folder, {"sharing.policy": text})["sharing.policy"])
    assert client.wait_diagnostics(uri) == []
    line = position(text, "def may_share")[0]
    inserted = "def extra = actor.rol == admin\n"
    where = {"line": line, "character": 0}
    client.change(uri, inserted, {"start": where, "end": where})
    (diag,) = client.wait_diagnostics(uri)
    assert diag["code"] == "P201" and diag["range"]["start"]["line"] == line
    now = text[: text.index("def may_share")] + inserted + text[text.index("def may_share") :]
    assert "def may_share" in hover(client, uri, now, "def may_share", shift=5)
    client.change(uri, "", {"start": where, "end": {"line": line + 1, "character": 0}})
    assert client.wait_diagnostics(uri) == []


def test_typing_fast_ends_on_the_last_text(client: Client, folder: Path) -> None:
    """A change per keystroke, faster than the server checks: the diagnostics published for the
    last version are those of the last text, and every diagnostic carries its version."""
    text = SHARING.read_text(encoding="utf-8")
    uri = client.open(write(folder, {"sharing.policy": text})["sharing.policy"])
    client.wait_diagnostics(uri)
    line = position(text, "def may_share")[0]
    typed = "def extra = actor.role == admin\n"
    for i, char in enumerate(typed):
        where = {"line": line, "character": i}
        client.change(uri, char, {"start": where, "end": where})
    assert [d["code"] for d in client.wait_diagnostics(uri)] == ["W403"]  # `extra`: unread
    now = text.replace("def may_share", typed + "def may_share", 1)
    assert "def extra = actor.role == admin" in hover(client, uri, now, "def extra", shift=5)
    where = {"line": line, "character": len("def extra = actor.role")}
    client.change(uri, "x", {"start": where, "end": where})
    (diag,) = [d for d in client.wait_diagnostics(uri) if d["severity"] == 1]
    assert diag["message"].startswith("unknown attribute `actor.rolex`")


def test_positions_count_utf16(client: Client, folder: Path) -> None:
    """Columns are UTF-16 code units for the client: an emoji before a name counts twice."""
    text = SHARING.read_text(encoding="utf-8").replace(
        "def is_owner", 'def smile = "\U0001f600" == actor.rol\ndef is_owner', 1
    )
    uri = client.open(write(folder, {"sharing.policy": text})["sharing.policy"])
    diags = [d for d in client.wait_diagnostics(uri) if d["code"] == "P201"]
    line, char = position(text, "actor.rol\n")
    assert diags[0]["range"]["start"] == {"line": line, "character": char + 1}
    answer = client.request("textDocument/hover", client.at(uri, line, char + 1 + 2))
    assert answer is not None and "context attribute `actor`" in answer["contents"]["value"]


# ---- outline, formatting, quick fixes -----------------------------------------------------------


def test_document_symbols(client: Client, sharing: tuple[str, str]) -> None:
    uri, _ = sharing
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    names = [s["name"] for s in symbols]
    assert names[:4] == ["Role", "Level", "Audience", "Risk"]
    assert {"limits", "too_wide", "audit", "may_share", "actor", "forbid"} <= set(names)
    role = symbols[0]
    assert [c["name"] for c in role["children"]] == ["viewer", "editor", "owner", "admin"]
    actor = next(s for s in symbols if s["name"] == "actor")
    assert [c["name"] for c in actor["children"]] == ["id", "role"]


def test_formatting(client: Client, folder: Path) -> None:
    text = SHARING.read_text(encoding="utf-8")
    messy = text.replace(
        "rule editors_share: allow {\n  when may_share",
        "rule editors_share:allow{ when   may_share",
    )
    uri = client.open(write(folder, {"sharing.policy": messy})["sharing.policy"])
    client.wait_diagnostics(uri)
    options = {"tabSize": 2, "insertSpaces": True}
    (edit,) = client.request(
        "textDocument/formatting", {"textDocument": {"uri": uri}, "options": options}
    )
    assert edit["newText"] == format_source(messy) == text
    assert edit["range"]["start"] == {"line": 0, "character": 0}
    client.change(uri, text)
    client.wait_diagnostics(uri)
    assert (
        client.request(
            "textDocument/formatting", {"textDocument": {"uri": uri}, "options": options}
        )
        == []
    )


@pytest.mark.parametrize(
    ("wrong", "right"),
    [
        ("actor.rol in", "actor.role in"),
        ("level == confidental", "level == confidential"),
        ("rule too_wide for limts", "rule too_wide for limits"),
        ("obligations [watermark, notify_ownr]", "obligations [watermark, notify_owner]"),
        ("risk exposure", "rsk exposure"),
    ],
)
def test_quick_fix_for_did_you_mean(client: Client, folder: Path, wrong: str, right: str) -> None:
    """Each "did you mean" help is a quick fix whose edit makes the policy check clean."""
    text = SHARING.read_text(encoding="utf-8")
    if wrong.startswith("risk"):  # the fix goes the other way: `rsk` is the typo
        wrong, right = right, wrong
    broken = text.replace(right, wrong, 1)
    assert broken != text
    uri = client.open(write(folder, {"sharing.policy": broken})["sharing.policy"])
    (diag,) = client.wait_diagnostics(uri)
    params = {
        "textDocument": {"uri": uri},
        "range": diag["range"],
        "context": {"diagnostics": [diag]},
    }
    (action,) = client.request("textDocument/codeAction", params)
    assert action["kind"] == "quickfix" and action["isPreferred"]
    (edit,) = action["edit"]["changes"][uri]
    fixed = _apply(broken, edit)
    assert fixed == text


def _apply(text: str, edit: dict[str, Any]) -> str:
    lines = text.split("\n")

    def offset(p: dict[str, int]) -> int:
        return sum(len(line) + 1 for line in lines[: p["line"]]) + p["character"]

    start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
    return text[:start] + edit["newText"] + text[end:]


# ---- a large policy -----------------------------------------------------------------------------


def test_large_policy_rechecks_after_an_edit(client: Client, folder: Path) -> None:
    """10,000 rules: the time from an edit to its diagnostics (printed; README reports it)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.synthetic import equality_policy

    text = equality_policy(10_000)
    uri = client.open(write(folder, {"big.policy": text})["big.policy"])
    assert client.wait_diagnostics(uri, timeout=120) == expected(folder).get(uri, [])
    line = text.count("\n") - 1
    where = {"line": line, "character": 0}
    started = time.perf_counter()
    client.change(uri, "# an edit\n", {"start": where, "end": where})
    client.wait_diagnostics(uri, timeout=120)
    seconds = time.perf_counter() - started
    middle = {"line": 5_000, "character": 0}
    started = time.perf_counter()
    client.change(uri, "rule broken: deny { when\n", {"start": middle, "end": middle})
    (error,) = client.wait_diagnostics(uri, timeout=120)
    broken = time.perf_counter() - started
    assert error["code"] == "P100" and error["range"]["start"]["line"] == 5_001
    client.change(uri, "", {"start": middle, "end": {"line": 5_001, "character": 0}})
    assert client.wait_diagnostics(uri, timeout=120) == []
    print(f"10,000-rule policy: diagnostics {seconds:.2f} s after an edit,")
    print(f"{broken:.2f} s after one that breaks the syntax")
    lines = text.split("\n")
    now = "\n".join([*lines[:line], "# an edit", *lines[line:]])
    assert "rule r9999: deny" in hover(client, uri, now, "rule r9999", shift=6)
    assert seconds < 60


def test_edits_around_a_big_table_are_policyc_checks(client: Client, folder: Path) -> None:
    """A table of many rows is a block of its own, parsed once and kept while edits go on
    around it (and brought back when an edit is undone): after each edit, the diagnostics are
    those `policyc check` gives for the whole text."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.synthetic import pair_policy

    text = pair_policy(1_500)
    path = write(folder, {"big.policy": text})["big.policy"]
    uri = client.open(path)
    assert client.wait_diagnostics(uri, timeout=120) == expected(folder).get(uri, [])

    def edit(old: str, new: str) -> None:
        nonlocal text
        at = text.index(old)
        start = position(text, old)
        end = position(text, old, shift=len(old))
        client.change(uri, new, {"start": _pos(*start), "end": _pos(*end)})
        text = text[:at] + new + text[at + len(old) :]
        path.write_text(text, encoding="utf-8")
        found = published(client, [uri]).get(uri, [])
        assert found == expected(folder).get(uri, []), (old, new)

    edit("  cite", "  # a comment in the rule\n  cite")  # the rule's block alone changes
    edit("request.action == action", "request.action == actio")  # P201, did you mean
    edit("request.action == actio", "request.action == action")
    edit('  "g700", r', '  "g699", r')  # two rows for one key
    edit('  "g699", r', '  "g700", r')
    edit('  "g750", r', 'rule broken: deny { when\n  "g750", r')  # the syntax broken mid-table
    assert "rule granted for grants: allow" in hover(client, uri, text, "rule granted", shift=6)
    assert "enum Action" in hover(client, uri, text, "enum Action", shift=6)
    edit('rule broken: deny { when\n  "g750", r', '  "g750", r')  # and undone
    row = text[text.index('  "g800", ') :].split("\n", 1)[0]
    edit(row, row.rsplit(", ", 1)[0] + ", a99")  # not a member of Action
    edit("grant {grant}", "grant {grant} {role}")  # every row's reason


def _pos(line: int, character: int) -> dict[str, int]:
    return {"line": line, "character": character}
