"""Entities through every tool: `policyc eval` (one request, `--batch`, worker processes),
`explain`, `test` (with coverage), `serve` and `diff --requests` read `--entities FILE`; reasons
show an entity as its uid on every backend; the solver, the lints and the compiled artifact
handle a policy with entities; editors highlight, complete and describe them."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import policydsl
from policydsl.cli import cli
from policydsl.entity_data import EntityDataError

ROOT = Path(__file__).resolve().parent.parent

POLICY = """\
entity Team in [Team]
entity User in [Team] {
  dept: string
  level: int
  manager: User?
}
entity Repo { owner: User  readers: set<Team> = [] }
context { principal: User  resource: Repo  action: string = "read" }
effects deny > allow default deny
rule owns: allow {
  when resource.owner == principal
  cite "owners"
  reason "{principal} owns {resource}, read by {resource.readers}"
}
rule eng: allow {
  when principal in Team::"eng" and action == "read"
  cite "eng"
  reason "{principal.dept} reads; manager {principal.manager}"
}
rule senior: allow {
  when has principal.manager and principal.manager.level > 3
  cite "senior"
  reason "managed by {principal.manager.dept} (level {principal.manager.level})"
}
rule frozen: deny { when action == "delete" cite "frozen" reason "no deletes" }
rule loops: deny {
  when has principal.manager and principal.manager == principal
  cite "loops"
  reason "{principal} manages itself"
}
"""

ENTITIES: list[dict[str, Any]] = [
    {"uid": {"type": "Team", "id": "eng"}},
    {"uid": {"type": "Team", "id": "backend"}, "parents": [{"type": "Team", "id": "eng"}]},
    {"uid": {"type": "User", "id": "bob"}, "attrs": {"dept": "mgmt", "level": 5}},
    {
        "uid": {"type": "User", "id": "alice"},
        "attrs": {"dept": "rd", "level": 2, "manager": "bob"},
        "parents": [{"type": "Team", "id": "backend"}],
    },
    {"uid": {"type": "User", "id": "loop"}, "attrs": {"dept": "x", "level": 7, "manager": "loop"}},
    {"uid": {"type": "Repo", "id": "r1"}, "attrs": {"owner": "alice", "readers": ["ops", "eng"]}},
]
ALICE = {"principal": "alice", "resource": "r1"}
REASONS = [
    "managed by mgmt (level 5)",
    'rd reads; manager User::"bob"',
    'User::"alice" owns Repo::"r1", read by Team::"eng", Team::"ops"',
]
BAD = [{"uid": {"type": "User", "id": "eve"}, "attrs": {"dept": "x", "level": "high"}}]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "p.policy").write_text(POLICY)
    (tmp_path / "people.json").write_text(json.dumps(ENTITIES))
    (tmp_path / "bad.json").write_text(json.dumps(BAD))
    (tmp_path / "alice.json").write_text(json.dumps(ALICE))
    return tmp_path


def run(*args: str | Path) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args])


def loaded(backend: str = "compiled") -> policydsl.Policy:
    policy = policydsl.loads(POLICY, backend=backend)
    policy.load_entities(ENTITIES)
    return policy


# ---- reasons and explanations ------------------------------------------------------------------


@pytest.mark.parametrize("backend", policydsl.BACKENDS)
def test_reasons_show_an_entity_as_its_uid_and_read_through_references(backend: str) -> None:
    decision = loaded(backend).decide(ALICE)
    assert decision.rules == ("eng", "owns", "senior")
    assert sorted(decision.reasons) == sorted(REASONS)
    fresh = policydsl.loads(POLICY, backend=backend)  # a store per request, as Cedar's
    given = fresh.decide_with(ALICE, fresh.entity_store(ENTITIES))
    assert sorted(given.reasons) == sorted(REASONS)
    looping = loaded(backend).decide({"principal": "loop", "resource": "r1"})
    assert looping.reasons == ('User::"loop" manages itself', "managed by x (level 7)")


@pytest.mark.parametrize("backend", policydsl.BACKENDS)
def test_a_reason_shows_the_entity_a_some_found(backend: str) -> None:
    text = POLICY.replace(
        "context { principal: User ", "context { principal: User  peers: set<User> = [] "
    )
    text += """rule peer: allow {
  when some p in peers: p in Team::"eng" and has p.manager
  cite "peers"
  reason "{p} managed by {p.manager} of {p.manager.dept}; peers {peers}"
}
"""
    policy = policydsl.loads(text, backend=backend)
    policy.load_entities(ENTITIES)
    decision = policy.decide({**ALICE, "action": "write", "peers": ["loop", "bob", "alice"]})
    assert dict(zip(decision.rules, decision.reasons, strict=True))["peer"] == (
        'User::"alice" managed by User::"bob" of mgmt; '
        'peers User::"alice", User::"bob", User::"loop"'
    )


@pytest.mark.parametrize("backend", policydsl.BACKENDS)
def test_explain_resolves_entities_in_the_policys_store(backend: str) -> None:
    policy = loaded(backend)
    data = policy.explanation({"principal": "loop", "resource": "r1"}, ["owns"])
    reads = {
        k: v for rule in data["explained"] for t in rule["tests"] for k, v in t["reads"].items()
    }
    assert reads["principal"] == 'User::"loop"'
    assert reads["principal.manager"] == 'User::"loop"'  # the uid: its references not walked
    assert reads["resource.owner"] == 'User::"alice"'
    json.dumps(data)  # plain JSON data
    text = policy.explain(ALICE, ["frozen"])
    assert '(resource.owner = User::"alice", principal = User::"alice")' in text
    assert 'principal in Team::"eng"    (principal = User::"alice")' in text
    with pytest.raises(policydsl.ContextError, match="no User 'zed' in the entity data"):
        policy.explain({"principal": "zed", "resource": "r1"})


# ---- policyc eval and explain ------------------------------------------------------------------


def test_eval_and_explain_take_entities(files: Path) -> None:
    result = run(
        "eval", "-p", files / "p.policy", "--entities", files / "people.json", files / "alice.json"
    )
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["reasons"]) == sorted(REASONS)
    result = run(
        "explain",
        "-p",
        files / "p.policy",
        "--entities",
        files / "people.json",
        files / "alice.json",
    )
    assert result.exit_code == 0 and "allow by `owns`" in result.stdout
    result = run(
        "explain", "--format", "json", "-p", files / "p.policy",
        "--entities", files / "people.json", files / "alice.json",
    )  # fmt: skip
    assert json.loads(result.stdout)["rules"] == ["eng", "owns", "senior"]
    without = run("eval", "-p", files / "p.policy", files / "alice.json")
    assert without.exit_code == 3
    assert "`principal`: no User 'alice' in the entity data" in without.stderr


@pytest.mark.parametrize("command", ["eval", "explain", "test", "diff"])
def test_a_bad_entity_file_is_one_line_and_exit_3(files: Path, command: str) -> None:
    cases = files / "t.cases.json"
    cases.write_text(json.dumps({"cases": [{"context": ALICE, "expect": {"decision": "allow"}}]}))
    args: dict[str, list[Any]] = {
        "eval": ["eval", "-p", files / "p.policy", files / "alice.json"],
        "explain": ["explain", "-p", files / "p.policy", files / "alice.json"],
        "test": ["test", "-p", files / "p.policy", cases],
        "diff": [
            "diff",
            files / "p.policy",
            files / "p.policy",
            "--requests",
            files / "alice.json",
        ],
    }
    result = run(*args[command], "--entities", files / "bad.json")
    assert result.exit_code == 3, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("policyc: ") and "Traceback" not in result.output
    assert 'User::"eve": `level`: expected an integer' in line
    (files / "broken.json").write_text("[{")
    result = run(*args[command], "--entities", files / "broken.json")
    assert result.exit_code == 3 and "is not valid JSON" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_eval_help_documents_the_option() -> None:
    for command in ("eval", "explain", "test", "serve", "diff"):
        assert "--entities FILE" in run(command, "--help").stdout
    assert '"entities": "people.json"' in " ".join(run("test", "--help").stdout.split())


def test_batch_decides_with_the_entities_in_worker_processes(files: Path) -> None:
    lines = [ALICE, {"principal": "bob", "resource": "r1", "action": "delete"}] * 50
    lines.append({"principal": "zed", "resource": "r1"})
    batch = files / "batch.jsonl"
    batch.write_text("".join(json.dumps(x) + "\n" for x in lines))
    outputs = []
    for jobs in ("1", "2"):
        done = subprocess.run(
            [
                sys.executable, "-m", "policydsl", "eval", "-p", str(files / "p.policy"),
                "--entities", str(files / "people.json"), "--batch", str(batch), "--jobs", jobs,
            ],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 3, done.stderr  # the one unknown user
        outputs.append(done.stdout)
        decided = [json.loads(x) for x in done.stdout.splitlines()]
        assert [d.get("decision") for d in decided[:2]] == ["allow", "deny"]
        assert sorted(decided[0]["reasons"]) == sorted(REASONS)
        assert "no User 'zed'" in decided[-1]["error"]
    assert outputs[0] == outputs[1]


def test_spawned_workers_receive_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where workers cannot fork, the policy travels pickled, its entity data with it."""
    import io
    import multiprocessing

    from policydsl import batch

    policy = loaded()
    copy = pickle.loads(pickle.dumps(policy))
    assert len(copy.entities) == len(policy.entities) and copy.decide(ALICE) == policy.decide(ALICE)
    alice = copy.entities.get("User", "alice")
    assert alice is not None and alice["manager"] is copy.entities.get("User", "bob")
    assert alice.ancestors == {'User::"alice"', 'Team::"backend"', 'Team::"eng"'}
    monkeypatch.setattr(batch, "_context", lambda: multiprocessing.get_context("spawn"))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    lines = b"".join(json.dumps(ALICE).encode() + b"\n" for _ in range(40))
    out = io.BytesIO()
    done = batch.run(policy, io.BytesIO(lines), out, lambda n, m: None, limit=10**6, jobs=2)
    assert done.invalid == 0
    assert {json.loads(x)["decision"] for x in out.getvalue().splitlines()} == {"allow"}


