"""Highlighting follows the grammar: the Pygments lexer and the VS Code TextMate grammar name every
reserved word of `grammar/policy.lark` (a keyword added there and forgotten here fails), and the
lexer reads every policy of the repository and of the language reference without an error token.
"""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import pytest

from policydsl.completion import BUILTIN_TYPES as COMPLETED_TYPES
from policydsl.completion import FUNCTIONS as COMPLETED_FUNCTIONS
from policydsl.lark_grammar import reserved_words
from policydsl.time_check import FUNCTIONS as TIME_FUNCTIONS
from policydsl.typecheck import BUILTIN_TYPES
from policydsl.typecheck import FUNCTIONS as SIZE

FUNCTIONS = {*SIZE, *TIME_FUNCTIONS}

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = VSCODE / "syntaxes" / "policy.tmLanguage.json"


def repository_policies() -> list[tuple[str, str]]:
    """Every `.policy` file of the repository and every ```policy block of LANGUAGE.md."""
    files = [
        (str(p.relative_to(ROOT)), p.read_text(encoding="utf-8"))
        for p in sorted(ROOT.rglob("*.policy"))
        if not {".git", "build", ".tox"} & set(p.parts)
    ]
    docs = (ROOT / "docs" / "LANGUAGE.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```policy(?:-error \w+)?\n(.*?)^```", docs, re.MULTILINE | re.DOTALL)
    return files + [(f"LANGUAGE.md block {i + 1}", b) for i, b in enumerate(blocks)]


def test_there_are_policies_to_read() -> None:
    names = [name for name, _ in repository_policies()]
    assert any(n.startswith("stdlib_rules/") for n in names)
    assert sum(n.startswith("LANGUAGE.md") for n in names) >= 4


def test_completion_knows_the_checkers_types_and_functions() -> None:
    assert set(COMPLETED_TYPES) == set(BUILTIN_TYPES)
    assert set(COMPLETED_FUNCTIONS) == set(FUNCTIONS)


# ---- the TextMate grammar ---------------------------------------------------------------------


def _grammar_words() -> dict[str, set[str]]:
    """Each keyword pattern of the TextMate grammar's `keywords` rule, by scope name."""
    grammar = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for rule in grammar["repository"]["keywords"]["patterns"]:
        words = re.fullmatch(r"\\b\(([\w|]+)\)\\b(?:\(\?=.*\))?", rule["match"])
        assert words, rule["match"]
        found[rule["name"]] = set(words.group(1).split("|"))
    return found


def test_textmate_grammar_has_every_reserved_word() -> None:
    pygments_lexer = pytest.importorskip("policydsl.pygments_lexer")
    words = _grammar_words()
    every = set().union(*words.values())
    assert reserved_words() <= every, sorted(reserved_words() - every)
    assert every == reserved_words() | set(BUILTIN_TYPES) | set(FUNCTIONS)
    classes = pygments_lexer.keyword_classes()
    assert words["storage.type.policy"] == set(classes["declaration"])
    assert words["keyword.operator.word.policy"] == set(classes["operator"])
    assert words["constant.language.boolean.policy"] == set(classes["constant"])
    assert words["support.type.policy"] == set(classes["type"]) | set(BUILTIN_TYPES)
    assert words["keyword.other.policy"] == set(classes["other"])


def test_textmate_patterns_compile() -> None:
    """Oniguruma reads them; these patterns use only what Python's `re` reads the same way."""

    def patterns(node: object) -> list[str]:
        if isinstance(node, dict):
            own = [v for k, v in node.items() if k in ("match", "begin", "end", "while")]
            return own + [p for v in node.values() for p in patterns(v)]
        if isinstance(node, list):
            return [p for v in node for p in patterns(v)]
        return []

    for path in sorted((VSCODE / "syntaxes").glob("*.json")):
        found = patterns(json.loads(path.read_text(encoding="utf-8")))
        assert found, path
        for pattern in found:
            if not re.search(r"\\[1-9]", pattern):  # an `end` reading its `begin`'s groups
                re.compile(pattern.replace("\\G", ""))


def test_vscode_extension_manifest() -> None:
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (language,) = manifest["contributes"]["languages"]
    assert language["extensions"] == [".policy"]
    config = json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))
    assert config["comments"] == {"lineComment": "#"}
    assert ["{", "}"] in config["brackets"] and "indentationRules" in config
    for grammar in manifest["contributes"]["grammars"]:
        assert (VSCODE / grammar["path"]).is_file()
    assert (VSCODE / manifest["main"]).is_file()
    default = manifest["contributes"]["configuration"]["properties"]["policydsl.server.command"]
    assert default["default"] == ["policyc", "lsp"]


# ---- the Pygments lexer ----------------------------------------------------------------------


def test_lexer_classes_every_reserved_word_once() -> None:
    pygments_lexer = pytest.importorskip("policydsl.pygments_lexer")
    classes = pygments_lexer.keyword_classes()
    listed = [w for words in classes.values() for w in words]
    assert sorted(listed) == sorted(reserved_words())


@pytest.mark.parametrize(("name", "text"), repository_policies(), ids=lambda v: str(v)[:40])
def test_lexer_reads_every_policy_without_errors(name: str, text: str) -> None:
    pytest.importorskip("pygments")
    from pygments.token import Error, Text

    from policydsl.pygments_lexer import PolicyLexer

    tokens = list(PolicyLexer().get_tokens(text))
    errors = [value for kind, value in tokens if kind in Error]
    assert not errors, f"{name}: {errors[:5]}"
    assert "".join(v for _, v in tokens).rstrip("\n") == text.rstrip("\n")
    plain = [v for kind, v in tokens if kind is Text and v.strip()]
    assert not plain, plain[:5]


