"""`policyc eval --batch`: decide a JSON Lines file, in one process or in `jobs` worker processes.

One process decides line by line; reading a pipe, it writes each decision as soon as its line
is decided (a consumer can stream through it). Worker processes take blocks of whole lines (the
main process only cuts the input at newlines) and give back their output, written in input
order; they inherit the compiled policy (fork), or rebuild it once each from its pickle.
Either way every line is read as the CLI reads a request (`request_json`, orjson when
installed) and the run ends with a `Summary`: lines, decisions by effect, invalid lines.
`Progress` shows where a run is on a terminal, and nowhere else.
"""

from __future__ import annotations

import collections
import gc
import multiprocessing
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import attrs

from policydsl.context import ContextError
from policydsl.decision import EvaluationError
from policydsl.request_json import RequestError, dumps, parse_request, too_large

if TYPE_CHECKING:
    from policydsl.engine import Policy

BLOCK = 256 * 1024  # bytes of whole lines a worker takes at once: passing them costs little


@attrs.define
class Summary:
    """What a batch run did; `line()` says it on one line."""

    lines: int = 0
    decided: collections.Counter[str] = attrs.field(factory=collections.Counter)
    invalid: int = 0
    failed: int = 0
    seconds: float = 0.0

    def add(self, other: Summary) -> None:
        self.lines += other.lines
        self.decided.update(other.decided)
        self.invalid += other.invalid
        self.failed += other.failed

    def line(self) -> str:
        effects = ", ".join(f"{effect} {n:,}" for effect, n in sorted(self.decided.items()))
        decided = sum(self.decided.values())
        rate = f", {self.lines / self.seconds:,.0f} lines/s" if self.seconds > 0 else ""
        parts = [
            f"{self.lines:,} line{'' if self.lines == 1 else 's'}",
            f"{decided:,} decided" + (f" ({effects})" if effects else ""),
            f"{self.invalid:,} invalid",
        ]
        if self.failed:
            parts.append(f"{self.failed:,} failed to evaluate")
        return "; ".join(parts) + f" in {self.seconds:.2f} s{rate}"


Line = tuple[int, bytes | None]  # (line number, its bytes; None: longer than the limit)
Problem = tuple[int, str]  # (line number, message) of a line not decided


def decide_lines(
    policy: Policy, lines: Iterable[Line], limit: int, pretty: bool
) -> tuple[list[bytes], list[Problem], Summary]:
    """Each line's output (a decision, or `{"line": N, "error": ...}`), the lines not decided,
    and the counts. Blank lines are not requests: no output, not counted."""
    out: list[bytes] = []
    problems: list[Problem] = []
    summary = Summary()
    for lineno, line in lines:
        text = decide_line(policy, lineno, line, limit, pretty, summary, problems)
        if text is not None:
            out.append(text)
    return out, problems, summary


def decide_line(
    policy: Policy,
    lineno: int,
    line: bytes | None,
    limit: int,
    pretty: bool,
    summary: Summary,
    problems: list[Problem],
) -> bytes | None:
    """One line's output, counted in `summary` (a problem also added to `problems`); None
    for a blank line."""
    if line is not None and not line.strip():
        return None
    summary.lines += 1
    try:
        if line is None:
            raise too_large(limit)
        result = policy.decide(parse_request(line, limit)).to_dict()
    except (RequestError, ContextError) as err:
        summary.invalid += 1
        message = str(err)
    except EvaluationError as err:
        summary.failed += 1
        message = f"evaluation failed: {err}"
    else:
        summary.decided[result["decision"]] += 1
        return _pretty(result) if pretty else dumps(result) + b"\n"
    problems.append((lineno, message))
    return dumps({"line": lineno, "error": message}) + b"\n"


def _pretty(value: Any) -> bytes:
    import json

    return json.dumps(value, indent=2).encode() + b"\n"


def iter_lines(stream: BinaryIO, limit: int) -> Iterator[Line]:
    """Numbered lines; a line longer than `limit` is skipped whole and yields `None`."""
    lineno = 0
    while line := stream.readline(limit + 1):
        lineno += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(limit + 1)
            yield lineno, None
        else:
            yield lineno, line