def test_a_worker_unpickling_the_same_store_again_reuses_its_policy() -> None:
    policy = loaded()
    data = pickle.dumps(policy)
    first, again = pickle.loads(data), pickle.loads(data)
    assert first is again and first.entities.token == policy.entities.token
    other = policydsl.loads(POLICY)
    other.load_entities(ENTITIES[:3])
    third = pickle.loads(pickle.dumps(other))
    assert third is not first and len(third.entities) == 3
    assert len(first.entities) == len(ENTITIES) + 1


def test_a_long_chain_of_references_pickles_flat() -> None:
    policy = policydsl.loads(POLICY)
    chain = [{"uid": {"type": "User", "id": "u0"}, "attrs": {"dept": "d", "level": 0}}]
    for i in range(1, 20_000):
        attrs = {"dept": "d", "level": i, "manager": f"u{i - 1}"}
        chain.append({"uid": {"type": "User", "id": f"u{i}"}, "attrs": attrs})
    store = pickle.loads(pickle.dumps(policy.entity_store(chain)))
    last = store.get("User", "u19999")
    assert last is not None and last["manager"]["manager"].uid == 'User::"u19997"'


# ---- policyc test ------------------------------------------------------------------------------


def test_case_files_name_their_entities(files: Path) -> None:
    expect = {"decision": "allow", "rules": ["eng", "owns", "senior"]}
    case = {"name": "alice", "context": ALICE, "expect": expect}
    unknown = {"name": "zed", "context": {"principal": "zed", "resource": "r1"}}
    unknown["expect"] = {"context_error": "principal"}
    (files / "a.cases.json").write_text(
        json.dumps({"policy": "p.policy", "entities": "people.json", "cases": [case, unknown]})
    )
    (files / "b.cases.json").write_text(
        json.dumps({"policy": "p.policy", "entities": ENTITIES, "cases": [case]})
    )
    header = json.dumps({"policy": "p.policy", "entities": "people.json"})
    (files / "c.cases.jsonl").write_text(header + "\n" + json.dumps(case) + "\n")
    (files / "d.cases.json").write_text(json.dumps({"policy": "p.policy", "cases": [case]}))
    result = run("test", files / "a.cases.json", files / "b.cases.json", files / "c.cases.jsonl")
    assert result.exit_code == 0, result.output
    assert "ok: 4 passed, 0 failed" in result.stdout
    # no entities of its own: the --entities file, else none
    assert run("test", files / "d.cases.json").exit_code == 1
    result = run("test", files / "d.cases.json", "--entities", files / "people.json")
    assert result.exit_code == 0, result.output
    # a file's own entities replace --entities
    (files / "e.cases.json").write_text(
        json.dumps({"policy": "p.policy", "entities": "bad.json", "cases": [case]})
    )
    result = run("test", files / "e.cases.json", "--entities", files / "people.json")
    assert result.exit_code == 1
    assert "ERROR" in result.stdout and 'User::"eve": `level`' in result.stdout