def test_lexer_tokens() -> None:
    pytest.importorskip("pygments")
    from pygments.token import Comment, Error, Keyword, Name, Operator, String

    from policydsl.pygments_lexer import PolicyLexer

    text = 'rule r for t: deny { when user.age > 1 and x in [a] reason "{col} \\u{1b}" } # c\n'
    tokens = [(k, v) for k, v in PolicyLexer().get_tokens(text) if v.strip()]
    assert (Keyword.Declaration, "rule") in tokens and (Name.Function, "r") in tokens
    assert (Name.Attribute, "age") in tokens and (Operator.Word, "and") in tokens
    assert (Operator.Word, "in") in tokens and (Keyword, "when") in tokens
    assert (String.Interpol, "{col}") in tokens and (String.Escape, "\\u{1b}") in tokens
    assert (Comment.Single, "# c") in tokens
    bad = list(PolicyLexer().get_tokens('reason "\\q" "open\n'))
    assert [v for k, v in bad if k in Error] == ["\\q", "\n"]


def test_lexer_is_registered_as_an_entry_point() -> None:
    """`setup.cfg` registers it for `pygmentize -l policy`; where the package is installed with
    its metadata (CI), Pygments finds it by name and by file name."""
    pygments = pytest.importorskip("pygments")
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    entry = config["options.entry_points"]["pygments.lexers"].strip()
    name, _, target = (part.strip() for part in entry.partition("="))
    module, _, attr = target.partition(":")
    assert name == "policy"
    lexer = getattr(__import__(module, fromlist=[attr]), attr)
    assert "policy" in lexer.aliases and lexer.filenames == ["*.policy"]
    from importlib.metadata import entry_points

    if not any(e.name == "policy" for e in entry_points(group="pygments.lexers")):
        pytest.skip("this install's metadata predates the entry point")
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    assert type(get_lexer_by_name("policy")).__name__ == "PolicyLexer"
    assert type(get_lexer_for_filename("a.policy")).__name__ == "PolicyLexer"
    assert pygments.__version__


def test_lsp_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`policyc lsp` where pygls is missing: one line naming the extra, exit 1."""
    import sys

    from click.testing import CliRunner

    from policydsl.cli import cli

    monkeypatch.setitem(sys.modules, "pygls", None)
    monkeypatch.setitem(sys.modules, "pygls.lsp", None)
    monkeypatch.setitem(sys.modules, "pygls.lsp.server", None)
    monkeypatch.delitem(sys.modules, "policydsl.lsp_server", raising=False)
    monkeypatch.setitem(sys.modules, "lsprotocol", None)
    result = CliRunner().invoke(cli, ["lsp"])
    assert result.exit_code == 1
    assert result.stderr == (
        "policyc: policyc lsp needs the language server extra: pip install 'policydsl[lsp]'\n"
    )


def test_textmate_grammar_under_vscode_engine(tmp_path: Path) -> None:
    """Where `npm install` has been run in `editors/vscode/` (its devDependencies: VS Code's own
    TextMate engine), every token of every repository policy has a scope and none is invalid."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None or not (VSCODE / "node_modules" / "vscode-textmate").is_dir():
        pytest.skip("needs node and `npm install` in editors/vscode")
    files = []
    for i, (_, text) in enumerate(repository_policies()):
        path = tmp_path / f"{i}.policy"
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    script = VSCODE / "scripts" / "tokenize.js"
    done = subprocess.run(
        [node, str(script), *files], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == []


def grammar_literals() -> set[str]:
    """Every quoted string of `grammar/policy.lark`: keywords, operators and punctuation."""
    grammar = (ROOT / "grammar" / "policy.lark").read_text(encoding="utf-8")
    code = "\n".join(line.split("//", 1)[0] for line in grammar.splitlines())
    code = re.sub(r"/(?:[^/\\\n]|\\.)+/", "", code)  # the regular expressions of NAME, STRING
    return set(re.findall(r'"((?:[^"\\]|\\.)+)"', code))


def test_every_grammar_literal_is_highlighted() -> None:
    """An operator or punctuation the grammar gains is no error to the lexer and has a scope in
    the TextMate grammar (keywords: the tests above)."""
    pytest.importorskip("pygments")
    from pygments.token import Error, Name

    from policydsl.pygments_lexer import PolicyLexer

    literals = grammar_literals()
    assert {"rule", "==", "%", "=>", "..", "{"} <= literals
    grammar = json.loads(GRAMMAR.read_text(encoding="utf-8"))
    symbols = [grammar["repository"][k] for k in ("operator", "punctuation")]
    patterns = [symbols[0]["match"], *(p["match"] for p in symbols[1]["patterns"])]
    for literal in sorted(literals):
        tokens = [(k, v) for k, v in PolicyLexer().get_tokens(literal) if v.strip()]
        assert tokens and all(k not in Error for k, _ in tokens), (literal, tokens)
        if literal.isidentifier():
            assert all(k is not Name for k, _ in tokens), literal  # a keyword, not a name
        else:
            assert any(re.fullmatch(p, literal) for p in patterns), literal
