"""Run the benchmark suite once (or read its JSON) and print the performance targets as markdown.

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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.synthetic import SCALING_LIMIT, SHAPES, SIZES

ROOT = Path(__file__).resolve().parent.parent
# the data-heavy benchmarks (marked `data`) have their own report, `data_report.py`
PYTEST_ARGS = [
    "-m",
    "pytest",
    "benchmarks",
    "--benchmark-only",
    "-q",
    "-p",
    "no:cacheprovider",
    "-m",
    "not data",
]

REQUESTS = ("one", "none")
SCALING_BACKENDS = ("compiled", "naive", "handwritten")
DECIDE_ORDER = ("handwritten", "compiled", "compiled + to_dict", "naive", "interpreted")

# the targets the index and the combining are held to
VARIED_RATIO_LIMIT = 0.5  # stdlib decide() on varied traffic, x the hand-written baseline
VARIED_TO_DICT_LIMIT = 1.0
HANDWRITTEN_LIMIT = 2.0  # 10,000 rules, x that shape's hand-written solution
COLD_LOAD_LIMIT_S = 0.060
COMPILE_LIMIT_S = 2.0
MEMORY_RATIO_LIMIT = 5.0  # compiled policy / its source's Lark tree

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
    """The markdown for one run: targets first, then every figure they come from.

    A run that skipped some benchmarks (`-m 'not memory'`, `-k ...`) reports what it has.
    """
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

    def target(what: str, measured: Timing, limit: float) -> None:
        shown = [fmt_ratio(measured.mean), fmt_ratio(measured.median)]
        verdict = _verdict(measured.mean <= limit, measured.median <= limit)
        targets.append([what, *shown, f"≤ {limit:g}x", verdict])

    def seconds(what: str, measured: Timing, limit: float) -> None:
        shown = [fmt_time(measured.mean), fmt_time(measured.median)]
        verdict = _verdict(measured.mean <= limit, measured.median <= limit)
        targets.append([what, *shown, f"≤ {fmt_time(limit)}", verdict])

    # stdlib decide, varied traffic and the fixed mix
    varied = {
        (b["extra_info"]["label"], b["extra_info"]["passes"]): b
        for b in benches
        if b["group"] == "stdlib decide, varied"
    }
    varied_per = {k: _stats(b, b["extra_info"]["decisions"]) for k, b in varied.items()}
    hand = varied_per.get(("handwritten", "warm"))
    if hand is not None:
        n_varied = varied["handwritten", "warm"]["extra_info"]["decisions"]
        for label, limit in (
            ("compiled", VARIED_RATIO_LIMIT),
            ("compiled + to_dict", VARIED_TO_DICT_LIMIT),
        ):
            for passes in ("first", "warm"):
                if (label, passes) in varied_per:
                    what = "`decide().to_dict()`" if "to_dict" in label else "`decide()`"
                    target(
                        f"stdlib {what}, {n_varied:,} varied requests, {passes} pass / "
                        "hand-written",
                        varied_per[label, passes] / hand,
                        limit,
                    )
    decide = {b["extra_info"]["label"]: b for b in benches if b["group"] == "stdlib decide"}
    per = {k: _stats(b, b["extra_info"]["decisions"]) for k, b in decide.items()}
    if "handwritten" in per:
        n_mix = decide["handwritten"]["extra_info"]["decisions"]
        for label, limit in (
            ("compiled", VARIED_RATIO_LIMIT),
            ("compiled + to_dict", VARIED_TO_DICT_LIMIT),
        ):
            if label in per:
                what = "`decide().to_dict()`" if "to_dict" in label else "`decide()`"
                target(
                    f"stdlib {what}, the {n_mix:,}-request mix / hand-written",
                    per[label] / per["handwritten"],
                    limit,
                )

    # scaling
    scaling: dict[tuple[str, str, str, int], Timing] = {}
    for bench in benches:
        info = bench["extra_info"]
        if bench["group"].startswith("scaling: "):
            scaling[info["shape"], info["backend"], info["request"], info["rules"]] = _stats(bench)
    shapes = [s for s in SHAPES if any(key[0] == s for key in scaling)]
    top, bottom = SIZES[-1], SIZES[0]
    for shape in shapes:
        for kind in REQUESTS:
            big = scaling.get((shape, "compiled", kind, top))
            small = scaling.get((shape, "compiled", kind, bottom))
            if big is not None and small is not None:
                target(
                    f"{shape}, {_request_words(kind)}: {top:,} / {bottom} rules (indexed)",
                    big / small,
                    SCALING_LIMIT[shape],
                )
            by_hand = scaling.get((shape, "handwritten", kind, top))
            if big is not None and by_hand is not None:
                target(
                    f"{shape}, {_request_words(kind)}: {top:,} rules, indexed / hand-written",
                    big / by_hand,
                    HANDWRITTEN_LIMIT,
                )

    # compile and start-up
    cold_runs = _by_name(benches, "test_cold_load_stdlib")
    if cold_runs:
        child = cold_runs[0]["extra_info"]["child_s"]
        seconds(
            "stdlib cold load (import + `load_stdlib()`, timed in a fresh interpreter)",
            Timing(statistics.fmean(child), statistics.median(child)),
            COLD_LOAD_LIMIT_S,
        )
    firsts = {b["extra_info"]["cached"]: b for b in _by_name(benches, "test_cold_load_without")}
    for cached, words, when in (
        ("tables", "parser tables cached", "the first start after an install or upgrade"),
        ("nothing", "cache off", "every start with `POLICYDSL_CACHE_DIR=off`"),
    ):
        if cached in firsts:
            child = firsts[cached]["extra_info"]["child_s"]
            shown = [fmt_time(statistics.fmean(child)), fmt_time(statistics.median(child))]
            what = f"stdlib cold load without its compiled artifact ({words})"
            targets.append([what, *shown, "none", f"no target: {when}"])
    compiles = {b["extra_info"]["shape"]: b for b in _by_name(benches, "test_compile_10k_rules")}
    for shape in (s for s in SHAPES if s in compiles):
        seconds(f"compile 10,000 {shape} rules", _stats(compiles[shape]), COMPILE_LIMIT_S)

    # memory
    memory = {b["extra_info"]["shape"]: b for b in _by_name(benches, "test_memory_10k_rules")}
    for shape in (s for s in SHAPES if s in memory):
        info = memory[shape]["extra_info"]
        ratio = info["policy_bytes"] / info["tree_bytes"]
        target(
            f"memory: compiled 10,000 {shape} rules / their Lark syntax tree",
            Timing(ratio, ratio),
            MEMORY_RATIO_LIMIT,
        )

    out += ["#### Targets", ""]
    out += _table(["target", "mean", "median", "limit", "verdict"], targets)

    if varied_per and hand is not None:
        out += ["", f"#### stdlib `decide()` on {n_varied:,} varied requests (one round each)", ""]
        rows = []
        for (label, passes), timing in sorted(varied_per.items(), key=lambda kv: kv[0][1]):
            ratio = timing / hand
            rounds = str(varied[label, passes]["stats"]["rounds"])
            row = [label, passes, fmt_time(timing.mean), fmt_time(timing.median)]
            rows.append([*row, fmt_ratio(ratio.mean), fmt_ratio(ratio.median), rounds])
        out += _table(
            [
                "backend",
                "pass",
                "per decision, mean",
                "median",
                "x hand-written",
                "(median)",
                "rounds",
            ],
            rows,
        )
        out += [
            "",
            "First pass: each round loads a fresh stdlib (untimed) and decides every request "
            "once; warm: the same policy again, after it has decided them all.",
        ]

    if "handwritten" in per:
        out += ["", f"#### stdlib `decide()`: the {n_mix:,}-request mix per round", ""]
        rows = []
        for label in (label for label in DECIDE_ORDER if label in per):
            timing = per[label]
            ratio = timing / per["handwritten"]
            rounds = str(decide[label]["stats"]["rounds"])
            row = [label, fmt_time(timing.mean), fmt_time(timing.median)]
            rows.append([*row, fmt_ratio(ratio.mean), fmt_ratio(ratio.median), rounds])
        out += _table(
            ["backend", "per decision, mean", "median", "x hand-written", "(median)", "rounds"],
            rows,
        )

    if scaling:
        out += ["", "#### Scaling: one request per call, median (mean in brackets)", ""]
        rows = []
        for shape in shapes:
            for kind in REQUESTS:
                for backend in SCALING_BACKENDS:
                    cells = [scaling.get((shape, backend, kind, n)) for n in SIZES]
                    row = [shape, _request_words(kind), _backend_words(backend)]
                    row += [
                        "—" if t is None else f"{fmt_time(t.median)} ({fmt_time(t.mean)})"
                        for t in cells
                    ]
                    first, last = cells[0], cells[-1]
                    growth = "—"
                    if first is not None and last is not None:
                        ratio = last / first
                        growth = f"{fmt_ratio(ratio.median)} ({fmt_ratio(ratio.mean)})"
                    rows.append([*row, growth])
        sizes = [f"{n:,} rules" for n in SIZES]
        out += _table(["shape", "request", "backend", *sizes, f"{top:,} / {bottom}"], rows)

    out += ["", "#### Compile", ""]
    rows = []
    if cold_runs:
        cold = cold_runs[0]
        rows.append(
            [
                "stdlib cold load: whole child process (interpreter start-up included)",
                fmt_time(cold["stats"]["mean"]),
                fmt_time(cold["stats"]["median"]),
                str(cold["stats"]["rounds"]),
            ]
        )
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
    for shape in (s for s in SHAPES if s in compiles):
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

    if memory:
        out += ["", "#### Memory (tracemalloc: bytes still allocated after building)", ""]
        rows = []
        for shape in (s for s in SHAPES if s in memory):
            info = memory[shape]["extra_info"]
            rows.append(
                [
                    f"10,000 {shape} rules ({info['chars']:,} characters)",
                    fmt_bytes(info["tree_bytes"]),
                    fmt_bytes(info["policy_bytes"]),
                    fmt_ratio(info["policy_bytes"] / info["tree_bytes"]),
                ]
            )
        out += _table(["policy", "Lark syntax tree", "compiled policy", "ratio"], rows)
    growth_runs = _by_name(benches, "test_memory_varied_requests")
    if growth_runs:
        info = growth_runs[0]["extra_info"]
        samples = info["traced_bytes"]
        out += [
            "",
            f"Memory while the stdlib decides {info['requests']:,} varied requests: "
            f"{fmt_bytes(samples[1] - samples[0])} after the first tenth, "
            f"{fmt_bytes(samples[-1] - samples[1])} more over the other nine tenths, "
            f"{fmt_bytes(samples[-1] - samples[0])} in all (peak "
            f"{fmt_bytes(info['peak_bytes'] - samples[0])} above the start); checkpoints: "
            + ", ".join(fmt_bytes(x - samples[0]) for x in samples[1:])
            + ".",
        ]
    return "\n".join(out) + "\n"


def fmt_bytes(size: float) -> str:
    """Bytes in KiB or MiB, signed when negative."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(size) >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size:,.0f} B"


def _request_words(kind: str) -> str:
    return "matches one rule" if kind == "one" else "matches none"


def _backend_words(backend: str) -> str:
    return {"compiled": "indexed (compiled)", "handwritten": "hand-written"}.get(backend, backend)


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