def test_coverage_traces_cases_with_their_entities(files: Path) -> None:
    case = {"name": "alice", "context": ALICE, "expect": {"decision": "allow"}}
    (files / "a.cases.json").write_text(
        json.dumps({"policy": "p.policy", "entities": "people.json", "cases": [case]})
    )
    result = run("test", "--coverage", "--format", "json", files / "a.cases.json")
    assert result.exit_code == 0, result.output
    (found,) = json.loads(result.stdout)["coverage"]
    fired = {r["id"]: r["fired"] for r in found["rules"]}
    assert fired == {"owns": 1, "eng": 1, "senior": 1, "frozen": 0, "loops": 0}


# ---- policyc serve ------------------------------------------------------------------------------


def test_the_holder_reloads_entities_atomically(files: Path) -> None:
    from policydsl.reload import PolicyHolder

    people = files / "people.json"
    holder = PolicyHolder([files / "p.policy"], entities=people)
    assert holder.last is not None and holder.last.outcome == "loaded"
    assert holder.last.to_dict()["entities"] == len(ENTITIES) + 1  # and Team::"ops", named
    first = holder.current
    assert first is not None and first.decide(ALICE).decision == "allow"
    assert holder.reload().outcome == "unchanged"
    assert people in holder.files()
    people.write_text(json.dumps(BAD))
    outcome = holder.reload()
    assert outcome.outcome == "rejected" and holder.current is first
    (diagnostic,) = outcome.diagnostics
    assert 'User::"eve": `level`: expected an integer' in diagnostic.message
    assert first.decide(ALICE).decision == "allow"  # the old store still serves
    people.write_text("[")
    assert holder.reload().outcome == "rejected"
    without = [e for e in ENTITIES if e["uid"]["id"] not in ("alice", "r1")]
    people.write_text(json.dumps(without))
    assert holder.reload().outcome == "loaded" and holder.current is first
    with pytest.raises(policydsl.ContextError, match="no User 'alice'"):
        first.decide(ALICE)
    (files / "p.policy").write_text(POLICY.replace("level > 3", "level > 9"))
    people.write_text(json.dumps(ENTITIES))
    outcome = holder.reload()
    assert outcome.outcome == "loaded" and holder.current is not first
    assert holder.current.decide(ALICE).rules == ("eng", "owns")


