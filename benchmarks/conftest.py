"""Benchmark-only pytest hooks: note enough about the machine to read the figures later."""

from __future__ import annotations

import os
import platform
from typing import Any

import pytest

from benchmarks.synthetic import SHAPES

_LOADAVG: dict[str, list[float]] = {}


def _loadavg() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers", "memory: tracemalloc measurements, slow (skip with `-m 'not memory'`)"
    )
    config.addinivalue_line(
        "markers", "data: data-heavy policies (test_bench_data.py), left out by report.py"
    )


def pytest_sessionstart(session: Any) -> None:
    start = _loadavg()
    if start is not None:
        _LOADAVG["start"] = start


def pytest_benchmark_update_machine_info(config: Any, machine_info: dict[str, Any]) -> None:
    """`report.py` prints these; the load averages say whether something else was running."""
    machine_info["platform"] = platform.platform()
    machine_info["cpu_count"] = os.cpu_count()
    end = _loadavg()
    if end is not None:
        machine_info["loadavg"] = {"start": _LOADAVG.get("start"), "end": end}


@pytest.fixture(scope="session", params=sorted(SHAPES))
def shape(request: Any) -> str:
    """A synthetic shape; session scope makes pytest run each shape's benchmarks together."""
    name: str = request.param
    return name
