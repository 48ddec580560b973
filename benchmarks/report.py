"""Run the benchmark suite once (or read its JSON) and print the issue's targets as markdown.

    python benchmarks/report.py                    # run `pytest benchmarks`, then report
    python benchmarks/report.py results.json       # report an earlier --benchmark-json file
    python benchmarks/report.py --save out.json    # run, keep the JSON, report

The targets are ratios measured side by side in one run, so they hold across machines better
than absolute times. Each is shown on the mean (what pytest-benchmark leads with) and on the
median (robust to the scheduler and garbage-collector pauses that land in a few rounds); the
verdict says which of the two a target holds on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTEST_ARGS = ["-m", "pytest", "benchmarks", "--benchmark-only", "-q", "-p", "no:cacheprovider"]

SIZES = (10, 100, 1_000, 10_000)
SHAPES = ("category", "equality", "pair")
REQUESTS = ("one", "none")
DECIDE_ORDER = ("handwritten", "compiled", "compiled + to_dict", "naive", "interpreted")

STDLIB_RATIO_LIMIT, STDLIB_RATIO_AIM = 1.0, 0.7
SCALING_LIMITS = {1_000: 1.5, 10_000: 2.0}
COLD_LOAD_LIMIT_S = 0.300
COMPILE_LIMIT_S = 10.0

Bench = dict[str, Any]


@dataclass(frozen=True)
class Timing:
    """One benchmark's mean and median, in seconds per operation."""

    mean: float
    median: float

    def __truediv__(self, other: Timing) -> Timing:
        return Timing(self.mean / other.mean, self.median / other.median)


def _stats(bench: Bench, per: int = 1) -> Timing:
    stats = bench["stats"]
    return Timing(stats["mean"] / per, stats["median"] / per)


