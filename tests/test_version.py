"""A policy's identity: the author's `version "..."` declaration (parsed, checked, formatted, kept
by the compiled artifact) and the fingerprint of its sources and compiler."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import policydsl
from policydsl import fingerprint, parser_cache
from policydsl.source import Source
from policydsl.version import __version__

BODY = "context { n: int = 0 }\neffects deny > allow default allow\n"


def test_a_declared_version_is_the_policys() -> None:
    policy = policydsl.loads('version "1.2.3-rc1"\n' + BODY)
    assert policy.version == "1.2.3-rc1"
    assert policydsl.loads(BODY).version is None


def test_escapes_in_the_version_are_read_as_in_any_string() -> None:
    assert policydsl.loads('version "a\\u{e9}"\n' + BODY).version == "a\u00e9"


def test_a_second_version_is_an_error_pointing_at_the_first(tmp_path: Path) -> None:
    (tmp_path / "a.policy").write_text('version "1"\n' + BODY)
    (tmp_path / "b.policy").write_text('\n\nversion "2"\n')
    (error,) = policydsl.check([tmp_path])
    assert error.code == "P402"
    assert "version" in error.message and (error.file, error.line) == (
        str(tmp_path / "b.policy"),
        3,
    )
    assert error.help is not None and "a.policy:1:1" in error.help


def test_version_is_a_reserved_word() -> None:
    """Not a name (a definition, an enum), though a record's field may be named by it."""
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(
            "context { n: int = 0 }\neffects deny > allow default allow\ndef version = 1\n"
        )
    assert "reserved word" in raised.value.render()
    policy = policydsl.loads("context { version: int = 0 }\neffects deny > allow default allow\n")
    assert policy.decide({"version": 3}).decision == "allow"


def test_the_formatter_keeps_the_declaration() -> None:
    text = 'version   "2.0"  # the second\n' + BODY
    formatted = policydsl.format_source(text)
    assert formatted.splitlines()[0] == 'version "2.0" # the second'
    assert policydsl.format_source(formatted) == formatted


def test_the_standard_library_declares_its_version() -> None:
    policy = policydsl.load_stdlib()
    assert policy.version and policy.version.split(".")[0] == "2"  # the contract's major (§7)
    assert policydsl.load(policydsl.stdlib_path()).version == policy.version


def test_the_artifact_keeps_the_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parser_cache.ENV_VAR, str(tmp_path / "cache"))
    fresh = policydsl.load_stdlib()  # compiles and stores
    stored = policydsl.load_stdlib()  # from the artifact: never checked
    assert stored._checked is None
    assert stored.version == fresh.version is not None
    assert stored.fingerprint == fresh.fingerprint


def test_the_fingerprint_follows_the_sources_not_where_they_are(tmp_path: Path) -> None:
    here = policydsl.load(policydsl.stdlib_path())
    copy = tmp_path / "elsewhere" / "rules"
    shutil.copytree(policydsl.stdlib_path(), copy)
    assert policydsl.load(copy).fingerprint == here.fingerprint
    edited = copy / "05_enforcement.policy"
    edited.write_text(edited.read_text() + "\n# a comment changes the text\n")
    assert policydsl.load(copy).fingerprint != here.fingerprint


def test_the_fingerprint_covers_names_ir_and_package_versions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = [Source("/a/x.policy", BODY)]
    digest = fingerprint.of(one)
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    assert fingerprint.of([Source("/b/x.policy", BODY)]) == digest  # the folder is not identity
    assert fingerprint.of([Source("/a/y.policy", BODY)]) != digest  # the name is
    assert fingerprint.short(digest) == digest[7:23]
    monkeypatch.setattr(fingerprint, "IR_VERSION", -1)
    assert fingerprint.of(one) != digest
    monkeypatch.undo()
    monkeypatch.setattr(fingerprint, "__version__", __version__ + ".post1")
    assert fingerprint.of(one) != digest


def test_relative_names_of_a_folder_with_subfolders() -> None:
    sources = [Source(n, "") for n in ("/r/p/a.policy", "/r/p/sub/b.policy")]
    assert fingerprint.relative_names(sources) == ["a.policy", "sub/b.policy"]
