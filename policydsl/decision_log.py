"""Decision logs: one record per decision, written off the request path to a pluggable sink.

Deciding only appends a record to a bounded queue (no copy, no JSON, no I/O); a writer thread
masks the attributes the operator named, serialises the records and hands them to the sink in
batches (`JsonLinesFile` by default, or anything with `write(lines)`). When the queue is full or
the sink fails, records are dropped and counted (`dropped`, by reason), and the count is reported
(the service's `/metrics`, a warning in its log), never lost silently.
"""

from __future__ import annotations

import decimal
import json
import logging
import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

log = logging.getLogger("policydsl.decision_log")

DEFAULT_QUEUE = 10_000  # records waiting for the sink before new ones are dropped
BATCH = 512  # records handed to the sink at once
MASKED = "**REDACTED**"


class Sink(Protocol):
    """Where records go: `write` receives JSON texts (one record each, no newline) and may
    raise; `close` is called once, when the log closes."""

    def write(self, lines: Sequence[str]) -> None: ...

    def close(self) -> None: ...


class JsonLinesFile:
    """Records appended to a file (created readable by its owner alone), one JSON object per
    line, flushed after each batch; `-` is standard output (a container's log), left open."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file: IO[str]
        if str(path) == "-":
            self._file, self._owned = sys.stdout, False
        else:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._file, self._owned = os.fdopen(fd, "a", encoding="utf-8", newline="\n"), True

    def write(self, lines: Sequence[str]) -> None:
        self._file.write("".join(line + "\n" for line in lines))
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()


class Mask:
    """Attributes to keep out of the logged input, as dotted paths (`user.id`): each is
    replaced by `**REDACTED**` where the input has it (OPA's decision-log masking)."""

    def __init__(self, paths: Iterable[str] = ()):
        self.paths = tuple(p for p in paths if p)
        self._tree: dict[str, Any] = {}
        for path in self.paths:
            node = self._tree
            parts = path.split(".")
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if child is None:  # a shorter path already masks all below
                    break
                node = child
            else:
                node[parts[-1]] = None

    def __bool__(self) -> bool:
        return bool(self.paths)

    def apply(self, value: Any) -> tuple[Any, list[str]]:
        """A copy of `value` with the masked attributes replaced, and the paths it replaced."""
        done: list[str] = []
        return _masked(value, self._tree, "", done), done


def _masked(value: Any, tree: dict[str, Any], prefix: str, done: list[str]) -> Any:
    if not isinstance(value, Mapping):
        return value
    out = dict(value)
    for key, below in tree.items():
        if key not in out or out[key] is None:
            continue
        if below is None:
            out[key] = MASKED
            done.append(prefix + key)
        else:
            out[key] = _masked(out[key], below, f"{prefix}{key}.", done)
    return out


def _time(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e6):06d}Z"


class DecisionLog:
    """The queue, the writer thread and the counts of records written and dropped.

    `record(...)` never blocks: a full queue drops the record (`dropped["queue_full"]`); a sink
    that raises loses that batch (`dropped["sink_error"]`) and the writer goes on. `close()`
    writes what is queued (within `timeout`) and closes the sink.
    """

    def __init__(
        self,
        sink: Sink,
        *,
        mask: Iterable[str] = (),
        max_queue: int = DEFAULT_QUEUE,
        dumps: Callable[[Any], str] | None = None,
    ):
        self.sink = sink
        self.mask = Mask(mask)
        self.written = 0
        self.dropped = {"queue_full": 0, "sink_error": 0}
        self._dumps = dumps or _dumps
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(max_queue)
        self._lock = threading.Lock()
        self._reported = 0  # drops already warned about
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="policydsl-decision-log")
        self._thread.daemon = True
        self._thread.start()

    def record(
        self,
        decision_id: str,
        input: Any,
        result: Any,
        policy: Mapping[str, Any],
        *,
        path: str = "",
        at: float | None = None,
    ) -> bool:
        """Queue one decision's record; False if it was dropped. `result` is the decision as
        `to_dict()` gives it; `policy` its `version` and `fingerprint`."""
        item = {
            "decision_id": decision_id,
            "time": time.time() if at is None else at,
            "path": path,
            "input": input,
            "result": result,
            "policy": policy,
        }
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            with self._lock:
                self.dropped["queue_full"] += 1
            return False
        return True

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = [r for r in batch if r is not None]
            if records:
                self._write(records)
            if None in batch:
                return

    def _write(self, records: list[dict[str, Any]]) -> None:
        try:
            lines = [self._dumps(self._finish(r)) for r in records]
            self.sink.write(lines)
        except Exception as err:
            with self._lock:
                self.dropped["sink_error"] += len(records)
            log.warning(
                "decision log: %d record(s) dropped: the sink failed: %s: %s",
                len(records),
                type(err).__name__,
                err,
            )
            return
        with self._lock:
            self.written += len(records)
            full = self.dropped["queue_full"]
        if full > self._reported:
            log.warning("decision log: %d record(s) dropped so far: the queue was full", full)
            self._reported = full

    def _finish(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record as written: its time in RFC 3339, its input masked."""
        record["time"] = _time(record["time"])
        if self.mask:
            record["input"], masked = self.mask.apply(record["input"])
            if masked:
                record["masked"] = masked
        return record

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (waiting up to `timeout` seconds for room), then close."""
        if self._closed:
            return
        self._closed = True
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("decision log: closed with %d record(s) unwritten", self.pending)
        self._thread.join(timeout)
        try:
            self.sink.close()
        except Exception as err:
            log.warning("decision log: closing the sink failed: %s", err)
        total = sum(self.dropped.values())
        if total:
            log.warning("decision log: %d record(s) dropped in all: %s", total, self.dropped)


def _dumps(value: Any) -> str:
    return json.dumps(
        value, ensure_ascii=True, separators=(",", ":"), allow_nan=False, default=_number
    )


def _number(value: Any) -> Any:
    """A request's fraction, which the reader keeps exact (`decimal.Decimal`): as a JSON number
    when a float holds that very value (`0.85`), else as its exact text (`"0.30000000000000001"`,
    `"1E+999"`), which a float would change."""
    if isinstance(value, decimal.Decimal):
        as_float = float(value)
        if math.isfinite(as_float) and decimal.Decimal(repr(as_float)) == value:
            return as_float
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