def test_a_change_to_the_entity_file_is_seen_by_the_watcher(files: Path) -> None:
    import time

    from policydsl.reload import PolicyHolder

    holder = PolicyHolder([files / "p.policy"], entities=files / "people.json")
    holder.watch(debounce=0.05, poll=0.05)
    time.sleep(0.5)  # the watcher's first look at the files, before they change
    try:
        without = [e for e in ENTITIES if e["uid"]["id"] not in ("alice", "r1")]
        (files / "people.json").write_text(json.dumps(without))
        deadline = time.monotonic() + 15
        while holder.last is None or holder.last.trigger != "watch":
            assert time.monotonic() < deadline, "the change was not seen"
            time.sleep(0.05)
        assert holder.last.outcome == "loaded" and holder.last.entities == len(without)
    finally:
        holder.stop_watching()


@pytest.mark.slow
def test_policyc_serve_watches_the_entity_file(files: Path) -> None:
    """A real process: the entity file's change is seen (watchfiles, or polling), a bad one is
    rejected and the store in force keeps serving."""
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    import time

    sys.path.insert(0, str(ROOT / "tests"))
    from serve_process import ServeProcess
    from test_service import Client

    people = files / "data" / "people.entities"  # any suffix: the file itself is watched
    people.parent.mkdir()
    people.write_text(json.dumps(ENTITIES))
    served = ServeProcess(["-p", str(files / "p.policy"), "--entities", str(people)], ROOT)
    process, lines, until = served.process, served.lines, served.until
    try:
        port = served.port(20)
        client = Client(port, token=None)
        assert client.decide(ALICE)[1]["result"]["decision"] == "allow"
        time.sleep(0.5)
        without = [e for e in ENTITIES if e["uid"]["id"] not in ("alice", "r1")]
        without.append({"uid": {"type": "Repo", "id": "r1"}, "attrs": {"owner": "bob"}})
        people.write_text(json.dumps(without))
        until(lambda: client.call("GET", "/v1/policy")[1]["entities"] == len(without))
        assert client.decide(ALICE)[0] == 400
        bob = {"principal": "bob", "resource": "r1"}
        assert client.decide(bob)[1]["result"]["rules"] == ["owns"]
        people.write_text(json.dumps(BAD))
        until(lambda: client.call("GET", "/v1/policy")[1]["last_reload"]["outcome"] == "rejected")
        assert client.decide(bob)[1]["result"]["rules"] == ["owns"]  # the store in force
        assert any('User::"eve": `level`' in line for line in lines)
    finally:
        process.terminate()
        process.wait(20)


