"""Packaging metadata says what CI tests: the dependency floors are the pinned minimum versions,
the tools are pinned, and the license is declared and shipped."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    return config


def requirement_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dependency_floors_are_the_versions_ci_tests() -> None:
    floors = dict(
        re.fullmatch(r"([\w-]+)>=([\w.]+)", line).groups()  # type: ignore[union-attr]
        for line in requirement_lines(setup_cfg()["options"]["install_requires"])
    )
    pinned = dict(
        line.split("==")
        for line in requirement_lines((ROOT / ".ci" / "min-versions.txt").read_text())
    )
    assert floors == pinned
    assert set(floors) == {"attrs", "lark", "click"}


def test_lint_tools_are_pinned_exactly() -> None:
    lint = requirement_lines(setup_cfg()["options.extras_require"]["lint"])
    assert {line.split("==")[0] for line in lint} == {"ruff", "mypy"}
    assert all(re.fullmatch(r"[\w-]+==[\d.]+", line) for line in lint), lint


def test_license_is_declared_and_shipped() -> None:
    metadata = setup_cfg()["metadata"]
    assert metadata["license"] == "Apache-2.0"
    assert "License :: OSI Approved :: Apache Software License" in metadata["classifiers"]
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in metadata["classifiers"]


def test_the_sdist_manifest_carries_what_the_tests_need() -> None:
    manifest = (ROOT / "MANIFEST.in").read_text(encoding="utf-8")
    for folder in ("tests", "examples", "docs", "benchmarks", "grammar", "stdlib_rules"):
        assert re.search(rf"^graft {folder}$", manifest, re.MULTILINE), folder
    assert re.search(r"^include .*\bLICENSE\b", manifest, re.MULTILINE)
