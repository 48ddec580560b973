"""Decision logs: records reach the sink masked and in order; a full queue or a failing sink drops
records, and every dropped record is counted and reported; metrics render as Prometheus text."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from policydsl.decision_log import MASKED, DecisionLog, JsonLinesFile, Mask
from policydsl.metrics import Registry

POLICY = {"version": "1", "fingerprint": "sha256:00"}
RESULT = {"decision": "allow", "rules": []}


class Memory:
    """A sink that keeps what it is given; `gate` holds the writer until it is set."""

    def __init__(self, *, fail: bool = False) -> None:
        self.lines: list[str] = []
        self.fail = fail
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()  # set once the writer is inside `write`
        self.closed = False

    def write(self, lines: Sequence[str]) -> None:
        self.entered.set()
        self.gate.wait(10)
        if self.fail:
            raise OSError("the disk is full")
        self.lines.extend(lines)

    def close(self) -> None:
        self.closed = True


def test_records_reach_a_json_lines_file_in_order(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    log = DecisionLog(JsonLinesFile(path))
    for i in range(100):
        assert log.record(f"id-{i}", {"n": i}, RESULT, POLICY, path="/v1/decide", at=0.5)
    log.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["decision_id"] for r in records] == [f"id-{i}" for i in range(100)]
    assert records[0] == {
        "decision_id": "id-0",
        "time": "1970-01-01T00:00:00.500000Z",
        "path": "/v1/decide",
        "input": {"n": 0},
        "result": RESULT,
        "policy": POLICY,
    }
    assert log.written == 100 and log.dropped == {"queue_full": 0, "sink_error": 0}
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_dash_is_standard_output_left_open(capsys: pytest.CaptureFixture[str]) -> None:
    log = DecisionLog(JsonLinesFile("-"))
    log.record("one", {"n": 1}, RESULT, POLICY, at=0)
    log.close()
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["decision_id"] == "one"
    print("stdout still open")


def test_masking_replaces_only_the_named_attributes_present() -> None:
    mask = Mask(["user.id", "content", "a.b.c", ""])
    value = {"user": {"id": "alice", "age": 3}, "content": {"x": 1}, "a": {"b": 5}, "z": None}
    masked, done = mask.apply(value)
    assert masked == {"user": {"id": MASKED, "age": 3}, "content": MASKED, "a": {"b": 5}, "z": None}
    assert sorted(done) == ["content", "user.id"]
    assert value["user"]["id"] == "alice"  # the caller's input is not changed
    assert mask.apply("not an object") == ("not an object", [])
    assert not Mask([]) and Mask(["x"])
    # a shorter path masks everything below it, whichever order they are given in
    assert Mask(["u", "u.id"]).apply({"u": {"id": 1}})[0] == {"u": MASKED}


def test_a_full_queue_drops_and_counts_never_blocks(caplog: pytest.LogCaptureFixture) -> None:
    sink = Memory()
    sink.gate.clear()  # the sink is stuck
    log = DecisionLog(sink, max_queue=5)
    assert log.record("first", {}, RESULT, POLICY)
    assert sink.entered.wait(10)  # the writer holds the first record, stuck in the sink
    started = time.perf_counter()
    accepted = [log.record(str(i), {}, RESULT, POLICY) for i in range(49)]
    assert time.perf_counter() - started < 1  # never waits for the sink
    assert accepted == [True] * 5 + [False] * 44  # the queue holds 5
    dropped = log.dropped["queue_full"]
    assert dropped == 44
    with caplog.at_level(logging.WARNING, "policydsl.decision_log"):
        sink.gate.set()
        log.close()
    assert len(sink.lines) + dropped == 50
    assert log.written == len(sink.lines)
    assert any("queue was full" in r.message for r in caplog.records)
    assert any("dropped in all" in r.message for r in caplog.records)
    assert sink.closed


def test_a_failing_sink_loses_records_counted(caplog: pytest.LogCaptureFixture) -> None:
    sink = Memory(fail=True)
    log = DecisionLog(sink)
    with caplog.at_level(logging.WARNING, "policydsl.decision_log"):
        for i in range(10):
            log.record(str(i), {}, RESULT, POLICY)
        log.close()
    assert log.dropped == {"queue_full": 0, "sink_error": 10} and log.written == 0
    assert any("the disk is full" in r.message for r in caplog.records)


def test_a_record_that_cannot_be_written_is_counted_not_fatal() -> None:
    sink = Memory()
    log = DecisionLog(sink)
    log.record("bad", {"n": float("nan")}, RESULT, POLICY)  # JSON has no NaN
    log.record("good", {}, RESULT, POLICY)
    log.close()
    assert log.dropped["sink_error"] + log.written == 2
    assert log.dropped["sink_error"] >= 1


def test_metrics_render_as_prometheus_text() -> None:
    registry = Registry()
    count = registry.counter("things_total", "Things.")
    count.inc(effect="deny")
    count.inc(2, effect="deny")
    count.inc(effect='we"ird\n')
    hist = registry.histogram("took_seconds", "Time.", buckets=(0.1, 1.0))
    hist.observe(0.05, endpoint="a")
    hist.observe(0.5, endpoint="a")
    hist.observe(5, endpoint="a")
    registry.gauge("info", "Info.", lambda: [({"v": "1"}, 1)])
    text = registry.render()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert lines[:2] == ["# HELP things_total Things.", "# TYPE things_total counter"]
    assert 'things_total{effect="deny"} 3' in lines
    assert 'things_total{effect="we\\"ird\\n"} 1' in lines
    assert 'took_seconds_bucket{endpoint="a",le="0.1"} 1' in lines
    assert 'took_seconds_bucket{endpoint="a",le="1.0"} 2' in lines
    assert 'took_seconds_bucket{endpoint="a",le="+Inf"} 3' in lines
    assert 'took_seconds_count{endpoint="a"} 3' in lines
    assert 'info{v="1"} 1' in lines
    assert count.value(effect="deny") == 3 and hist.count(endpoint="a") == 3


def test_a_requests_fractions_are_logged_as_read() -> None:
    """The request reader keeps a JSON fraction exact (`Decimal`): the log writes it as the
    number it is when a float holds it, else as its exact text; never drops the record."""
    from decimal import Decimal

    sink = Memory()
    log = DecisionLog(sink)
    request = {"a": Decimal("0.85"), "b": Decimal("0.30000000000000001"), "c": Decimal("1E+999")}
    assert log.record("id", request, RESULT, POLICY, at=0.5)
    log.close()
    (line,) = sink.lines
    assert json.loads(line)["input"] == {"a": 0.85, "b": "0.30000000000000001", "c": "1E+999"}
    assert log.dropped == {"queue_full": 0, "sink_error": 0}