def test_serve_refuses_to_start_on_bad_entities(files: Path) -> None:
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    result = run("serve", "-p", files / "p.policy", "--entities", files / "bad.json")
    assert result.exit_code == 1
    assert 'User::"eve": `level`: expected an integer' in result.stderr
    assert "Traceback" not in result.output


def test_the_service_decides_explains_and_describes_with_entities(files: Path) -> None:
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    sys.path.insert(0, str(ROOT / "tests"))
    from test_service import Client, Server

    from policydsl.reload import PolicyHolder
    from policydsl.service import create_app

    holder = PolicyHolder([files / "p.policy"], entities=files / "people.json")
    with Server(create_app(holder)) as server:
        client = Client(server.port, token=None)
        status, body = client.decide(ALICE)
        assert status == 200 and sorted(body["result"]["reasons"]) == sorted(REASONS)
        status, body, _ = client.call("POST", "/v1/explain", {"input": ALICE})
        assert status == 200 and body["result"]["rules"] == ["eng", "owns", "senior"]
        status, body, _ = client.call("GET", "/v1/policy")
        assert body["entities"] == len(ENTITIES) + 1
        (files / "people.json").write_text(json.dumps(BAD))
        status, body, _ = client.call("POST", "/v1/reload")
        assert body["outcome"] == "rejected" and "`level`" in body["diagnostics"][0]["message"]
        assert client.decide(ALICE)[0] == 200  # the entities in force keep serving
        status, body = client.decide({"principal": "zed", "resource": "r1"})
        assert status == 400 and body["error"]["attribute"] == "principal"


# ---- proofs, lints, the compiled artifact -------------------------------------------------------


def test_verify_and_diff_say_they_do_not_cover_entities(files: Path) -> None:
    pytest.importorskip("z3")
    (files / "q.policy").write_text(
        POLICY.replace('when action == "delete"', 'when action == "read"')
    )
    result = run("verify", files / "p.policy", "--never-fires", "owns")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "does not cover entities of type `User`" in result.stdout
    result = run("diff", files / "p.policy", files / "q.policy")
    assert result.exit_code == 1
    assert "not decided: the encoding does not cover entities" in result.stdout
    assert "different:" not in result.stdout
    replay = files / "log.jsonl"
    replay.write_text(json.dumps({"principal": "alice", "resource": "r1"}) + "\n")
    result = run("diff", files / "p.policy", files / "q.policy", "--requests", replay)
    assert "1 requests, 0 changed, 1 invalid" in result.stdout  # without the entities
    result = run(
        "diff", files / "p.policy", files / "q.policy", "--requests", replay,
        "--entities", files / "people.json",
    )  # fmt: skip
    assert "1 requests, 1 changed, 0 invalid" in result.stdout


