"""Data-heavy workloads, shared by `test_bench_data.py` and `data_report.py`: an entity store
of 100,000 entities, Kubernetes pods with 50 containers, and a Gatekeeper-like template with
10 or 1,000 instances (table rows read from a JSON file).

Everything is seeded, so two runs decide the same requests. Each workload comes with its own
check (`check_*`): the entity policy and its precomputed twin must fire the same rules on every
request, and the template must fire what a plain Python reading of its rows says, so a
benchmark never times a policy that decides something else.
"""

from __future__ import annotations

import gc
import json
import random
import tempfile
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import policydsl

Request = dict[str, Any]

# ---- the entity store ------------------------------------------------------------------------

ENTITIES = 100_000
USERS = 70_000
TEAM_LEVELS = 8  # Org > 8 levels of Team > User: a hierarchy 10 levels deep
BRANCHING = 3  # teams under each team (3 + 9 + ... + 6,561 = 9,840 teams)
EXTRA_PARENTS = 0.2  # the share of users in one or two more teams
TEAM_EXTRA_PARENTS = 0.05  # the share of teams (below level 1) with a second parent team
GROUP_RULES = (10, 1_000)
ORG = "acme"


@dataclass(frozen=True)
class Org:
    """The generated hierarchy, kept beside its Cedar JSON so requests can be built by hand."""

    data: list[dict[str, Any]]  # Cedar's JSON entity list, shuffled
    teams: list[list[str]]  # team ids by level (0 = directly under the org)
    team_parents: dict[str, list[str]]
    user_teams: dict[str, list[str]]
    user_level: dict[str, int]
    user_manager: dict[str, str | None]
    repo_owner: dict[str, str]
    repo_visibility: dict[str, str]

    def groups(self, user: str) -> list[str]:
        """A user's ancestors as uid strings, computed by hand: what a caller without entity
        support would precompute and send with each request."""
        seen: set[str] = set()
        todo = list(self.user_teams[user])
        while todo:
            team = todo.pop()
            if team not in seen:
                seen.add(team)
                todo.extend(self.team_parents[team])
        return [*(f'Team::"{team}"' for team in sorted(seen)), f'Org::"{ORG}"']


def _uid(type_name: str, entity_id: str) -> dict[str, str]:
    return {"type": type_name, "id": entity_id}


