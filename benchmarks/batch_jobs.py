"""`policyc eval --batch` over a file of varied stdlib requests, with `--jobs 1` and `--jobs N`:
lines per second from each run's summary line, and the speed-up, in alternating rounds so that
both see the same machine. Prints a markdown table with the machine's load average.

    python benchmarks/batch_jobs.py [--lines 400000] [--jobs 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.contexts import iter_varied_contexts  # noqa: E402


def lines_per_second(path: Path, jobs: int) -> float:
    """One run of the command, timed by its own summary (`N lines/s`, loading not counted)."""
    command = [sys.executable, "-m", "policydsl", "eval", "--batch", str(path), "--jobs", str(jobs)]
    done = subprocess.run(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    found = re.search(r"([\d,]+) lines/s", done.stderr)
    if found is None:
        raise SystemExit(f"no summary from {' '.join(command)}:\n{done.stderr}")
    return float(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=400_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requests.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for context in iter_varied_contexts(args.lines):
                out.write(json.dumps(context) + "\n")
        one: list[float] = []
        many: list[float] = []
        for _ in range(args.rounds):
            one.append(lines_per_second(path, 1))
            many.append(lines_per_second(path, args.jobs))
    ratios = [m / o for m, o in zip(many, one, strict=True)]
    print(f"\n| {args.lines:,} varied stdlib requests | lines/s, median (range) |")
    print("|---|---|")
    print(f"| `--jobs 1` | {statistics.median(one):,.0f} ({min(one):,.0f}-{max(one):,.0f}) |")
    print(
        f"| `--jobs {args.jobs}` | {statistics.median(many):,.0f} "
        f"({min(many):,.0f}-{max(many):,.0f}) |"
    )
    print(
        f"| speed-up, each round | {statistics.median(ratios):.2f}x "
        f"({min(ratios):.2f}x-{max(ratios):.2f}x) |"
    )
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")


if __name__ == "__main__":
    main()
