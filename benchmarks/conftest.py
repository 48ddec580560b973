"""Benchmark-only pytest hooks: note enough about the machine to read the figures later."""

from __future__ import annotations

import os
import platform
from typing import Any


def pytest_benchmark_update_machine_info(config: Any, machine_info: dict[str, Any]) -> None:
    """`report.py` prints these; the load average says whether something else was running."""
    machine_info["platform"] = platform.platform()
    machine_info["cpu_count"] = os.cpu_count()
    if hasattr(os, "getloadavg"):
        machine_info["loadavg"] = list(os.getloadavg())
