"""The decision service's metrics, written in the Prometheus text exposition format (0.0.4).

A handful of counters and one histogram need no client library: each is a dict of label values
to numbers behind one lock, and `render()` writes them out. Updates cost a lock and an addition,
so deciding pays next to nothing for being counted.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# seconds: a decision takes microseconds, a request through the server some hundreds of them
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{name}="{_escape(value)}"' for name, value in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


class Counter:
    """A monotonically increasing count per label set."""

    kind = "counter"

    def __init__(self, name: str, help: str, lock: threading.Lock):
        self.name = name
        self.help = help
        self._lock = lock
        self._values: dict[Labels, float] = {}

    def inc(self, amount: float = 1, **labels: str) -> None:
        key = tuple(labels.items()) if len(labels) < 2 else tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(tuple(sorted(labels.items())), 0)

    def samples(self) -> Iterable[str]:
        for labels, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(labels)} {_number(value)}"


class Gauge(Counter):
    """A value that is set, or read from a callback at each scrape when given one (then its
    `kind` may be `counter`: a monotonic count kept elsewhere, as a decision log's)."""

    def __init__(
        self,
        name: str,
        help: str,
        lock: threading.Lock,
        read: Callable[[], Iterable[tuple[dict[str, str], float]]] | None = None,
        kind: str = "gauge",
    ):
        super().__init__(name, help, lock)
        self._read = read
        self.kind = kind

    def set(self, value: float, **labels: str) -> None:
        with self._lock:
            self._values[tuple(sorted(labels.items()))] = value

    def samples(self) -> Iterable[str]:
        if self._read is not None:
            values = {tuple(sorted(k.items())): v for k, v in self._read()}
            with self._lock:
                self._values = values
        with self._lock:
            current = dict(self._values)
        for labels, value in sorted(current.items()):
            yield f"{self.name}{_labels(labels)} {_number(value)}"


class Histogram:
    """Observations counted into cumulative buckets per label set, with their sum and count."""

    kind = "histogram"

    def __init__(
        self, name: str, help: str, lock: threading.Lock, buckets: tuple[float, ...]
    ) -> None:
        self.name = name
        self.help = help
        self._lock = lock
        self.buckets = buckets
        self._values: dict[Labels, list[float]] = {}  # bucket counts..., +Inf count, sum

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(labels.items()) if len(labels) < 2 else tuple(sorted(labels.items()))
        index = bisect.bisect_left(self.buckets, value)
        with self._lock:
            row = self._values.get(key)
            if row is None:
                row = self._values[key] = [0.0] * (len(self.buckets) + 2)
            row[index] += 1
            row[-1] += value

    def count(self, **labels: str) -> int:
        with self._lock:
            row = self._values.get(tuple(sorted(labels.items())))
            return 0 if row is None else int(sum(row[:-1]))

    def samples(self) -> Iterable[str]:
        for labels, row in sorted(self._values.items()):
            total = 0.0
            for bound, count in zip((*self.buckets, float("inf")), row[:-1], strict=True):
                total += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                bucket = _labels(labels, 'le="' + le + '"')
                yield f"{self.name}_bucket{bucket} {_number(total)}"
            yield f"{self.name}_sum{_labels(labels)} {row[-1]!r}"
            yield f"{self.name}_count{_labels(labels)} {_number(total)}"


_M = TypeVar("_M", "Counter", "Gauge", "Histogram")


class Registry:
    """The metrics one service exposes, in the order they were made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: list[Counter | Histogram] = []

    def counter(self, name: str, help: str) -> Counter:
        return self._add(Counter(name, help, self._lock))

    def gauge(
        self,
        name: str,
        help: str,
        read: Callable[[], Iterable[tuple[dict[str, str], float]]] | None = None,
        *,
        kind: str = "gauge",
    ) -> Gauge:
        """A gauge, or with `read` and `kind="counter"` a count read at each scrape."""
        return self._add(Gauge(name, help, self._lock, read, kind))

    def histogram(
        self, name: str, help: str, buckets: tuple[float, ...] = LATENCY_BUCKETS
    ) -> Histogram:
        return self._add(Histogram(name, help, self._lock, buckets))

    def _add(self, metric: _M) -> _M:
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics:
            lines.append(f"# HELP {metric.name} {metric.help}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
            if isinstance(metric, Gauge):
                samples = list(metric.samples())  # its callback may take locks of its own
            else:
                with self._lock:
                    samples = list(metric.samples())
            lines.extend(samples)
        return "\n".join(lines) + "\n"
