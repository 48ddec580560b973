"""A `policyc serve` process for the tests that run one: started on a free port, its stderr read
on a thread (kept in `lines`, for failure messages), the port taken from its start-up line."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_RUNNING = re.compile(r"running on http://127\.0\.0\.1:(\d+)")


class ServeProcess:
    def __init__(self, args: Sequence[str], cwd: Path) -> None:
        command = [sys.executable, "-m", "policydsl", "serve", "--port", "0", *args]
        self.process = subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._ports: list[int] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            found = _RUNNING.search(line)
            if found:
                self._ports.append(int(found.group(1)))

    def until(self, check: Callable[[], object], seconds: float = 20) -> None:
        """Wait for `check()`, while the process runs, at most `seconds`."""
        deadline = time.monotonic() + seconds
        while not check():
            assert self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "".join(self.lines)
            time.sleep(0.05)

    def port(self, seconds: float = 30) -> int:
        """The port it serves on, once it says so."""
        self.until(lambda: self._ports, seconds)
        return self._ports[0]