class Progress:
    """A one-line progress report on a terminal, redrawn at most every `interval` seconds:
    lines done, the share of the file read (when its size is known) and the rate."""

    def __init__(self, stream: IO[str], total_bytes: int | None, interval: float = 0.2):
        self.stream = stream
        self.total = total_bytes
        self.interval = interval
        self.started = time.monotonic()
        self.shown = 0.0

    def update(self, lines: int, position: int | None) -> None:
        now = time.monotonic()
        if now - self.shown < self.interval:
            return
        self.shown = now
        rate = lines / max(now - self.started, 1e-9)
        share = ""
        if self.total and position is not None:
            share = f" ({min(position / self.total, 1.0):.0%})"
        self.stream.write(f"\rpolicyc: {lines:,} lines{share}, {rate:,.0f} lines/s\x1b[K")
        self.stream.flush()

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def run(
    policy: Policy,
    stream: BinaryIO,
    out: BinaryIO,
    report: Callable[[int, str], None],
    *,
    limit: int,
    pretty: bool = False,
    jobs: int = 1,
    progress: Progress | None = None,
) -> Summary:
    """Decide every line of `stream`, writing to `out` in input order; `report(lineno,
    message)` for each line not decided. Returns the summary."""
    started = time.monotonic()
    if jobs <= 1:
        summary = _serial(policy, stream, out, report, limit, pretty, progress)
    else:
        summary = _parallel(policy, stream, out, report, limit, pretty, jobs, progress)
    summary.seconds = time.monotonic() - started
    if progress is not None:
        progress.done()
    return summary


def _position(stream: BinaryIO) -> int | None:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return None


def _serial(
    policy: Policy,
    stream: BinaryIO,
    out: BinaryIO,
    report: Callable[[int, str], None],
    limit: int,
    pretty: bool,
    progress: Progress | None,
) -> Summary:
    summary = Summary()
    # lines from a pipe or a terminal: a consumer sees each decision as soon as its line is
    # decided; from a file, output is flushed as its buffer fills (and before each problem is
    # reported, so that a terminal shows both in order)
    streaming = not _regular_file(stream)
    for lineno, line in iter_lines(stream, limit):
        problems: list[Problem] = []
        text = decide_line(policy, lineno, line, limit, pretty, summary, problems)
        if text is None:
            continue
        out.write(text)
        if streaming or problems:
            out.flush()
        for number, message in problems:
            report(number, message)
        if progress is not None:
            progress.update(summary.lines, _position(stream))
    out.flush()
    return summary