def fmt_time(seconds: float) -> str:
    """Three significant figures in the unit that keeps the number readable."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"
    raise AssertionError("unreachable")


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x"


def _verdict(on_mean: bool, on_median: bool) -> str:
    if on_mean and on_median:
        return "met"
    if on_median:
        return "met on the median, **missed on the mean**"
    if on_mean:
        return "met on the mean, **missed on the median**"
    return "**missed**"


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def machine_line(info: dict[str, Any]) -> str:
    cpu = info.get("cpu") or {}
    where = info.get("platform") or f"{info.get('system')}-{info.get('release')}-{info['machine']}"
    count = info.get("cpu_count") or cpu.get("count")
    brand = cpu.get("brand_raw") or info.get("processor") or "unknown CPU"
    python = f"{info.get('python_implementation', 'Python')} {info.get('python_version')}"
    line = f"{where}; {brand}, {count} CPUs; {python}"
    loadavg = info.get("loadavg") or {}
    if isinstance(loadavg, list):  # written by an earlier conftest: the end of the run only
        loadavg = {"end": loadavg}
    start, end = (" / ".join(f"{x:.2f}" for x in loadavg.get(k) or ()) for k in ("start", "end"))
    if start:
        line += f"; load average (1/5/15 min) {start} before the run"
    if end:
        line += f"{',' if start else '; load average (1/5/15 min)'} {end} after"
    return line


def _find(benches: list[Bench], **extra: Any) -> Bench:
    for bench in benches:
        if all(bench["extra_info"].get(k) == v for k, v in extra.items()):
            return bench
    raise KeyError(f"no benchmark with {extra} in the results")


def _by_name(benches: list[Bench], prefix: str) -> list[Bench]:
    return [b for b in benches if b["name"].startswith(prefix)]


def report(data: dict[str, Any], command: str) -> str:
    """The markdown for one run: targets first, then every figure they come from."""
    benches: list[Bench] = data["benchmarks"]
    commit = data.get("commit_info") or {}
    out = ["### Benchmarks", ""]
    out.append(f"- Machine: {machine_line(data['machine_info'])}")
    when = data.get("datetime", "?")[:19].replace("T", " ")
    run = f"- Run: {when} UTC"
    if commit.get("id") and commit["id"] != "unversioned":  # not a git checkout
        dirty = ", with uncommitted changes" if commit.get("dirty") else ""
        run += f" at commit `{commit['id'][:10]}`{dirty}"
    out.append(run)
    out.append(f"- Command: `{command}`")
    out.append("")

    targets: list[list[str]] = []

    def target(what: str, measured: Timing, limit: str, ok: Callable[[float], bool]) -> None:
        shown = [fmt_ratio(measured.mean), fmt_ratio(measured.median)]
        targets.append([what, *shown, limit, _verdict(ok(measured.mean), ok(measured.median))])

    # stdlib decide
    decide = {b["extra_info"]["label"]: b for b in benches if b["group"] == "stdlib decide"}
    per = {k: _stats(b, b["extra_info"]["decisions"]) for k, b in decide.items()}
    n_contexts = next(iter(decide.values()))["extra_info"]["decisions"]
    base = per["handwritten"]
    target(
        "stdlib `decide()`, compiled / hand-written",
        per["compiled"] / base,
        f"≤ {STDLIB_RATIO_LIMIT}x (aim {STDLIB_RATIO_AIM}x)",
        lambda r: r <= STDLIB_RATIO_LIMIT,
    )
    target(
        "stdlib `decide().to_dict()`, compiled / hand-written",
        per["compiled + to_dict"] / base,
        f"≤ {STDLIB_RATIO_LIMIT}x (aim {STDLIB_RATIO_AIM}x)",
        lambda r: r <= STDLIB_RATIO_LIMIT,
    )

    # scaling
    scaling: dict[tuple[str, str, str, int], Timing] = {}
    for shape in SHAPES:
        for backend in ("compiled", "naive"):
            for kind in REQUESTS:
                for n in SIZES:
                    bench = _find(benches, shape=shape, backend=backend, request=kind, rules=n)
                    scaling[shape, backend, kind, n] = _stats(bench)
    for shape in SHAPES:
        for kind in REQUESTS:
            for n, limit in SCALING_LIMITS.items():
                ratio = scaling[shape, "compiled", kind, n] / scaling[shape, "compiled", kind, 10]
                target(
                    f"{shape} rules, {_request_words(kind)}: {n:,} / 10 rules (indexed)",
                    ratio,
                    f"≤ {limit}x",
                    lambda r, limit=limit: r <= limit,
                )

    # compile
    cold = _by_name(benches, "test_cold_load_stdlib")[0]
    child = cold["extra_info"]["child_s"]
    cold_in_child = Timing(statistics.fmean(child), statistics.median(child))
    targets.append(
        [
            "stdlib cold load (import + `load_stdlib()`, timed in a fresh interpreter)",
            fmt_time(cold_in_child.mean),
            fmt_time(cold_in_child.median),
            f"≤ {COLD_LOAD_LIMIT_S * 1000:.0f} ms",
            _verdict(
                cold_in_child.mean <= COLD_LOAD_LIMIT_S, cold_in_child.median <= COLD_LOAD_LIMIT_S
            ),
        ]
    )
    compiles = {b["extra_info"]["shape"]: b for b in _by_name(benches, "test_compile_10k_rules")}
    for shape in SHAPES:
        timing = _stats(compiles[shape])
        targets.append(
            [
                f"compile 10,000 {shape} rules (`policydsl.loads`, compiled backend)",
                fmt_time(timing.mean),
                fmt_time(timing.median),
                f"≤ {COMPILE_LIMIT_S:.0f} s",
                _verdict(timing.mean <= COMPILE_LIMIT_S, timing.median <= COMPILE_LIMIT_S),
            ]
        )

    out += ["#### Targets", ""]
    out += _table(["target", "mean", "median", "limit", "verdict"], targets)

    out += ["", f"#### stdlib `decide()`: {n_contexts:,} seeded contexts per round", ""]
    rows = []
    for label in DECIDE_ORDER:
        timing = per[label]
        ratio = timing / base
        rounds = str(decide[label]["stats"]["rounds"])
        row = [label, fmt_time(timing.mean), fmt_time(timing.median)]
        rows.append([*row, fmt_ratio(ratio.mean), fmt_ratio(ratio.median), rounds])
    out += _table(
        ["backend", "per decision, mean", "median", "x hand-written (mean)", "(median)", "rounds"],
        rows,
    )

    out += ["", "#### Scaling: one request per call, median (mean in brackets)", ""]
    rows = []
    for shape in SHAPES:
        for kind in REQUESTS:
            for backend in ("compiled", "naive"):
                cells = [scaling[shape, backend, kind, n] for n in SIZES]
                row = [shape, _request_words(kind), _backend_words(backend)]
                row += [f"{fmt_time(t.median)} ({fmt_time(t.mean)})" for t in cells]
                row += [
                    f"{fmt_ratio((cells[i] / cells[0]).median)} "
                    f"({fmt_ratio((cells[i] / cells[0]).mean)})"
                    for i in (2, 3)
                ]
                rows.append(row)
    sizes = [f"{n:,} rules" for n in SIZES]
    out += _table(["shape", "request", "backend", *sizes, "1,000 / 10", "10,000 / 10"], rows)

    out += ["", "#### Compile", ""]
    rows = [
        [
            "stdlib cold load: whole child process (interpreter start-up included)",
            fmt_time(cold["stats"]["mean"]),
            fmt_time(cold["stats"]["median"]),
            str(cold["stats"]["rounds"]),
        ]
    ]
    for part in ("import_s", "load_s"):
        values = cold["extra_info"][part]
        what = "`import policydsl`" if part == "import_s" else "`policydsl.load_stdlib()`"
        rows.append(
            [
                f"stdlib cold load: {what}, in the child",
                fmt_time(statistics.fmean(values)),
                fmt_time(statistics.median(values)),
                str(len(values)),
            ]
        )
    for shape in SHAPES:
        bench = compiles[shape]
        chars = bench["extra_info"].get("chars")
        size = f" ({chars:,} characters)" if chars else ""
        rows.append(
            [
                f"compile 10,000 {shape} rules{size}",
                fmt_time(bench["stats"]["mean"]),
                fmt_time(bench["stats"]["median"]),
                str(bench["stats"]["rounds"]),
            ]
        )
    out += _table(["what", "mean", "median", "rounds"], rows)
    return "\n".join(out) + "\n"


def _request_words(kind: str) -> str:
    return "matches one rule" if kind == "one" else "matches none"


def _backend_words(backend: str) -> str:
    return "indexed (compiled)" if backend == "compiled" else "naive"


def run_suite(json_path: Path) -> str:
    """Run the benchmarks into `json_path`; the pytest command line, as it was run."""
    args = [*PYTEST_ARGS, f"--benchmark-json={json_path}"]
    # pytest's own output goes to stderr so stdout is nothing but the markdown
    done = subprocess.run([sys.executable, *args], cwd=ROOT, stdout=sys.stderr)
    if done.returncode != 0:
        sys.exit(f"report.py: the benchmark run failed (pytest exit {done.returncode})")
    return "python " + " ".join(args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, help="a --benchmark-json file to report")
    parser.add_argument("--save", type=Path, help="where to keep the JSON of a new run")
    args = parser.parse_args(argv)

    if args.results is not None:
        data = json.loads(args.results.read_text(encoding="utf-8"))
        command = f"python benchmarks/report.py {args.results}"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            json_path = (args.save or Path(tmp) / "benchmarks.json").resolve()
            pytest_command = run_suite(json_path)
            data = json.loads(json_path.read_text(encoding="utf-8"))
        command = f"python benchmarks/report.py (runs: {pytest_command})"
    print(report(data, command), end="")


if __name__ == "__main__":
    main()
