"""Data-heavy policies, measured in one process and printed as markdown: ratios from one run.

    python benchmarks/data_report.py                          # 20,000 requests a pass, 5 rounds
    python benchmarks/data_report.py --requests 5000 --rounds 3

1. An entity store of 100,000 entities (`data_workloads.make_org`: an org, 8 levels of teams,
   70,000 users, some in several teams, with managers; repos with owners): `load_entities` time,
   the store's memory, and decisions with `principal in Team::"..."` over 10 and 1,000 group
   rules plus reads through references (`resource.owner.manager.level`), beside the same rules
   over a request whose caller precomputed the groups and attributes, on varied traffic.
2. Kubernetes admission reviews of Pods with 50 containers against examples/gatekeeper.
3. A Gatekeeper-like template with 10 and 1,000 instances (table rows from JSON files).

Every pass decides a list of requests once; the figure is the pass's time per decision, the
median over `--rounds` rounds (the range beside it), and the cases being compared alternate
within each round, so a change in the machine's load moves them together. Each policy is
checked (entities against precomputed, the template against a plain Python reading of its
rows) before anything is timed. A first pass starts from a freshly compiled policy; warm passes
follow it on the same one.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import policydsl
from benchmarks import data_workloads as w
from benchmarks.report import fmt_time

ROOT = Path(__file__).resolve().parent.parent
LOAD_LIMIT_S = 2.0
ENTITY_RATIO_LIMIT = 2.0  # entities / precomputed request
INSTANCES_RATIO_LIMIT = 2.0  # 1,000 instances / 10
HOT_PAIRS = 200
PODS = 200


def fmt_bytes(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"


def table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


class Times:
    """A case's per-decision times, one per round."""

    def __init__(self) -> None:
        self.values: list[float] = []

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def shown(self) -> str:
        low, high = min(self.values), max(self.values)
        return f"{fmt_time(self.median)} ({fmt_time(low)} to {fmt_time(high)})"


def per_item(run: Callable[[Any], object], items: list[Any]) -> float:
    """One pass: `run` on every item once; seconds per item."""
    gc.collect()
    start = time.perf_counter()
    for item in items:
        run(item)
    return (time.perf_counter() - start) / len(items)


def timed(run: Callable[[Any], object], items: list[Any]) -> Callable[[], float]:
    """A case of `rounds_of`: one pass of `run` over `items`."""
    return lambda: per_item(run, items)


