"""`policyc eval --batch`: worker processes give exactly the single-process output in input order
(invalid, blank and oversized lines included), the summary counts what was decided, progress
shows only where asked, and the fast JSON path reads exactly what the strict one reads."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

import policydsl
from policydsl import batch, request_json
from policydsl.cli import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LINES = (EXAMPLES / "batch.jsonl").read_text().splitlines() + (
    EXAMPLES / "batch_with_errors.jsonl"
).read_text().splitlines()


def mixed_batch(count: int, seed: int = 7) -> bytes:
    """Valid lines, invalid ones, blank ones and one far too long."""
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        pick = rng.random()
        if pick < 0.05:
            lines.append("")
        elif pick < 0.1:
            lines.append('{"user": {"age": "old"}}')
        elif pick < 0.12:
            lines.append("{oops")
        elif i == count // 2:
            lines.append(json.dumps({"user": {"id": "x" * 5000}}))
        else:
            lines.append(rng.choice(LINES))
    return ("\n".join(lines) + "\n").encode()


def run(*args: str, input: bytes | None = None) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["eval", *args], input=input)
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["2", "3"])
def test_workers_give_the_single_process_output(
    tmp_path: Path, jobs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(mixed_batch(3000))
    monkeypatch.setattr(batch, "BLOCK", 4096)  # many blocks, lines cut across block ends
    monkeypatch.setattr("policydsl.cli.MAX_REQUEST_BYTES", 2000)
    one = run("--batch", str(path))
    many = run("--batch", str(path), "--jobs", jobs)
    assert one[0] == many[0] == 3
    assert one[1] == many[1]
    assert one[2] == many[2].replace(many[2].splitlines()[-1], one[2].splitlines()[-1])
    decided = [json.loads(line) for line in one[1].splitlines()]
    assert any("larger than" in d.get("error", "") for d in decided)


def test_blocks_cut_at_newlines_and_skip_long_lines() -> None:
    data = b'{"a": 1}\n\n' + b"x" * 50 + b"\n{}\n" + b"y" * 30 + b"\nlast"
    blocks = list(batch._blocks(io.BytesIO(data), limit=20, size=8))
    lines = [line for block in blocks for line in batch._lines(block, 20)]
    expected = list(batch.iter_lines(io.BytesIO(data), 20))
    assert [(n, line if line is None else line.rstrip(b"\n")) for n, line in expected] == lines


@pytest.mark.parametrize("size", [1, 7, 8, 64])
def test_ranges_are_where_the_blocks_are(size: int) -> None:
    """Workers that read a regular file themselves read, at each range, the block the main
    process would have sent, with the same numbering (long lines skipped alike)."""
    data = b'{"a": 1}\n\n' + b"x" * 50 + b"\n{}\n" + b"y" * 30 + b"\nlast"
    blocks = list(batch._blocks(io.BytesIO(data), limit=20, size=size))
    ranges = list(batch._ranges(io.BytesIO(data), limit=20, size=size))
    read = [(n, None if r is None else data[r[0] : r[0] + r[1]]) for n, r in ranges]
    assert read == blocks


def test_the_summary_counts_lines_effects_and_invalid_ones() -> None:
    code, _, err = run("--batch", str(EXAMPLES / "batch_with_errors.jsonl"))
    assert code == 3
    summary = err.splitlines()[-1]
    assert summary.startswith("policyc: ")
    assert "6 lines; 5 decided (allow 1, deny 2, review 2); 1 invalid in" in summary
    code, _, err = run("--batch", str(EXAMPLES / "batch.jsonl"), "--no-summary")
    assert code == 0 and err == ""


def test_progress_only_where_asked() -> None:
    _, _, err = run("--batch", str(EXAMPLES / "batch.jsonl"), "--no-summary")
    assert "lines/s" not in err  # stderr is not a terminal here
    stream = io.StringIO()
    meter = batch.Progress(stream, total_bytes=100, interval=0)
    meter.update(10, 50)
    meter.done()
    assert "\rpolicyc: 10 lines (50%)" in stream.getvalue()
    assert stream.getvalue().endswith("\r\x1b[K")


@pytest.mark.parametrize(
    "data",
    [
        b'{"user": {"age": 30}}',
        b'{"user": {"age": 30, "age": 31}}',  # a duplicate: the strict path names it
        b'{"a": ":", "a": 1}',  # a colon in a string, and a duplicate
        b'{"a": {"b": 1}, "c": {"b": 2}}',
        b'{"n": 123456789012345678901234567890}',  # past 64 bits
        b'{"n": NaN}',
        b"\xef\xbb\xbf{}",  # a byte-order mark
        b'{"s": "\\ud800"}',
        b"[" * 600 + b"]" * 600,
        b'{"\\u00e9": "\\u00e9"}',
        b'{"x": 1.5e300, "y": -0.0, "z": [true, false, null]}',
        b'{"a": "\\u003a", "a": 1}',  # an escaped colon would hide the repeated key's
        b'{"a": "\\u003A", "b": {"c": 1, "c": 2}}',
        b'{"a": ":", "b": {"c": 1, "c": 2}}',
        b'{"v": "1.5", "w": "x:y"}',  # a float's shape inside a string, a colon too
        b'{"n": 1234567890123456789, "m": -9223372036854775808}',  # 19 digits, 64 bits
        b'{"n": -9223372036854775809}',  # past 64 bits, negative
        b'{"n": 18446744073709551616}',
        b'{"t": "a\\"b:c", "u": ["\\\\", ":"]}',  # escapes around colons in strings
    ],
)
def test_the_fast_path_reads_what_the_strict_one_reads(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read() -> object:
        try:
            return request_json.parse_request(data)
        except request_json.RequestError as err:
            return str(err)

    fast = read()
    monkeypatch.setattr(request_json, "_orjson", None)
    assert read() == fast


def _random_json(rng: random.Random, depth: int = 0) -> str:
    """JSON text built to probe the fast path's proof: few key names (so repeats are common),
    colons and escaped colons in strings, numbers near 64 bits and floats."""
    pick = rng.random()
    if depth < 3 and pick < 0.3:
        keys = [rng.choice(['"a"', '"b"', '"a:"', '"\\u003a"', '"c\\u003A"']) for _ in range(3)]
        items = [f"{k}: {_random_json(rng, depth + 1)}" for k in keys[: rng.randint(0, 3)]]
        return "{" + ", ".join(items) + "}"
    if depth < 3 and pick < 0.4:
        return "[" + ", ".join(_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    return rng.choice(
        [
            '":"',
            '"\\u003a"',
            '"x"',
            "1",
            "-0",
            "1.5",
            "1e3",
            "9223372036854775808",
            "-9223372036854775809",
            "123",
            "true",
            "null",
            '"1.5"',
            '"\\\\:"',
        ]
    )


def test_the_fast_paths_proof_holds_on_random_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeded texts full of repeated keys, colons, escapes and big numbers: the fast path reads
    each as the strict path does, or refuses it the same way."""
    rng = random.Random(7)
    texts = [("{" + f'"k": {_random_json(rng)}' + "}").encode() for _ in range(3000)]

    def read(data: bytes) -> object:
        try:
            return request_json.parse_request(data)
        except request_json.RequestError as err:
            return str(err)

    fast = [read(t) for t in texts]
    monkeypatch.setattr(request_json, "_orjson", None)
    strict = [read(t) for t in texts]
    assert fast == strict
    assert sum(isinstance(v, str) for v in strict) > 100  # repeated keys were among them


def test_fast_output_is_the_standard_librarys() -> None:
    policy = policydsl.load_stdlib()
    values = [
        policy.decide(json.loads(line)).to_dict()
        for line in (EXAMPLES / "batch.jsonl").read_text().splitlines()
    ]
    values += [{"error": "caf\u00e9 \x1b \u202e"}, {"line": 3, "error": "x"}]
    for value in values:
        expected = json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode()
        assert request_json.dumps(value) == expected