def make_org(seed: int = 0, entities: int = ENTITIES, users: int = USERS) -> Org:
    """An org of teams `TEAM_LEVELS` deep, `users` users in the deepest teams (some in several),
    each with a level and most with a manager, and repos (the rest of `entities`) owned by
    users; references alternate between a plain id and Cedar's `{"__entity": ...}`."""
    rng = random.Random(seed)
    teams: list[list[str]] = []
    team_parents: dict[str, list[str]] = {}
    above: list[str] = []
    for level in range(TEAM_LEVELS):
        count = BRANCHING ** (level + 1)
        ids = [f"t{level}-{i}" for i in range(count)]
        for i, team in enumerate(ids):
            parents = [above[i // BRANCHING]] if above else []
            if above and rng.random() < TEAM_EXTRA_PARENTS:
                other = rng.choice(above)
                if other not in parents:
                    parents.append(other)
            team_parents[team] = parents
        teams.append(ids)
        above = ids
    leaves = teams[-1]
    user_ids = [f"u{i}" for i in range(users)]
    user_teams: dict[str, list[str]] = {}
    user_level: dict[str, int] = {}
    user_manager: dict[str, str | None] = {}
    for i, user in enumerate(user_ids):
        home = [leaves[i % len(leaves)]]
        if rng.random() < EXTRA_PARENTS:
            for other in rng.sample(leaves, rng.randint(1, 2)):
                if other not in home:
                    home.append(other)
        user_teams[user] = home
        user_level[user] = rng.randint(1, 8)
        # a manager among the first tenth of the users; 1% have none
        user_manager[user] = None if rng.random() < 0.01 else f"u{rng.randrange(users // 10)}"
    n_teams = sum(len(ids) for ids in teams)
    repos = entities - 1 - n_teams - users
    repo_owner = {f"r{i}": rng.choice(user_ids) for i in range(repos)}
    repo_visibility = {
        repo: rng.choice(("public", "internal", "private", "secret")) for repo in repo_owner
    }

    def ref(type_name: str, entity_id: str, i: int) -> Any:
        return {"__entity": _uid(type_name, entity_id)} if i % 2 else entity_id

    data: list[dict[str, Any]] = [{"uid": _uid("Org", ORG), "attrs": {}, "parents": []}]
    for team, parents in team_parents.items():
        data.append(
            {
                "uid": _uid("Team", team),
                # the first level's teams are in the org itself
                "parents": [_uid("Team", p) for p in parents] or [_uid("Org", ORG)],
            }
        )
    for i, user in enumerate(user_ids):
        attrs: dict[str, Any] = {"level": user_level[user], "dept": f"d{i % 40}"}
        manager = user_manager[user]
        if manager is not None:
            attrs["manager"] = ref("User", manager, i)
        data.append(
            {
                "uid": _uid("User", user),
                "attrs": attrs,
                "parents": [_uid("Team", team) for team in user_teams[user]],
            }
        )
    for i, (repo, owner) in enumerate(repo_owner.items()):
        attrs = {"owner": ref("User", owner, i), "visibility": repo_visibility[repo]}
        data.append({"uid": _uid("Repo", repo), "attrs": attrs, "parents": []})
    assert len(data) == entities, len(data)
    rng.shuffle(data)
    return Org(
        data,
        teams,
        team_parents,
        user_teams,
        user_level,
        user_manager,
        repo_owner,
        repo_visibility,
    )


def group_teams(org: Org, n: int, seed: int = 1) -> list[str]:
    """`n` different teams for the group rules, spread over the levels (one from each level in
    turn, a random unused one once a level has none left)."""
    rng = random.Random(seed)
    left = [list(ids) for ids in org.teams]
    for ids in left:
        rng.shuffle(ids)
    chosen: list[str] = []
    for i in range(n):
        level = i % TEAM_LEVELS
        if not left[level]:
            level = rng.choice([k for k, ids in enumerate(left) if ids])
        chosen.append(left[level].pop())
    return chosen


ENTITY_DECLS = """\
entity Org
entity Team in [Team, Org]
entity User in [Team] {
  level: int
  dept: string
  manager: User?
}
entity Repo {
  owner: User
  visibility: string
}
"""

ENTITY_CONTEXT = """\
context {
  principal: User
  resource: Repo
}
"""

PRECOMPUTED_CONTEXT = """\
context {
  principal: string
  principal_groups: set<string>
  principal_level: int
  resource: string
  resource_owner: string
  resource_visibility: string
  owner_manager_level: int?
}
"""

COMMON = "effects deny > allow default deny\n"


def entity_policy_text(teams: list[str]) -> str:
    """Group rules (`principal in Team::"..."`, one team each) and rules reading through the
    references (`resource.owner.manager.level`)."""
    rules = [
        f'rule member_{i}: allow {{ when principal in Team::"{team}" }}'
        for i, team in enumerate(teams)
    ]
    rules += [
        "rule senior_owner_manager: allow {\n"
        "  when has resource.owner.manager and resource.owner.manager.level > 3\n}",
        "rule own_repo: allow { when resource.owner == principal }",
        'rule secret_junior: deny { when resource.visibility == "secret" and principal.level < 3 }',
    ]
    return ENTITY_DECLS + ENTITY_CONTEXT + COMMON + "\n".join(rules) + "\n"


def precomputed_policy_text(teams: list[str]) -> str:
    """The same rules over a request whose caller resolved every entity and ancestor by hand."""
    rules = [
        f'rule member_{i}: allow {{ when principal_groups contains "Team::\\"{team}\\"" }}'
        for i, team in enumerate(teams)
    ]
    rules += [
        "rule senior_owner_manager: allow {\n"
        "  when has owner_manager_level and owner_manager_level > 3\n}",
        "rule own_repo: allow { when resource_owner == principal }",
        'rule secret_junior: deny { when resource_visibility == "secret" and principal_level < 3 }',
    ]
    return PRECOMPUTED_CONTEXT + COMMON + "\n".join(rules) + "\n"


def entity_requests(org: Org, n: int, seed: int = 2) -> list[tuple[str, str]]:
    """`n` (user, repo) pairs drawn at random: almost every request names a different pair."""
    rng = random.Random(seed)
    users = list(org.user_teams)
    repos = list(org.repo_owner)
    pairs = []
    for i in range(n):
        repo = rng.choice(repos)
        # a tenth of the requests are about the principal's own repo
        pairs.append((org.repo_owner[repo] if i % 10 == 0 else rng.choice(users), repo))
    return pairs


def as_entity_request(pair: tuple[str, str]) -> Request:
    return {"principal": pair[0], "resource": pair[1]}


def all_groups(org: Org) -> dict[str, list[str]]:
    """Every user's groups, as a caller without entities would keep them to build requests."""
    return {user: org.groups(user) for user in org.user_teams}


def as_precomputed_request(
    org: Org, pair: tuple[str, str], groups: dict[str, list[str]] | None = None
) -> Request:
    """The request a caller without entities sends: ancestors and referenced attributes resolved
    (as a JSON list, the form a request arrives in); `groups` from `all_groups`, or computed."""
    user, repo = pair
    owner = org.repo_owner[repo]
    request: Request = {
        "principal": user,
        "principal_groups": org.groups(user) if groups is None else groups[user],
        "principal_level": org.user_level[user],
        "resource": repo,
        "resource_owner": owner,
        "resource_visibility": org.repo_visibility[repo],
    }
    manager = org.user_manager[owner]
    if manager is not None:
        request["owner_manager_level"] = org.user_level[manager]
    return request


def check_entity_pair(
    entity: policydsl.Policy,
    precomputed: policydsl.Policy,
    entity_reqs: list[Request],
    precomputed_reqs: list[Request],
) -> int:
    """Both policies fire the same rules on every request; the number of distinct fired sets."""
    seen = set()
    for left, right in zip(entity_reqs, precomputed_reqs, strict=True):
        a, b = entity.decide(left), precomputed.decide(right)
        assert (a.decision, a.rules) == (b.decision, b.rules), (left, a.rules, b.rules)
        seen.add(a.rules)
    return len(seen)


# ---- Kubernetes pods ---------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "gatekeeper"
GATEKEEPER = ("containerlimits", "disallowedrepos")
CONTAINERS = 50
IMAGES = (
    "nginx:1.25",
    "ghcr.io/acme/api:2.3",
    "docker.io/library/redis:7",
    "quay.io/prometheus/node-exporter:v1",
    "registry.acme.io/batch/worker:41",
    "k8s.gcr.io/pause:3.9",
)


def pod(rng: random.Random, containers: int, bad: bool) -> Request:
    """An admission review of a Pod with `containers` containers (and a few init containers),
    each with CPU and memory limits; with `bad`, one random container breaks a rule."""

    def container(i: int, prefix: str) -> dict[str, Any]:
        image = rng.choice(IMAGES[:-1])
        cpu = f"{rng.choice((100, 250, 500))}m"
        memory = f"{rng.choice((128, 256, 512))}Mi"
        return {
            "name": f"{prefix}{i}",
            "image": image,
            "resources": {"limits": {"cpu": cpu, "memory": memory}},
        }

    spec = {
        "containers": [container(i, "c") for i in range(containers)],
        "initContainers": [container(i, "init") for i in range(rng.randint(0, 3))],
    }
    if bad:
        victim = rng.choice(spec["containers"])
        broken = rng.randrange(3)
        if broken == 0:
            victim["image"] = IMAGES[-1]  # a disallowed repo
        elif broken == 1:
            del victim["resources"]["limits"]["memory"]
        else:
            victim["resources"]["limits"]["cpu"] = "lots"
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{rng.randrange(10**6)}", "namespace": "default"},
        "spec": spec,
    }
    return {"review": {"kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": obj}}


def pods(n: int, containers: int = CONTAINERS, seed: int = 3) -> list[Request]:
    """`n` pods, one in five with a container that breaks a rule."""
    rng = random.Random(seed)
    return [pod(rng, containers, bad=i % 5 == 4) for i in range(n)]


def for_template(template: str, request: Request) -> Request:
    """A pod as `template`'s policy declares it: containerlimits has no ephemeral containers,
    disallowedrepos no resources."""
    if template == "containerlimits":
        return request
    review = json.loads(json.dumps(request))
    for key in ("containers", "initContainers"):
        for c in review["review"]["object"]["spec"][key]:
            del c["resources"]
    return dict(review)


def gatekeeper_policy(template: str) -> policydsl.Policy:
    return policydsl.load(EXAMPLES / template)


# ---- template instances ------------------------------------------------------------------------

INSTANCES = (10, 1_000)
REPOS = ("ghcr.io/acme/", "registry.acme.io/", "docker.io/library/", "quay.io/", "gcr.io/")
LABELS = ("team", "cost-center", "owner", "tier", "app")

TEMPLATE_POLICY = """\
# A Gatekeeper-like pair of templates, one instance (Constraint) per row of a data file:
# the images a namespace's containers may come from, and the labels its pods must carry.
context {
  review: {
    object: {
      metadata: {
        name: string
        namespace: string
        labels: map<string, string[..63]>[..64]?
      }
      spec: {
        containers: list<{
          name: string[..253]
          image: string[..1024]
        }>[..64] = []
      }
    }
  }
}

effects deny > allow default allow

table allowed_repos(name: string, namespace: string, repos: list<string>[..16]) \
from "allowed_repos.json"

rule repo_not_allowed for allowed_repos: deny {
  when review.object.metadata.namespace == namespace
       and (some c in review.object.spec.containers: not (some r in repos: c.image starts_with r))
  reason "a container's image is not from {repos}"
}

table required_labels(name: string, namespace: string, label: string) \
from "required_labels.json"

rule label_missing for required_labels: deny {
  when review.object.metadata.namespace == namespace
       and not has review.object.metadata.labels[label]
  reason "the pod needs the label {label}"
}
"""


@dataclass(frozen=True)
class Instances:
    """The rows of both templates (each namespace one row of each)."""

    allowed: dict[str, list[str]]  # namespace -> repos
    required: dict[str, str]  # namespace -> label


def make_instances(n: int, seed: int = 4) -> Instances:
    rng = random.Random(seed)
    allowed = {f"ns-{i}": rng.sample(REPOS, rng.randint(1, 3)) for i in range(n)}
    required = {f"ns-{i}": rng.choice(LABELS) for i in range(n)}
    return Instances(allowed, required)


def template_policy(instances: Instances, directory: Path) -> policydsl.Policy:
    """The template policy with its rows written as JSON files into `directory`."""
    allowed = [
        {"name": f"repos-{ns}", "namespace": ns, "repos": repos}
        for ns, repos in instances.allowed.items()
    ]
    required = [
        {"name": f"labels-{ns}", "namespace": ns, "label": label}
        for ns, label in instances.required.items()
    ]
    (directory / "allowed_repos.json").write_text(json.dumps(allowed, indent=1))
    (directory / "required_labels.json").write_text(json.dumps(required, indent=1))
    (directory / "templates.policy").write_text(TEMPLATE_POLICY)
    return policydsl.load(directory / "templates.policy")


def template_requests(instances: Instances, n: int, seed: int = 5) -> list[Request]:
    """`n` pods in the instances' namespaces (one in ten in a namespace no instance names), with
    1 to 5 containers from random registries and random labels."""
    rng = random.Random(seed)
    namespaces = list(instances.allowed)
    out = []
    for i in range(n):
        ns = f"other-{i % 7}" if i % 10 == 9 else rng.choice(namespaces)
        containers = [
            {"name": f"c{k}", "image": rng.choice(REPOS) + f"app{rng.randrange(50)}:1"}
            for k in range(rng.randint(1, 5))
        ]
        labels = {label: "x" for label in rng.sample(LABELS, rng.randint(2, 5))}
        meta = {"name": f"pod-{i}", "namespace": ns, "labels": labels}
        out.append({"review": {"object": {"metadata": meta, "spec": {"containers": containers}}}})
    return out


def expected_template_rules(instances: Instances, request: Request) -> tuple[str, ...]:
    """The rules a plain Python reading of the rows fires, in the policy's order of rules."""
    obj = request["review"]["object"]
    ns = obj["metadata"]["namespace"]
    fired = []
    repos = instances.allowed.get(ns)
    images = [c["image"] for c in obj["spec"]["containers"]]
    if repos is not None and any(not any(i.startswith(r) for r in repos) for i in images):
        fired.append(f"repo_not_allowed[repos-{ns}]")
    label = instances.required.get(ns)
    if label is not None and label not in obj["metadata"].get("labels", {}):
        fired.append(f"label_missing[labels-{ns}]")
    return tuple(fired)


def check_templates(
    policy: policydsl.Policy, instances: Instances, requests: list[Request]
) -> None:
    for request in requests:
        got = policy.decide(request).rules
        assert sorted(got) == sorted(expected_template_rules(instances, request)), (request, got)


def temporary_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="policydsl-bench-") as name:
        yield Path(name)


def store_memory(org: Org, policy: policydsl.Policy) -> tuple[int, int, int]:
    """Bytes the store keeps once the input is gone, and the peak while loading (tracemalloc:
    the JSON text parsed and loaded under tracing); the text's size."""
    text = json.dumps(org.data)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        data = json.loads(text)
        store = policy.entity_store(data)
        del data
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - base
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert len(store) == ENTITIES
    return retained, peak, len(text.encode())