def test_lints_read_entity_policies(files: Path) -> None:
    text = (
        POLICY
        + 'rule twice: allow { when principal in Team::"eng" and principal in Team::"eng" }\n'
    )
    text += 'rule again: allow { when has resource.owner cite "c" reason "r" }\n'
    text += "rule never: deny {\n  when has principal.manager and principal.manager.level > 5\n"
    text += '    and principal.manager.level < 3\n  cite "c" reason "r"\n}\n'
    (files / "l.policy").write_text(text)
    result = run("check", "--format", "json", files / "l.policy")
    assert result.exit_code == 0, result.output
    found = {d["code"]: d["message"] for d in json.loads(result.stdout)["diagnostics"]}
    assert {"W405", "W301", "W201"} <= set(found)
    assert "no value of `principal.manager.level` passes" in found["W201"]


def test_the_compiled_artifact_round_trips_entity_types() -> None:
    from policydsl import artifact

    policy = policydsl.loads(POLICY)
    lowered = policy.lowered()
    data = json.loads(json.dumps(artifact.encode(lowered, policy.warnings, None, policy.sources)))
    stored = artifact.decode(data, policy.sources)
    assert stored.lowered == lowered
    rebuilt = policydsl.Policy._prebuilt(
        stored.lowered,
        None,
        backend="compiled",
        fail_closed=False,
        warnings=(),
        sources=policy.sources,
    )
    rebuilt.load_entities(ENTITIES)
    assert rebuilt.decide(ALICE) == loaded().decide(ALICE)
    result = run("compile", "--emit", "python")
    assert result.exit_code == 0


def test_entity_data_errors_name_the_attribute_without_its_separator() -> None:
    with pytest.raises(EntityDataError) as caught:
        policydsl.loads(POLICY).entity_store(BAD)
    assert (caught.value.entity, caught.value.attribute) == ('User::"eve"', "level")


# ---- editors -----------------------------------------------------------------------------------


def index_of(text: str) -> Any:
    from policydsl.parser import parse
    from policydsl.source import Source
    from policydsl.symbols import Index

    source = Source("p.policy", text)
    tree, _ = parse(source)
    assert tree is not None
    return Index([(source, tree)])


def test_completion_offers_entity_types_and_attributes_through_references() -> None:
    from policydsl.completion import complete

    index = index_of(POLICY)

    def labels(text: str, marker: str) -> list[str]:
        return [i.label for i in complete(index, text, text.index(marker) + len(marker)) if i.first]

    text = POLICY.replace("resource.owner == principal", "principal.")
    assert labels(text, "principal.") == ["dept", "level", "manager"]
    text = POLICY.replace("resource.owner == principal", "resource.owner.manager.")
    assert labels(text, "resource.owner.manager.") == ["dept", "level", "manager"]
    text = POLICY.replace("resource.owner == principal", "resource.")
    assert labels(text, "resource.") == ["owner", "readers"]
    text = POLICY.replace("  level: int\n", "  level: int\n  mentor: Us\n")
    found = labels(text, "mentor: Us")
    assert found[:3] == ["Team", "User", "Repo"] and "int" in found
    text = POLICY.replace("entity User in [Team]", "entity User in [Te")
    assert "Team" in labels(text, "in [Te")