def rounds_of(cases: dict[str, Callable[[], float]], rounds: int) -> dict[str, Times]:
    """Each case once a round, in turn: the cases compared share the machine's moments."""
    out = {name: Times() for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            out[name].values.append(case())
    return out


def verdict(value: float, limit: float) -> str:
    return "met" if value <= limit else "**missed**"


def rss_bytes() -> int:
    """The process's resident set (Linux), or 0 where /proc is not there."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine() -> str:
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{platform.platform()}, {os.cpu_count()} CPUs; {python}; load average {load}"


def commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return f"`{sha}`" + (", with uncommitted changes" if dirty else "")


# ---- 1. entities -------------------------------------------------------------------------------


def entity_section(requests: int, rounds: int, targets: list[list[str]]) -> list[str]:
    out = ["#### Entity store (100,000 entities, a hierarchy 10 levels deep)", ""]
    org = w.make_org()
    types_policy = policydsl.loads(w.entity_policy_text(w.group_teams(org, 10)))

    # load time: the previous store is dropped before each round, outside the timing
    empty = types_policy.entity_store([])
    loads = Times()
    rss_before = rss_bytes()
    for i in range(rounds):
        types_policy.use_entities(empty)
        gc.collect()
        start = time.perf_counter()
        store = types_policy.load_entities(org.data)
        loads.values.append(time.perf_counter() - start)
        if i == 0:
            rss_delta = rss_bytes() - rss_before
    users = [e for e in store if e.type == "User"]
    ancestors = [len(e.ancestors) for e in users]
    several = sum(len(org.user_teams[e.id]) > 1 for e in users)
    targets.append(
        [
            "`load_entities` of 100,000 entities",
            loads.shown(),
            f"≤ {LOAD_LIMIT_S:g} s",
            verdict(loads.median, LOAD_LIMIT_S),
        ]
    )

    retained, peak, text_bytes = w.store_memory(org, types_policy)
    out += table(
        ["what", "figure"],
        [
            [
                "entities",
                f"{len(store):,} ({sum(e.type == 'Team' for e in store):,} teams, "
                f"{len(users):,} users of which {several:,} in several teams, "
                f"{sum(e.type == 'Repo' for e in store):,} repos, 1 org)",
            ],
            [
                "ancestors of a user (itself included)",
                f"mean {statistics.fmean(ancestors):.1f}, max {max(ancestors)}",
            ],
            ["`policy.load_entities(list)`, median (range)", loads.shown()],
            ["the data as JSON text", fmt_bytes(text_bytes)],
            [
                "store retained (tracemalloc, after `json.loads` + load, input dropped)",
                fmt_bytes(retained),
            ],
            ["peak while loading (tracemalloc, the parsed input included)", fmt_bytes(peak)],
            [
                "RSS growth over the first `load_entities` (input already in memory)",
                fmt_bytes(rss_delta),
            ],
        ],
    )
    del types_policy, store, empty
    gc.collect()

    pairs = w.entity_requests(org, requests)
    groups = w.all_groups(org)
    entity_reqs = [w.as_entity_request(p) for p in pairs]
    # a request of its own per decision, as one parsed from JSON is (its groups a new list)
    pre_reqs = [w.as_precomputed_request(org, p) for p in pairs]
    hot_pairs = (pairs[:HOT_PAIRS] * (requests // HOT_PAIRS + 1))[:requests]
    hot_entity = [w.as_entity_request(p) for p in hot_pairs]
    hot_pre = [w.as_precomputed_request(org, p) for p in hot_pairs]
    store = policydsl.loads(w.entity_policy_text([])).entity_store(org.data)

    rows = []
    for n in w.GROUP_RULES:
        teams = w.group_teams(org, n)
        entity_text, pre_text = w.entity_policy_text(teams), w.precomputed_policy_text(teams)
        entity = policydsl.loads(entity_text)
        entity.use_entities(store)
        pre = policydsl.loads(pre_text)
        distinct = w.check_entity_pair(entity, pre, entity_reqs, pre_reqs)
        w.check_entity_pair(entity, pre, hot_entity, hot_pre)

        def first(text: str, reqs: list[w.Request]) -> Callable[[], float]:
            def run() -> float:
                policy = policydsl.loads(text)
                if policy.checked.entities:  # the precomputed policy declares none
                    policy.use_entities(store)
                return per_item(policy.decide, reqs)

            return run

        def built(policy: policydsl.Policy) -> Callable[[], float]:
            decide = policy.decide

            def run() -> float:
                return per_item(lambda p: decide(w.as_precomputed_request(org, p, groups)), pairs)

            return run

        times = rounds_of(
            {
                "entities, first": first(entity_text, entity_reqs),
                "precomputed, first": first(pre_text, pre_reqs),
                "entities": timed(entity.decide, entity_reqs),
                "precomputed": timed(pre.decide, pre_reqs),
                "precomputed, built per decision": built(pre),
                "entities, hot": timed(entity.decide, hot_entity),
                "precomputed, hot": timed(pre.decide, hot_pre),
            },
            rounds,
        )
        for passes in ("first", "warm"):
            suffix = ", first" if passes == "first" else ""
            ratio = times["entities" + suffix].median / times["precomputed" + suffix].median
            targets.append(
                [
                    f"entities / precomputed request, {n:,} group rules, {passes} pass",
                    f"{ratio:.2f}x",
                    f"≤ {ENTITY_RATIO_LIMIT:g}x",
                    verdict(ratio, ENTITY_RATIO_LIMIT),
                ]
            )
        base = {"first": times["precomputed, first"], "warm": times["precomputed"]}
        base_hot = times["precomputed, hot"]
        described = {
            "entities, first": ("entities", "first", base["first"]),
            "precomputed, first": ("precomputed request", "first", base["first"]),
            "entities": ("entities", "warm", base["warm"]),
            "precomputed": ("precomputed request", "warm", base["warm"]),
            "precomputed, built per decision": (
                "precomputed, the request built from the caller's tables in the pass",
                "warm",
                base["warm"],
            ),
            "entities, hot": (f"entities, {HOT_PAIRS} distinct pairs repeated", "warm", base_hot),
            "precomputed, hot": (
                f"precomputed, {HOT_PAIRS} distinct pairs repeated",
                "warm",
                base_hot,
            ),
        }
        for key, (what, passes, against) in described.items():
            ratio = times[key].median / against.median
            rows.append([f"{n:,} (+3)", what, passes, times[key].shown(), f"{ratio:.2f}x"])
        rows.append([f"{n:,} (+3)", f"distinct sets of fired rules: {distinct:,}", "", "", ""])
    out += [
        "",
        f"Decisions on {requests:,} varied requests a pass ({len(set(pairs)):,} distinct "
        "(user, repo) pairs), per decision, median (range) over the rounds:",
        "",
    ]
    out += table(["group rules", "request", "pass", "per decision", "x precomputed"], rows)
    out += breakdown(org, store, pairs, hot_pairs, rounds)
    return out


def breakdown(
    org: w.Org,
    store: Any,
    pairs: list[tuple[str, str]],
    hot_pairs: list[tuple[str, str]],
    rounds: int,
) -> list[str]:
    """Where an entity decision's time goes: policies with some of the rules, and plain Python
    touching the store as those rules do, on varied pairs and on a few pairs repeated (whose
    entities stay in the CPU's caches). The difference is what reaching cold memory costs."""
    teams = w.group_teams(org, 10)
    users, repos = store.by_type["User"], store.by_type["Repo"]
    # the index's keys as a compiled policy holds them: strings of its own, not the store's
    index = {"".join(['Team::"', team, '"']): [i] for i, team in enumerate(teams)}
    keys = frozenset(index)

    def lookups(pair: tuple[str, str]) -> None:
        users.get(pair[0])
        repos.get(pair[1])

    def ancestors(pair: tuple[str, str]) -> None:
        fired: list[int] = []
        for uid in users[pair[0]].ancestors:
            fired += index.get(uid, ())
        repos.get(pair[1])

    def intersection(pair: tuple[str, str]) -> None:
        fired: list[int] = []
        for uid in users[pair[0]].ancestors & keys:
            fired += index[uid]
        repos.get(pair[1])

    def references(pair: tuple[str, str]) -> None:
        users.get(pair[0])
        owner = repos[pair[1]]["owner"]
        if "manager" in owner:
            owner["manager"]["level"]

    def every_touch(pair: tuple[str, str]) -> None:
        principal, repo = users[pair[0]], repos[pair[1]]
        fired: list[int] = []
        for uid in principal.ancestors:
            fired += index.get(uid, ())
        owner = repo["owner"]
        if "manager" in owner:
            owner["manager"]["level"]
        _ = owner == principal, repo["visibility"], principal["level"]

    def policy(rules: list[str]) -> Callable[[w.Request], object]:
        text = w.ENTITY_DECLS + w.ENTITY_CONTEXT + w.COMMON + "\n".join(rules) + "\n"
        made = policydsl.loads(text)
        made.use_entities(store)
        return made.decide

    group = [
        f'rule member_{i}: allow {{ when principal in Team::"{team}" }}'
        for i, team in enumerate(teams)
    ]
    manager = (
        "rule m: allow { when has resource.owner.manager and resource.owner.manager.level > 3 }"
    )
    full = policydsl.loads(w.entity_policy_text(teams))
    full.use_entities(store)
    visibility = 'rule v: allow { when resource.visibility == "secret" }'
    cases: dict[str, tuple[Callable[[Any], object], bool]] = {
        "Python: the two ids looked up in the store": (lookups, False),
        "Python: + the principal's ancestors against the rules' index (a loop, as compiled)": (
            ancestors,
            False,
        ),
        "Python: the same by set intersection (`ancestors & index keys`)": (intersection, False),
        "Python: the ids + `repo.owner.manager.level`": (references, False),
        "Python: every read the 13 rules make": (every_touch, False),
        "policy: the 13 rules (10 group rules)": (full.decide, True),
        "policy: the 10 group rules alone": (policy(group), True),
        "policy: `resource.owner.manager.level > 3` alone": (policy([manager]), True),
        'policy: `resource.visibility == "secret"` alone': (policy([visibility]), True),
    }
    timers: dict[str, Callable[[], float]] = {}
    for name, (run, is_policy) in cases.items():
        for kind, chosen in (("varied", pairs), ("hot", hot_pairs)):
            items: list[Any] = [w.as_entity_request(p) for p in chosen] if is_policy else chosen
            timers[f"{name}|{kind}"] = timed(run, items)
    times = rounds_of(timers, rounds)
    rows = []
    for name in cases:
        varied, hot = times[f"{name}|varied"], times[f"{name}|hot"]
        extra = fmt_time(varied.median - hot.median)
        rows.append([name, varied.shown(), hot.shown(), extra])
    out = [
        "",
        f"Where an entity decision's time goes: the same work on the varied pairs and on "
        f"{HOT_PAIRS} pairs repeated (their entities stay in the CPU's caches), per request:",
        "",
    ]
    out += table(["what", "varied", f"{HOT_PAIRS} pairs repeated", "cold memory"], rows)
    return out


# ---- 2. Kubernetes pods ------------------------------------------------------------------------


def pods_section(rounds: int) -> list[str]:
    out = [
        "",
        f"#### Kubernetes: admission reviews of Pods, examples/gatekeeper ({PODS} varied pods "
        "a pass, one in five breaking a rule)",
        "",
    ]
    rows = []
    for template in w.GATEKEEPER:
        policy = w.gatekeeper_policy(template)
        cases = {}
        counts = {}
        for containers in (1, w.CONTAINERS):
            reqs = [w.for_template(template, r) for r in w.pods(PODS, containers)]
            denied = [r for r in reqs if policy.decide(r).decision == "deny"]
            allowed = [r for r in reqs if policy.decide(r).decision != "deny"]
            counts[containers] = len(denied)
            cases[containers, "all"] = timed(policy.decide, reqs)
            cases[containers, "allowed"] = timed(policy.decide, allowed)
            cases[containers, "denied"] = timed(policy.decide, denied)
        times = rounds_of(cases, rounds)
        rules = len(policy.checked.rules)
        for containers in (1, w.CONTAINERS):
            timing = times[containers, "all"]
            ratio = timing.median / times[1, "all"].median
            rows.append(
                [
                    f"{template} ({rules} rules)",
                    str(containers),
                    timing.shown(),
                    fmt_time(timing.median / containers),
                    f"{ratio:.1f}x",
                    fmt_time(times[containers, "allowed"].median),
                    f"{fmt_time(times[containers, 'denied'].median)} ({counts[containers]})",
                ]
            )
    out += table(
        [
            "policy",
            "containers",
            "decide, median (range)",
            "per container",
            "x 1 container",
            "allowed pods",
            "denied pods (how many)",
        ],
        rows,
    )
    # containerlimits tests each container's limits with `matches`, once per row (Constraint)
    from policydsl.regex import compile_pattern

    memory = r"^[0-9]+(\.[0-9]+)?(E|P|T|G|M|k|m|Ki|Mi|Gi|Ti|Pi|Ei)?$"
    texts = ["128Mi", "256Mi", "512Mi"] * 10_000
    re2_search = compile_pattern(memory).search
    re_search = re.compile(memory).search
    searches = rounds_of({"re2": timed(re2_search, texts), "re": timed(re_search, texts)}, rounds)
    out += [
        "",
        f"One `matches` (RE2, as the compiled policy calls it) on a memory limit: "
        f"{fmt_time(searches['re2'].median)}; Python's `re` on the same: "
        f"{fmt_time(searches['re'].median)}.",
    ]
    return out


# ---- 3. template instances ---------------------------------------------------------------------


def instances_section(requests: int, rounds: int, targets: list[list[str]]) -> list[str]:
    out = [
        "",
        f"#### Template instances: rows from JSON files, {requests:,} varied pods a pass",
        "",
    ]
    with tempfile.TemporaryDirectory(prefix="policydsl-bench-") as name:
        cases: dict[str, Callable[[], float]] = {}
        compiles: dict[int, float] = {}
        rules: dict[int, int] = {}
        for n in w.INSTANCES:
            directory = Path(name) / str(n)
            directory.mkdir()
            instances = w.make_instances(n)
            start = time.perf_counter()
            policy = w.template_policy(instances, directory)
            compiles[n] = time.perf_counter() - start
            reqs = w.template_requests(instances, requests)
            w.check_templates(policy, instances, reqs)
            rules[n] = len(policy.checked.rules)

            def first(directory: Path, reqs: list[w.Request]) -> Callable[[], float]:
                def run() -> float:
                    fresh = policydsl.load(directory / "templates.policy")
                    return per_item(fresh.decide, reqs)

                return run

            cases[f"{n} first"] = first(directory, reqs)
            cases[f"{n} warm"] = timed(policy.decide, reqs)
        times = rounds_of(cases, rounds)
    low, high = w.INSTANCES
    rows = []
    for n in w.INSTANCES:
        row = [f"{n:,}", f"{rules[n]:,}", fmt_time(compiles[n])]
        for passes in ("first", "warm"):
            timing = times[f"{n} {passes}"]
            ratio = timing.median / times[f"{low} {passes}"].median
            row += [timing.shown(), f"{ratio:.2f}x"]
        rows.append(row)
    for passes in ("first", "warm"):
        ratio = times[f"{high} {passes}"].median / times[f"{low} {passes}"].median
        targets.append(
            [
                f"template instances: {high:,} / {low}, {passes} pass",
                f"{ratio:.2f}x",
                f"≤ {INSTANCES_RATIO_LIMIT:g}x",
                verdict(ratio, INSTANCES_RATIO_LIMIT),
            ]
        )
    out += table(
        [
            "instances",
            "rules",
            "compile (first load)",
            "first pass",
            "x 10",
            "warm pass",
            "x 10",
        ],
        rows,
    )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests a pass")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every case")
    args = parser.parse_args(argv)
    command = "python benchmarks/data_report.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started = machine()
    targets: list[list[str]] = []
    body = entity_section(args.requests, args.rounds, targets)
    body += pods_section(args.rounds)
    body += instances_section(args.requests, args.rounds, targets)
    out = [
        "### Data-heavy policies",
        "",
        f"- Machine: {started} before the run, {machine().rsplit('load average ', 1)[1]} after",
        f"- Run: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC at commit {commit()}",
        f"- Command: `{command.strip()}`",
        "",
        "#### Targets (ratios of medians from this run)",
        "",
        *table(["target", "measured", "limit", "verdict"], targets),
        "",
        *body,
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
