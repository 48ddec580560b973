"""How long `policyc lsp` takes on a 10,000-rule file, through a real client over stdio: opening
it, an edit until its diagnostics, an edit that breaks the syntax until its diagnostics, and a
hover right after an edit's diagnostics (which waits for the new index). Prints a markdown table
(the README's Editor support section quotes it) with the machine's load average.

    python benchmarks/lsp_latency.py [ROUNDS]      # from the repository root, `lsp` extra installed
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from lsp_client import Client  # noqa: E402

from benchmarks.synthetic import equality_policy, pair_policy  # noqa: E402

SHAPES: dict[str, Callable[[int], str]] = {
    "plain rules, one per line (`equality`)": equality_policy,
    "one table rule of 10,000 rows (`pair`)": pair_policy,
}


def measure(text: str, folder: Path, rounds: int) -> dict[str, list[float]]:
    path = folder / "big.policy"
    path.write_text(text, encoding="utf-8")
    client = Client([sys.executable, "-m", "policydsl", "lsp"], cwd=ROOT)
    times: dict[str, list[float]] = {"open": [], "edit": [], "break": [], "hover": []}
    try:
        client.initialize(folder)
        started = time.perf_counter()
        uri = client.open(path)
        client.wait_diagnostics(uri, timeout=300)
        times["open"].append(time.perf_counter() - started)
        last = text.count("\n") - 2
        middle = text.count("\n") // 2
        for _ in range(rounds):
            where = {"line": last, "character": 0}
            started = time.perf_counter()
            client.change(uri, "# an edit\n", {"start": where, "end": where})
            client.wait_diagnostics(uri, timeout=300)
            times["edit"].append(time.perf_counter() - started)
            started = time.perf_counter()
            client.request("textDocument/hover", client.at(uri, 2, 12))
            times["hover"].append(time.perf_counter() - started)
            at = {"line": middle, "character": 0}
            started = time.perf_counter()
            client.change(uri, "rule broken: deny { when\n", {"start": at, "end": at})
            client.wait_diagnostics(uri, timeout=300)
            times["break"].append(time.perf_counter() - started)
            undo = {"start": at, "end": {"line": middle + 1, "character": 0}}
            client.change(uri, "", undo)
            client.wait_diagnostics(uri, timeout=300)
    finally:
        client.close()
    return times


def shown(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f} s"
    return f"{statistics.median(values):.1f} s median ({min(values):.1f}-{max(values):.1f})"


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    print()
    print(
        "| 10,000 rules | open | an edit to diagnostics | an edit breaking the syntax to "
        "diagnostics | hover after an edit's diagnostics |"
    )
    print("|---|---|---|---|---|")
    for name, make in SHAPES.items():
        with tempfile.TemporaryDirectory() as folder:
            t = measure(make(10_000), Path(folder), rounds)
        print(
            f"| {name} | {shown(t['open'])} | {shown(t['edit'])} | {shown(t['break'])} | "
            f"{shown(t['hover'])} |"
        )
    load = os.getloadavg()
    print()
    print(f"load average after: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")


if __name__ == "__main__":
    main()