def test_hover_on_an_attribute_that_holds_an_entity() -> None:
    from policydsl.hover import hover

    index = index_of(POLICY)
    text, _ = hover(index, "p.policy", POLICY.index("manager.level") + 2)
    assert "attribute `manager` of entity `User`" in text
    assert "holds an entity `User` in [Team]" in text
    text, _ = hover(index, "p.policy", POLICY.index("owner == principal") + 1)
    assert "attribute `owner` of entity `Repo`" in text
    text, _ = hover(index, "p.policy", POLICY.index("manager.level") + 9)
    assert "attribute `level` of entity `User`" in text
    text, _ = hover(index, "p.policy", POLICY.index('Team::"eng"') + 1)
    assert "entity type" in text


def test_highlighters_know_entity_declarations_and_literals() -> None:
    pytest.importorskip("pygments")
    import re

    from pygments.token import Keyword, Name, Operator, Punctuation, String

    from policydsl.pygments_lexer import PolicyLexer

    tokens = [(k, v) for k, v in PolicyLexer().get_tokens(POLICY) if v.strip()]
    assert (Keyword.Declaration, "entity") in tokens and (Name.Class, "User") in tokens
    at = tokens.index((Name.Class, "Team"), tokens.index((Operator.Word, "in")) + 1)
    assert tokens[at + 1 : at + 3] == [(Punctuation, "::"), (String.Double, '"')]
    grammar = json.loads((ROOT / "editors/vscode/syntaxes/policy.tmLanguage.json").read_text())
    literal = grammar["repository"]["entity-literal"]["match"]
    assert re.search(literal, 'principal in Team::"eng"').group(1, 2) == ("Team", "::")
    declaration = grammar["repository"]["declaration-name"]["patterns"][1]["match"]
    assert re.search(declaration, "entity User in [Team]").group(2) == "User"


def test_the_language_server_recovers_entity_declarations_past_an_error() -> None:
    """An entity declaration starts a block of its own, so a broken rule below it (the text
    as typed) leaves it, its attributes and what reads them to hover and completion."""
    from policydsl.parser import parse
    from policydsl.pieces import Pieces, recover
    from policydsl.source import Source
    from policydsl.symbols import Index

    broken = POLICY.replace("entity Repo", "rule typing: allow { when principal.\nentity Repo")
    source = Source("p.policy", broken)
    assert parse(source)[0] is None
    whole, blocks = Pieces().parse(source)
    recovered = recover(source, blocks)
    assert whole is None and recovered is not None
    names = [d.name.name for d in recovered.decls if hasattr(d, "name")]
    assert {"Team", "User", "Repo", "owns"} <= set(names)
    index = Index([(source, recovered)])
    assert [s.name for s in index.children_at(["principal", "manager"])] == [
        "User.dept",
        "User.level",
        "User.manager",
    ]


def test_completion_of_a_variable_over_a_set_of_entities() -> None:
    from policydsl.completion import complete

    text = POLICY.replace(
        "context { principal: User ", "context { principal: User  peers: set<User> = [] "
    )
    index = index_of(text)
    typed = text.replace("resource.owner == principal", "some p in peers: p.manager.")
    at = typed.index("p.manager.") + len("p.manager.")
    assert [i.label for i in complete(index, typed, at) if i.first] == ["dept", "level", "manager"]
    typed = text.replace("resource.owner == principal", "some p in peers: p.")
    at = typed.index("peers: p.") + len("peers: p.")
    assert [i.label for i in complete(index, typed, at) if i.first] == ["dept", "level", "manager"]


def test_hover_through_a_variable_over_a_set_of_entities() -> None:
    from policydsl.hover import hover

    text = POLICY.replace(
        "context { principal: User ", "context { principal: User  peers: set<User> = [] "
    )
    text = text.replace(
        "resource.owner == principal", 'some p in peers: p.manager.level > 1 and p.dept == "x"'
    )
    index = index_of(text)
    found = hover(index, "p.policy", text.index("p.manager.level") + 3)
    assert found is not None and "attribute `manager` of entity `User`" in found[0]
    found = hover(index, "p.policy", text.index("manager.level > 1") + 9)
    assert found is not None and "attribute `level` of entity `User`" in found[0]
    found = hover(index, "p.policy", text.index('p.dept == "x"') + 3)
    assert found is not None and "attribute `dept` of entity `User`" in found[0]