def _regular_file(stream: BinaryIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # BytesIO, a closed stream
        return False


# ---- worker processes -------------------------------------------------------------------------

_worker: tuple[Policy, int, bool] | None = None  # set in each worker by `_start_worker`


def _start_worker(policy: Policy, limit: int, pretty: bool, path: str | None = None) -> None:
    """A worker's state: the policy, and the input file when it reads its blocks itself."""
    global _worker, _input
    _worker = (policy, limit, pretty)
    _input = None if path is None else os.open(path, os.O_RDONLY)


_input: int | None = None  # the input file, in a worker that reads its own ranges of it

Block = tuple[int, bytes | None]  # (number of its first line, whole lines; None: one too long)
# (number of its first line, (offset, length) of whole lines in the input file; None: too long)
Range = tuple[int, tuple[int, int] | None]


def _work(block: Block) -> tuple[bytes, list[Problem], Summary]:
    assert _worker is not None
    policy, limit, pretty = _worker
    out, problems, summary = decide_lines(policy, _lines(block, limit), limit, pretty)
    return b"".join(out), problems, summary


def _work_range(block: Range) -> tuple[bytes, list[Problem], Summary]:
    """`_work` on lines the worker reads from the input file itself (`os.pread`): the main
    process never copies them through a pipe, only where they are."""
    assert _input is not None
    first, where = block
    if where is None:
        return _work((first, None))
    offset, length = where
    return _work((first, os.pread(_input, length, offset)))


def _ranges(stream: BinaryIO, limit: int, size: int | None = None) -> Iterator[Range]:
    """`_blocks` of a regular file as where they are in it: the same cuts (whole lines, about
    `size` bytes; a line longer than `limit` a block of its own, `None`), the same numbering."""
    for lineno, block, offset in _cut(stream, limit, size or BLOCK):
        yield lineno, None if block is None else (offset, len(block))


def _lines(block: Block, limit: int) -> Iterator[Line]:
    """A block's numbered lines, as `iter_lines` numbers them (a line past `limit`: None)."""
    first, data = block
    if data is None:
        yield first, None
        return
    pieces = data.split(b"\n")
    if pieces and not pieces[-1]:
        pieces.pop()  # the newline that ends the block
    for offset, line in enumerate(pieces):
        yield first + offset, None if len(line) > limit else line


def _blocks(stream: BinaryIO, limit: int, size: int | None = None) -> Iterator[Block]:
    """The stream in blocks of whole lines, about `size` bytes each: the main process only cuts
    at newlines, and workers split the lines. A line longer than `limit` is never held whole:
    it becomes a block of its own, `None`, and is skipped to its end."""
    for lineno, block, _ in _cut(stream, limit, size or BLOCK):  # read now: tests change it
        yield lineno, block


def _cut(stream: BinaryIO, limit: int, size: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(number of the first line, the block or None, its offset in the stream) of `_blocks`."""
    lineno = 1
    rest = b""
    rest_at = 0  # where `rest` starts in the stream
    read_at = 0  # where the next read starts
    skipping = False
    while data := stream.read(size):
        data_at, read_at = read_at, read_at + len(data)
        if skipping:
            end = data.find(b"\n")
            if end < 0:
                continue
            data, skipping = data[end + 1 :], False
            data_at += end + 1
        if rest:
            data, data_at = rest + data, rest_at
        cut = data.rfind(b"\n") + 1
        block, rest = data[:cut], data[cut:]
        rest_at = data_at + cut
        if block:
            yield lineno, block, data_at
            lineno += block.count(b"\n")
        if len(rest) > limit:
            yield lineno, None, rest_at
            lineno += 1
            rest, skipping = b"", True
    if rest:
        yield lineno, rest, rest_at


def _context() -> Any:
    """fork where there is one and this process runs one thread (`policyc`): each worker starts
    with the compiled policy, at no cost. spawn elsewhere, and in a process with other threads
    (whose locks a fork could copy held): the policy then travels pickled, by its sources, and
    is rebuilt once a worker."""
    methods = multiprocessing.get_all_start_methods()
    fork = "fork" in methods and threading.active_count() == 1
    return multiprocessing.get_context("fork" if fork else "spawn")


def _parallel(
    policy: Policy,
    stream: BinaryIO,
    out: BinaryIO,
    report: Callable[[int, str], None],
    limit: int,
    pretty: bool,
    jobs: int,
    progress: Progress | None,
) -> Summary:
    summary = Summary()
    sys.stdout.flush()

    def emit(done: tuple[bytes, list[Problem], Summary]) -> None:
        text, problems, counts = done
        out.write(text)
        out.flush()
        for lineno, message in problems:
            report(lineno, message)
        summary.add(counts)
        if progress is not None:
            progress.update(summary.lines, _position(stream))

    # a regular file's lines are read by the workers where they are: the main process only
    # finds the cuts, and no line passes through a pipe (a pipe's, or a stream's without a
    # path, are cut and sent as they are read)
    path = getattr(stream, "name", None)
    gc.freeze()  # what exists now (the policy): a forked worker's collector never scans it,
    try:  # so never writes to (and copies) the pages it shares with this process
        if isinstance(path, str) and _regular_file(stream):
            _by_ranges(policy, _ranges(stream, limit), path, limit, pretty, jobs, emit)
            return summary
        with _context().Pool(jobs, _start_worker, (policy, limit, pretty)) as pool:
            # in input order, with a bounded number of chunks in flight (memory stays flat
            # however long the file): the oldest is written before another is read
            pending: collections.deque[Any] = collections.deque()
            for block in _blocks(stream, limit):
                pending.append(pool.apply_async(_work, (block,)))
                if len(pending) > 2 * jobs:
                    emit(pending.popleft().get())
            while pending:
                emit(pending.popleft().get())
    finally:
        gc.unfreeze()
    return summary


Done = tuple[bytes, list[Problem], Summary]


def _by_ranges(
    policy: Policy,
    ranges: Iterable[Range],
    path: str,
    limit: int,
    pretty: bool,
    jobs: int,
    emit: Callable[[Done], None],
) -> None:
    """A regular file's ranges decided by `jobs` workers of their own, each with a pipe: range
    i goes to worker i % jobs, and results are read back in the same order. A task is a few
    numbers, so a send never waits on a worker; no pool, whose bookkeeping thread polls its
    pipes while results wait to be read (a fifth of a core)."""
    context = _context()
    pipes: list[Any] = []
    workers: list[Any] = []
    try:
        for _ in range(jobs):
            ours, theirs = context.Pipe()
            worker = context.Process(
                target=_serve_ranges, args=(theirs, policy, limit, pretty, path), daemon=True
            )
            worker.start()
            theirs.close()
            pipes.append(ours)
            workers.append(worker)
        pending: collections.deque[int] = collections.deque()
        for number, block in enumerate(ranges):
            pipes[number % jobs].send(block)
            pending.append(number % jobs)
            if len(pending) > 2 * jobs:
                emit(_received(pipes[pending.popleft()]))
        while pending:
            emit(_received(pipes[pending.popleft()]))
        for pipe in pipes:
            pipe.send(None)
        for worker in workers:
            worker.join()
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        for pipe in pipes:
            pipe.close()


def _received(pipe: Any) -> Done:
    """A worker's result, or the exception its work raised, raised here."""
    try:
        ok, value = pipe.recv()
    except EOFError:
        raise RuntimeError("a batch worker process ended unexpectedly") from None
    if not ok:
        raise value
    done: Done = value
    return done


def _serve_ranges(pipe: Any, policy: Policy, limit: int, pretty: bool, path: str) -> None:
    """A worker: decide each range it is sent until it is sent None."""
    _start_worker(policy, limit, pretty, path)
    while (block := pipe.recv()) is not None:
        try:
            pipe.send((True, _work_range(block)))
        except Exception as err:  # sent back and raised in the main process, as a pool does
            pipe.send((False, err))


def default_jobs() -> int:
    """`--jobs 0`: one worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1
