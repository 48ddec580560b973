"""The registry of diagnostic codes is the one source: every code has an entry, the language
reference lists exactly the registry, every registered code is emitted somewhere, and nothing
emits a code that is not registered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policydsl import Diagnostic
from policydsl.codes import REGISTRY, Code

ROOT = Path(__file__).parent.parent
SOURCES = sorted((ROOT / "policydsl").glob("*.py"))
DOC_ROW = re.compile(r"^\| `([PW]\d{3})` \| (error|warning) \| (.+) \|$", re.MULTILINE)


def test_every_code_has_one_entry() -> None:
    assert list(REGISTRY) == list(Code)
    assert len({c.value for c in Code}) == len(Code)  # one problem per code
    for code, info in REGISTRY.items():
        assert info.summary and not info.summary[0].isupper(), code
        assert (info.severity == "warning") == code.value.startswith("W"), code


def test_the_language_reference_lists_the_registry() -> None:
    text = (ROOT / "docs" / "LANGUAGE.md").read_text(encoding="utf-8")
    documented = [(c, s, summary) for c, s, summary in DOC_ROW.findall(text)]
    registered = [(c.value, i.severity, i.summary) for c, i in REGISTRY.items()]
    assert documented == registered


def test_every_registered_code_is_emitted_somewhere() -> None:
    used = "".join(p.read_text(encoding="utf-8") for p in SOURCES if p.name != "codes.py")
    unused = [c.value for c in Code if f"Code.{c.name}" not in used]
    assert unused == []


def test_no_source_names_a_code_by_a_bare_string() -> None:
    bare = [
        f"{p.name}: {m.group(0)}"
        for p in SOURCES
        if p.name != "codes.py"
        for m in re.finditer(r"[\"'][PW]\d{3}[\"']", p.read_text(encoding="utf-8"))
    ]
    assert bare == []


def test_a_diagnostic_takes_only_a_registered_code() -> None:
    with pytest.raises(TypeError, match=r"policydsl\.codes"):
        Diagnostic("P201", "a bare string")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="registered as error"):
        Diagnostic(Code.UNKNOWN_NAME, "an error as a warning", severity="warning")
    assert Diagnostic(Code.UNKNOWN_NAME, "fine").to_dict()["code"] == "P201"
