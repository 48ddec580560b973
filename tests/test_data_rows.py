"""Table rows from a JSON data file (`table t(...) from "rows.json"`): decided as written rows are,
checked with diagnostics in the data file, part of the policy's identity, reloaded on change."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import policydsl
from policydsl.cli import cli
from policydsl.reload import PolicyHolder

HEAD = """\
enum Tier { free, pro }
context { image: { repo: string  tier: Tier = free  replicas: int[0..] = 1 } }
effects deny > allow default allow
"""
RULE = """
rule repo_not_allowed for allowed: deny {
  when tier == image.tier and image.replicas > limit
       and not (some p in prefixes: image.repo starts_with p)
  cite "k8s-repos"
  reason "{name}: {image.repo} is not under {prefixes}"
}
"""
COLUMNS = "name: string, prefixes: set<string>, tier: Tier, limit: int, note: string?"
WRITTEN = f"""{HEAD}table allowed({COLUMNS}) {{
  "pro-repos",  ["gcr.io/pro/", "ghcr.io/pro/"], pro,  0, "paid"
  "free-repos", ["docker.io/library/"],          free, 2, -
}}
{RULE}"""
ROWS: list[Any] = [
    {
        "name": "pro-repos",
        "prefixes": ["gcr.io/pro/", "ghcr.io/pro/"],
        "tier": "pro",
        "limit": 0,
        "note": "paid",
    },
    ["free-repos", ["docker.io/library/"], "free", 2, None],
]
REQUESTS = [
    {"image": {"repo": "evil.io/x", "tier": "pro"}},
    {"image": {"repo": "gcr.io/pro/app", "tier": "pro"}},
    {"image": {"repo": "evil.io/x", "tier": "free", "replicas": 3}},
    {"image": {"repo": "evil.io/x", "tier": "free", "replicas": 2}},
    {"image": {"repo": "docker.io/library/nginx", "tier": "free", "replicas": 9}},
]


def policy_folder(tmp_path: Path, rows: Any, *, raw: str | None = None) -> Path:
    folder = tmp_path / "policy"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "main.policy").write_text(
        f'{HEAD}table allowed({COLUMNS}) from "data/allowed.json"\n{RULE}', encoding="utf-8"
    )
    text = raw if raw is not None else json.dumps(rows, indent=2)
    (folder / "data" / "allowed.json").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("backend", ["compiled", "interpreted", "naive"])
def test_rows_from_a_file_decide_as_written_rows(tmp_path: Path, backend: str) -> None:
    from_file = policydsl.load(policy_folder(tmp_path, ROWS), backend=backend)
    written = policydsl.loads(WRITTEN, backend=backend)
    decided = [from_file.decide(r) for r in REQUESTS]
    assert decided == [written.decide(r) for r in REQUESTS]
    assert [d.rules for d in decided] == [
        ("repo_not_allowed[pro-repos]",),
        (),
        ("repo_not_allowed[free-repos]",),
        (),
        (),
    ]
    assert decided[0].reasons == ("pro-repos: evil.io/x is not under gcr.io/pro/, ghcr.io/pro/",)


def test_the_data_file_is_one_of_the_sources(tmp_path: Path) -> None:
    folder = policy_folder(tmp_path, ROWS)
    policy = policydsl.load(folder)
    names = [Path(s.name).name for s in policy.sources]
    assert names == ["main.policy", "allowed.json"]
    rebuilt = pickle.loads(pickle.dumps(policy))  # from its sources, the data file's included
    assert [rebuilt.decide(r) for r in REQUESTS] == [policy.decide(r) for r in REQUESTS]
    (folder / "data" / "allowed.json").write_text(json.dumps(ROWS[:1]), encoding="utf-8")
    assert policydsl.load(folder).fingerprint != policy.fingerprint


PROBLEMS = [
    ('{"rows": []}', "P008", 1, 1, "must hold a JSON array of rows"),
    (
        '[{"name": "a", "prefixes": [], "tier": "pro", "limt": 1}]',
        "P008",
        1,
        2,
        "unknown column `limt` (did you mean `limit`?)",
    ),
    ('[\n  ["a", [], "pro", 1.5, null]\n]', "P008", 2, 3, "`1.5` has a fraction"),
    ('[\n  {"name": "a", "name": "b"}\n]', "P008", 2, 3, "the key `name` is given twice"),
    ('[["a", [], "pro", NaN, null]]', "P008", 1, 2, "`NaN` is not a number JSON allows"),
    ('[["a", {"x": 1}, "pro", 1, null]]', "P008", 1, 2, "a cell cannot be an object"),
    ("[7]", "P008", 1, 2, "a row is an object of columns or an array of cells, not a number"),
    ('[["a", [], "pro", 1, null] ["b"]]', "P008", 1, 28, "expected `,` or `]` after row 1"),
    ('[["a", [], "pro", 1, null]] x', "P008", 1, 29, "text after the array of rows"),
    ('[\n  ["a", [], "gold", 1, null]\n]', "P204", 2, 3, "`gold` is not a member of Tier"),
    ('[\n  ["a", [], "pro", "1", null]\n]', "P301", 2, 3, "expected int, found string"),
    ('[\n  ["a", [], "pro"]\n]', "P302", 2, 3, "row has 3 cells but table `allowed` has 5"),
    (
        '[\n  {"name": "a", "prefixes": [], "tier": "pro"}\n]',
        "P328",
        2,
        3,
        "column `limit` needs a value",
    ),
    ('[["a", [], "pro", 1, null], ["a", [], "free", 2, null]]', "P203", 1, 29, "two rows for `a`"),
]


@pytest.mark.parametrize(("raw", "code", "line", "col", "message"), PROBLEMS)
def test_problems_are_reported_in_the_data_file(
    tmp_path: Path, raw: str, code: str, line: int, col: int, message: str
) -> None:
    folder = policy_folder(tmp_path, None, raw=raw)
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.load(folder)
    errors = [d for d in info.value.diagnostics if d.severity == "error"]
    assert len(errors) == 1, [d.render() for d in errors]
    (error,) = errors
    assert (error.code.value, Path(error.file or "").name, error.line, error.col) == (
        code,
        "allowed.json",
        line,
        col,
    ), error.render()
    assert message in error.message, error.render()


def test_a_missing_data_file_is_reported_at_the_table(tmp_path: Path) -> None:
    folder = policy_folder(tmp_path, ROWS)
    (folder / "data" / "allowed.json").unlink()
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.load(folder)
    (error,) = info.value.diagnostics
    assert error.code.value == "P001" and Path(error.file or "").name == "main.policy"
    assert error.line == 4 and "allowed.json" in error.render()


def test_check_and_fmt_on_the_command_line(tmp_path: Path) -> None:
    folder = policy_folder(tmp_path, None, raw='[\n  ["a", [], "gold", 1, null]\n]')
    result = CliRunner().invoke(cli, ["check", str(folder)])
    assert result.exit_code == 1
    assert "allowed.json:2:3: error[P204]" in result.output
    formatted = CliRunner().invoke(cli, ["fmt", "-"], input=(folder / "main.policy").read_text())
    assert 'from "data/allowed.json"' in formatted.stdout


def test_a_holder_reloads_when_the_data_changes(tmp_path: Path) -> None:
    folder = policy_folder(tmp_path, ROWS)
    holder = PolicyHolder([folder])
    first = holder.current
    assert first is not None and holder.reload().outcome == "unchanged"
    data = folder / "data" / "allowed.json"
    data.write_text(json.dumps(ROWS[1:]), encoding="utf-8")
    assert holder.reload().outcome == "loaded"
    assert holder.current is not None and holder.current.fingerprint != first.fingerprint
    assert holder.current.decide(REQUESTS[0]).rules == ()  # the pro row is gone
    assert data in holder.files()
    data.write_text('[["x", [], "gold", 1, null]]', encoding="utf-8")
    kept = holder.current
    outcome = holder.reload()
    assert outcome.outcome == "rejected" and holder.current is kept
    assert any(d.code.value == "P204" for d in outcome.diagnostics)
