"""Five of Cedar's published example sets (examples/cedar/), as seeded generators of entity
stores and requests, with Cedar's own answer through `cedarpy` and the policydsl translation's.

Each generator builds one store conforming to the set's Cedar schema (hierarchies several levels
deep, references, sets, optional attributes present and absent) and requests over it, biased so
that both decisions are common. Template-linked sets also draw links: Cedar links its real
templates (`PolicySet.with_linked_batch`); in policydsl a template is a rule written once `for`
a table of its links, and the tables are rendered here (`LinkTable.render`) as the published
links are written in the set's `links.policy` (see each README).
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "cedar"

Json = dict[str, Any]


# Ids Cedar takes as any string: quotes, backslashes, `::`, spaces, a tab, accents, an emoji, empty
ODD_IDS = ("o'brien", 'quo"te', "émile", "a::b", "space id", "", "back\\slash", "tab\there", "😀")


def names(rng: random.Random, prefix: str, count: int) -> list[str]:
    """`count` entity ids: `prefix0`, `prefix1`, ..., a few of them odd (ODD_IDS)."""
    odd = iter(rng.sample(ODD_IDS, len(ODD_IDS)))
    return [next(odd) if rng.random() < 0.3 else f"{prefix}{i}" for i in range(count)]


def policy_string(text: str) -> str:
    """A policydsl string literal of `text` (`\\u{...}` for a control character)."""
    escaped = "".join(
        "\\\\"
        if ch == "\\"
        else '\\"'
        if ch == '"'
        else f"\\u{{{ord(ch):x}}}"
        if ord(ch) < 32 or ord(ch) == 127
        else ch
        for ch in text
    )
    return f'"{escaped}"'


def uid(type_: str, id_: str) -> Json:
    return {"type": type_, "id": id_}


def ref(type_: str, id_: str) -> Json:
    """An entity reference as an attribute or context value."""
    return {"__entity": uid(type_, id_)}


def entity(type_: str, id_: str, attrs_: Json | None = None, parents: Sequence[Json] = ()) -> Json:
    return {"uid": uid(type_, id_), "attrs": attrs_ or {}, "parents": list(parents)}


@attrs.frozen
class Link:
    """A template link: Cedar's `with_linked_batch` entry, and what the policydsl rule needs."""

    template: str
    link_id: str
    principal: Json
    resource: Json

    def cedar(self) -> Json:
        return {
            "template_id": self.template,
            "new_id": self.link_id,
            "values": {"?principal": self.principal, "?resource": self.resource},
        }


@attrs.frozen
class LinkTable:
    """A template in policydsl: one rule written once `for` a table whose rows are the
    template's links (link id, `?principal`, `?resource`). A template whose `?resource` may be of
    two types has a table and a rule per type (a column has one type)."""

    template: str  # Cedar's template id
    rule: str  # the rule's name; its table is `<rule>_links`
    who: str  # the type of `?principal`
    at: str  # the type of `?resource`

    @property
    def table(self) -> str:
        return f"{self.rule}_links"

    def holds(self, link: Link) -> bool:
        return link.template == self.template and plain(link.resource["type"]) == self.at

    def render(self, links: Sequence[Link]) -> str:
        """The table's declaration with a row per link of the template."""
        rows = "".join(
            f"  {policy_string(link.link_id)}, {self.who}::{policy_string(link.principal['id'])},"
            f" {self.at}::{policy_string(link.resource['id'])}\n"
            for link in links
            if self.holds(link)
        )
        return f"table {self.table}(link: string, who: {self.who}, at: {self.at}) {{\n{rows}}}\n"


@attrs.frozen
class Store:
    entities: list[Json]
    requests: list[Json]
    links: list[Link] = attrs.Factory(list)


@attrs.frozen
class CedarSet:
    """One example set (or one variant of it: static or templated)."""

    name: str
    original: Path  # the published files, unchanged
    translation: Path  # the policydsl folder
    generate: Callable[[random.Random, int], Store]
    resource_fields: Mapping[str, str] | None  # Cedar resource type -> field of `resource`
    rule_names: Mapping[str, str]  # Cedar's id of each static policy -> the rule's name
    link_tables: Sequence[LinkTable] = ()

    # -- Cedar's side --------------------------------------------------------------------------

    def cedar_schema(self) -> str:
        return (self.original / "policies.cedarschema").read_text()

    def cedar_answers(self, store: Store, *, schema: bool = True) -> list[tuple[str, list[str]]]:
        """Cedar's decision ("allow"/"deny") for each request of the store, in order, with the
        policies that decided it (the permits that allow, the forbids that deny), as the
        translation's rule names (a link's rule is named by its link id)."""
        import cedarpy

        policies = cedarpy.PolicySet.from_str((self.original / "policies.cedar").read_text())
        if store.links:
            policies = policies.with_linked_batch([link.cedar() for link in store.links])
        results = cedarpy.is_authorized_batch(
            store.requests,
            policies,
            store.entities,
            self.cedar_schema() if schema else None,
        )
        links = {link.link_id: link for link in store.links}
        out = []
        for result in results:
            if result.diagnostics.errors:  # a generated store and request conform to the schema
                raise AssertionError(f"Cedar reported errors: {result.diagnostics.errors}")
            reasons = sorted(
                self.rule_names[r] if r in self.rule_names else self.link_rule(links[r])
                for r in result.diagnostics.reasons
            )
            out.append(("allow" if result.allowed else "deny", reasons))
        return out

    def cedar_decisions(self, store: Store, *, schema: bool = True) -> list[str]:
        return [decision for decision, _ in self.cedar_answers(store, schema=schema)]

    def static_policies(self) -> dict[str, str]:
        """Cedar's id of each policy that is not a template (`policy0`, ..., templates counted),
        and its effect."""
        return dict(_static_policies(self.original / "policies.cedar"))

    def deciding_rules(self, decision: str, fired: Sequence[str]) -> list[str]:
        """Of the translation's fired rules, those whose effect is the decision (Cedar's
        reasons): a rule is a deny when its Cedar policy is a forbid (a link's is a permit)."""
        effects = _static_policies(self.original / "policies.cedar")
        forbids = {self.rule_names[id_] for id_, effect in effects.items() if effect == "forbid"}
        return sorted(r for r in fired if (r in forbids) == (decision == "deny"))

    def published(self) -> tuple[list[Json], list[tuple[str, Json]], list[Link]]:
        """The set's own entities, its sample requests (with the expected decision) and links."""
        entities = json.loads((self.original / "entities.json").read_text())
        requests = []
        for folder, expected in (("ALLOW", "allow"), ("DENY", "deny")):
            for path in sorted((self.original / folder).glob("*.json")):
                requests.append((expected, json.loads(path.read_text())))
        links = []
        if (self.original / "linked").exists():
            for link in json.loads((self.original / "linked").read_text()):
                args = link["args"]
                links.append(
                    Link(
                        link["template_id"],
                        link["link_id"],
                        parse_uid(args["?principal"]),
                        parse_uid(args["?resource"]),
                    )
                )
        return entities, requests, links

    # -- policydsl's side ----------------------------------------------------------------------

    def policy_text(self, links: Sequence[Link]) -> str:
        """The translation's source with the tables of `links` (instead of the published
        links, `links.policy`)."""
        files = sorted(p for p in self.translation.glob("*.policy") if p.name != "links.policy")
        text = "\n".join(p.read_text() for p in files)
        if self.link_tables:
            text += "\n" + "\n".join(table.render(links) for table in self.link_tables)
        return text

    def link_rule(self, link: Link) -> str:
        """The id of the rule a link's row makes (`adhoc_access[AliceView]`)."""
        (table,) = [t for t in self.link_tables if t.holds(link)]
        return f"{table.rule}[{link.link_id}]"

    def request(self, cedar_request: Json) -> Json:
        """The policydsl request for a Cedar request (see the set's README)."""
        resource = as_uid(cedar_request["resource"])
        out: Json = {
            "principal": as_uid(cedar_request["principal"])["id"],
            "action": as_uid(cedar_request["action"])["id"],
        }
        if self.resource_fields is None:
            out["resource"] = resource["id"]
        else:
            out["resource"] = {self.resource_fields[plain(resource["type"])]: resource["id"]}
        context = cedar_request.get("context") or {}
        if context:
            out["ctx"] = _ids(context)
        return out

    def entities(self, cedar_entities: Sequence[Json]) -> list[Json]:
        """The store for policydsl: Cedar's JSON with namespaces dropped from type names."""
        return [_plain_types(e) for e in cedar_entities]


@functools.cache
def _static_policies(path: Path) -> Mapping[str, str]:
    import cedarpy

    est = json.loads(cedarpy.policies_to_json_str(path.read_text()))
    return {id_: policy["effect"] for id_, policy in est["staticPolicies"].items()}


def parse_uid(text: str) -> Json:
    """`Ns::Type::"id"` as `{"type": "Ns::Type", "id": "id"}`."""
    type_, _, quoted = text.rpartition("::")
    return uid(type_, json.loads(quoted))


def as_uid(value: Any) -> Json:
    if isinstance(value, str):
        return parse_uid(value)
    if "__entity" in value:
        return dict(value["__entity"])
    return dict(value)


def plain(type_: str) -> str:
    """A Cedar type name without its namespace (`Taxpreparer::Document` -> `Document`)."""
    return type_.rpartition("::")[2]


def _ids(value: Any) -> Any:
    """Context values for policydsl: an entity reference becomes its id."""
    if isinstance(value, dict):
        if "__entity" in value:
            return value["__entity"]["id"]
        return {k: _ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ids(v) for v in value]
    return value


def _plain_types(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"type", "id"} and isinstance(value["type"], str):
            return {"type": plain(value["type"]), "id": value["id"]}
        return {k: _plain_types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_types(v) for v in value]
    return value


def some(rng: random.Random, items: Sequence[Any], most: int) -> list[Any]:
    """A random subset of at most `most` items (possibly empty), in a stable order."""
    k = rng.randint(0, min(most, len(items)))
    return sorted(rng.sample(list(items), k), key=list(items).index)


def request(principal: Json, action: str, resource: Json, context: Json | None = None) -> Json:
    return {
        "principal": principal,
        "action": uid("Action", action),
        "resource": resource,
        "context": context or {},
    }


def aim(rng: random.Random, requests: list[Json], links: Sequence[Link], share: float) -> None:
    """Point a share of the requests at links: the link's principal, and its resource where the
    request's resource has that type (so that templates' conditions are what decides)."""
    for req in requests:
        if links and rng.random() < share:
            link = rng.choice(links)
            req["principal"] = dict(link.principal)
            if req["resource"]["type"] == link.resource["type"]:
                req["resource"] = dict(link.resource)


# -- github_example ----------------------------------------------------------------------------

GITHUB_ROLES = ("readers", "triagers", "writers", "maintainers", "admins")
GITHUB_REPO_ACTIONS = (
    "pull",
    "push",
    "fork",
    "add_reader",
    "add_triager",
    "add_writer",
    "add_maintainer",
    "add_admin",
)
GITHUB_ISSUE_ACTIONS = ("assign_issue", "delete_issue", "edit_issue")


def github(rng: random.Random, n: int) -> Store:
    entities: list[Json] = []
    groups: list[str] = []  # every UserGroup, each after its parents (the hierarchy is acyclic)
    repos = [f"repo{i}" for i in range(rng.randint(3, 5))]
    for repo in repos:
        above: str | None = None
        for role in GITHUB_ROLES:  # admins in maintainers in writers in triagers in readers
            name = f"{repo}_{role}"
            parents = [uid("UserGroup", above)] if above is not None and rng.random() < 0.85 else []
            entities.append(entity("UserGroup", name, parents=parents))
            groups.append(name)
            above = name
        entities.append(
            entity("Repository", repo, {r: ref("UserGroup", f"{repo}_{r}") for r in GITHUB_ROLES})
        )
    for i in range(rng.randint(2, 5)):  # groups nested under the repositories' role groups
        name = f"group{i}"
        parents = [uid("UserGroup", g) for g in some(rng, groups, 2)]
        entities.append(entity("UserGroup", name, parents=parents))
        groups.append(name)
    teams = [f"team{i}" for i in range(rng.randint(1, 4))]
    for team in teams:
        entities.append(
            entity("Team", team, parents=[uid("UserGroup", g) for g in some(rng, groups, 3)])
        )
    users = [f"user{i}" for i in range(rng.randint(5, 10))]
    for user in users:
        parents = [uid("UserGroup", g) for g in some(rng, groups, 4)]
        parents += [uid("Team", t) for t in some(rng, teams, 2)]
        entities.append(entity("User", user, parents=parents))
    issues = [f"issue{i}" for i in range(rng.randint(3, 8))]
    for issue in issues:
        entities.append(
            entity(
                "Issue",
                issue,
                {
                    "repo": ref("Repository", rng.choice(repos)),
                    "reporter": ref("User", rng.choice(users)),
                },
            )
        )
    for i in range(rng.randint(0, 2)):
        members, owners = rng.choice(groups), rng.choice(groups)
        entities.append(
            entity(
                "Org",
                f"org{i}",
                {"members": ref("UserGroup", members), "owners": ref("UserGroup", owners)},
            )
        )
    reporter = {
        e["uid"]["id"]: e["attrs"]["reporter"]["__entity"]["id"]
        for e in entities
        if e["uid"]["type"] == "Issue"
    }
    requests = []
    for _ in range(n):
        if rng.random() < 0.6:
            action = rng.choice(GITHUB_REPO_ACTIONS)
            resource = uid("Repository", rng.choice(repos))
            user = rng.choice(users)
        else:
            action = rng.choice(GITHUB_ISSUE_ACTIONS)
            issue = rng.choice(issues)
            resource = uid("Issue", issue)
            user = reporter[issue] if rng.random() < 0.5 else rng.choice(users)
        requests.append(request(uid("User", user), action, resource))
    return Store(entities, requests)


# -- hotel_chains ------------------------------------------------------------------------------

HOTEL_RESERVATION_ACTIONS = ("viewReservation", "updateReservation", "grantAccessReservation")
HOTEL_PROPERTY_ACTIONS = (
    "createReservation",
    "viewProperty",
    "updateProperty",
    "grantAccessProperty",
)
HOTEL_HOTEL_ACTIONS = (
    "createProperty",
    "createHotel",
    "viewHotel",
    "updateHotel",
    "grantAccessHotel",
)


def _hotel_world(rng: random.Random) -> tuple[list[Json], list[str], list[str], list[str]]:
    """Chains nested up to three levels, properties (one or two chains each), reservations."""
    entities: list[Json] = []
    hotels: list[str] = []
    for i in range(rng.randint(2, 3)):  # top-level chains
        hotels.append(f"H{i}")
        entities.append(entity("Hotel", f"H{i}"))
        for j in range(rng.randint(0, 2)):  # sub-chains
            sub = f"H{i}.{j}"
            hotels.append(sub)
            entities.append(entity("Hotel", sub, parents=[uid("Hotel", f"H{i}")]))
            if rng.random() < 0.5:
                subsub = f"{sub}.0"
                hotels.append(subsub)
                entities.append(entity("Hotel", subsub, parents=[uid("Hotel", sub)]))
    properties = [f"P{i}" for i in range(rng.randint(3, 6))]
    for prop in properties:
        chains = rng.sample(hotels, 2 if rng.random() < 0.2 else 1)
        entities.append(entity("Property", prop, parents=[uid("Hotel", h) for h in chains]))
    reservations = []
    for prop in properties:
        for k in range(rng.randint(1, 3)):
            res = f"{prop}-R{k}"
            reservations.append(res)
            parents = [uid("Property", prop)]
            if rng.random() < 0.3:  # as published: a reservation also in a chain directly
                parents.append(uid("Hotel", rng.choice(hotels)))
            entities.append(entity("Reservation", res, parents=parents))
    return entities, hotels, properties, reservations


def _hotel_requests(
    rng: random.Random,
    n: int,
    users: Sequence[str],
    hotels: Sequence[str],
    properties: Sequence[str],
    reservations: Sequence[str],
) -> list[Json]:
    requests = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.45:
            action, resource = (
                rng.choice(HOTEL_RESERVATION_ACTIONS),
                uid("Reservation", rng.choice(reservations)),
            )
        elif kind < 0.75:
            action, resource = (
                rng.choice(HOTEL_PROPERTY_ACTIONS),
                uid("Property", rng.choice(properties)),
            )
        else:
            action, resource = rng.choice(HOTEL_HOTEL_ACTIONS), uid("Hotel", rng.choice(hotels))
        requests.append(request(uid("User", rng.choice(users)), action, resource))
    return requests


def hotel_static(rng: random.Random, n: int) -> Store:
    entities, hotels, properties, reservations = _hotel_world(rng)
    users = [f"user{i}" for i in range(rng.randint(3, 6))]

    def permissions() -> Json:
        return {
            "hotelReservations": [ref("Hotel", h) for h in some(rng, hotels, 2)],
            "propertyReservations": [ref("Property", p) for p in some(rng, properties, 2)],
        }

    for user in users:
        attributes = {
            "viewPermissions": permissions(),
            "memberPermissions": permissions(),
            "hotelAdminPermissions": [ref("Hotel", h) for h in some(rng, hotels, 1)],
            "propertyAdminPermissions": [ref("Property", p) for p in some(rng, properties, 2)],
        }
        entities.append(entity("User", user, attributes))
    return Store(entities, _hotel_requests(rng, n, users, hotels, properties, reservations))


HOTEL_TEMPLATES = (
    "ViewReservation",
    "MemberReservation",
    "AdminReservation",
    "ViewPropertyOrHotel",
    "MemberPropertyOrHotel",
    "AdminPropertyOrHotel",
)


def hotel_templated(rng: random.Random, n: int) -> Store:
    entities, hotels, properties, reservations = _hotel_world(rng)
    users = names(rng, "user", rng.randint(3, 6))
    entities += [entity("User", user) for user in users]
    links = []
    for user in users:
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.5:
                target = uid("Hotel", rng.choice(hotels))
            else:
                target = uid("Property", rng.choice(properties))
            template = rng.choice(HOTEL_TEMPLATES)
            links.append(Link(template, f"link{len(links)}", uid("User", user), target))
    requests = _hotel_requests(rng, n, users, hotels, properties, reservations)
    aim(rng, requests, links, 0.4)
    return Store(entities, requests, links)


HOTEL_TABLES = [
    LinkTable(template, f"{template}_at_{at.lower()}", "User", at)
    for template in HOTEL_TEMPLATES
    for at in ("Hotel", "Property")
]


# -- sales_orgs --------------------------------------------------------------------------------

SALES_JOBS = ("internal", "distributor", "customer", "other")
SALES_PREZ_ACTIONS = (
    "viewPresentation",
    "removeSelfAccessFromPresentation",
    "duplicatePresentation",
    "editPresentation",
    "grantViewAccessToPresentation",
    "grantEditAccessToPresentation",
)
SALES_TEMPLATE_ACTIONS = (
    "viewTemplate",
    "duplicateTemplate",
    "removeSelfAccessFromTemplate",
    "editTemplate",
    "removeOthersAccessToTemplate",
    "grantViewAccessToTemplate",
    "grantEditAccessToTemplate",
)


def _sales_world(rng: random.Random) -> tuple[list[Json], list[str], list[str]]:
    entities = [entity("Job", job) for job in SALES_JOBS]
    markets = [f"market{i}" for i in range(rng.randint(2, 4))]
    entities += [entity("Market", m) for m in markets]
    users = names(rng, "user", rng.randint(5, 9))
    for user in users:
        attributes = {
            "job": ref("Job", rng.choice(SALES_JOBS)),
            "customerId": rng.choice(("c1", "c2", "c3")),
        }
        parents = [uid("Market", m) for m in some(rng, markets, 2)]
        entities.append(entity("User", user, attributes, parents))
    return entities, markets, users


def _sales_requests(
    rng: random.Random,
    n: int,
    users: Sequence[str],
    markets: Sequence[str],
    owners: Mapping[str, str],
) -> list[Json]:
    """Requests on presentations (`prez*`) and templates (`tmpl*`); `owners` maps each to its
    owner, who is the principal of a third of the requests."""
    resources = sorted(owners)
    requests = []
    for _ in range(n):
        is_prez = rng.random() < 0.5
        resource = rng.choice([r for r in resources if r.startswith("prez" if is_prez else "tmpl")])
        principal = owners[resource] if rng.random() < 0.3 else rng.choice(users)
        context: Json = {}
        if is_prez:
            action = rng.choice(SALES_PREZ_ACTIONS)
            if action.startswith("grant"):
                context["target"] = ref("User", rng.choice(users))
        else:
            action = rng.choice(SALES_TEMPLATE_ACTIONS)
            if action.startswith("grant"):
                if rng.random() < 0.7:
                    context["targetUser"] = ref("User", rng.choice(users))
                if rng.random() < 0.4:
                    context["targetMarket"] = ref("Market", rng.choice(markets))
        kind = "Presentation" if is_prez else "Template"
        requests.append(request(uid("User", principal), action, uid(kind, resource), context))
    return requests


def sales_static(rng: random.Random, n: int) -> Store:
    entities, markets, users = _sales_world(rng)
    owners = {}
    for i in range(rng.randint(2, 4)):
        owners[f"prez{i}"] = owner = rng.choice(users)
        attributes = {
            "owner": ref("User", owner),
            "viewers": [ref("User", u) for u in some(rng, users, 4)],
            "editors": [ref("User", u) for u in some(rng, users, 3)],
        }
        entities.append(entity("Presentation", f"prez{i}", attributes))
    for i in range(rng.randint(2, 4)):
        owners[f"tmpl{i}"] = owner = rng.choice(users)
        attributes = {
            "owner": ref("User", owner),
            "viewers": [ref("User", u) for u in some(rng, users, 4)],
            "editors": [ref("User", u) for u in some(rng, users, 3)],
            "viewerMarkets": [ref("Market", m) for m in some(rng, markets, 2)],
            "editorMarkets": [ref("Market", m) for m in some(rng, markets, 1)],
        }
        entities.append(entity("Template", f"tmpl{i}", attributes))
    return Store(entities, _sales_requests(rng, n, users, markets, owners))


# template id -> the resource type its `?resource` takes
SALES_TEMPLATES = {
    "external-prez-view": "Presentation",
    "internal-prez-view": "Presentation",
    "template-edit for non-owner": "Presentation",
    "market-template-view": "Template",
    "internal-template-view": "Template",
    "template-edit": "Template",
}
SALES_TABLES = [
    LinkTable(template, template.replace("-", "_").replace(" ", "_"), "User", at)
    for template, at in SALES_TEMPLATES.items()
]


def sales_templated(rng: random.Random, n: int) -> Store:
    entities, markets, users = _sales_world(rng)
    owners = {}
    for i in range(rng.randint(2, 4)):
        owners[f"prez{i}"] = owner = rng.choice(users)
        entities.append(entity("Presentation", f"prez{i}", {"owner": ref("User", owner)}))
    for i in range(rng.randint(2, 4)):
        owners[f"tmpl{i}"] = owner = rng.choice(users)
        entities.append(entity("Template", f"tmpl{i}", {"owner": ref("User", owner)}))
    links = []
    for _ in range(rng.randint(4, 14)):
        template = rng.choice(sorted(SALES_TEMPLATES))
        kind = SALES_TEMPLATES[template]
        resource = rng.choice(
            [r for r in owners if r.startswith("prez" if kind == "Presentation" else "tmpl")]
        )
        links.append(
            Link(template, f"link{len(links)}", uid("User", rng.choice(users)), uid(kind, resource))
        )
    requests = _sales_requests(rng, n, users, markets, owners)
    aim(rng, requests, links, 0.4)
    return Store(entities, requests, links)


# -- tags_n_roles ------------------------------------------------------------------------------

TAG_GROUPS = {
    "production_status": ("production", "test", "staging"),
    "country": ("germany", "italy", "usa"),
    "stage": ("reporting", "valuation", "review"),
}
TAG_ROLES = ("Role-A", "Role-B")
TAG_ACTIONS = ("UpdateWorkspace", "DeleteWorkspace", "ReadWorkspace")


def _tags(rng: random.Random, present: float) -> Json:
    """A record of optional tag groups, each a set of values (`ALL` now and then)."""
    tags = {}
    for group, values in TAG_GROUPS.items():
        if rng.random() < present:
            chosen = some(rng, values, 2) if rng.random() < 0.9 else []
            if rng.random() < 0.15:
                chosen.append("ALL")
            tags[group] = chosen
    return tags


def tags_n_roles(rng: random.Random, n: int) -> Store:
    entities = [entity("Role", role) for role in TAG_ROLES]
    users = [f"user{i}" for i in range(rng.randint(4, 8))]
    for user in users:
        roles = some(rng, TAG_ROLES, 2)
        allowed = {}
        for role in TAG_ROLES:  # tags for a role the user lacks, now and then
            if role in roles or rng.random() < 0.2:
                allowed[role] = _tags(rng, 0.6)
        entities.append(
            entity("User", user, {"allowedTagsForRole": allowed}, [uid("Role", r) for r in roles])
        )
    workspaces = [f"ws{i}" for i in range(rng.randint(3, 6))]
    entities += [entity("Workspace", ws, {"tags": _tags(rng, 0.6)}) for ws in workspaces]
    requests = [
        request(
            uid("User", rng.choice(users)),
            rng.choice(TAG_ACTIONS),
            uid("Workspace", rng.choice(workspaces)),
        )
        for _ in range(n)
    ]
    return Store(entities, requests)


# -- tax_preparer ------------------------------------------------------------------------------

TAX = "Taxpreparer::"
TAX_ORGS = ("org-1", "org-2")
TAX_LINES = ("corporate", "personal")
TAX_PLACES = ("IAD", "JFK", "SFO")


def tax_preparer(rng: random.Random, n: int) -> Store:
    entities = []
    clients = [f"client{i}" for i in range(rng.randint(2, 4))]
    orgs = {client: rng.choice(TAX_ORGS) for client in clients}
    for client in clients:
        entities.append(entity(TAX + "Client", client, {"organization": orgs[client]}))
    documents = [f"doc{i}" for i in range(rng.randint(3, 6))]
    owner = {}
    for doc in documents:
        owner[doc] = rng.choice(clients)
        attributes = {
            "serviceline": rng.choice(TAX_LINES),
            "location": rng.choice(TAX_PLACES),
            "owner": ref(TAX + "Client", owner[doc]),
        }
        entities.append(entity(TAX + "Document", doc, attributes))
    triples = [(o, line, place) for o in TAX_ORGS for line in TAX_LINES for place in TAX_PLACES]
    documented = [  # the (organization, serviceline, location) of each document
        (orgs[owner[e["uid"]["id"]]], e["attrs"]["serviceline"], e["attrs"]["location"])
        for e in entities
        if e["uid"]["type"] == TAX + "Document"
    ]
    pros = names(rng, "pro", rng.randint(3, 6))
    location = {}
    for pro in pros:
        assigned = [
            rng.choice(documented if rng.random() < 0.6 else triples)
            for _ in range(rng.randint(0, 4))
        ]
        location[pro] = rng.choice(TAX_PLACES)
        attributes = {
            "assigned_orgs": [
                {"organization": o, "serviceline": line, "location": place}
                for o, line, place in assigned
            ],
            "location": location[pro],
        }
        entities.append(entity(TAX + "Professional", pro, attributes))
    links = [
        Link(
            "adhoc-access",
            f"link{i}",
            uid(TAX + "Professional", rng.choice(pros)),
            uid(TAX + "Document", rng.choice(documents)),
        )
        for i in range(rng.randint(0, 4))
    ]
    requests = []
    for _ in range(n):
        doc = rng.choice(documents)
        client = owner[doc] if rng.random() < 0.75 else rng.choice(clients)
        pro = rng.choice(pros)
        regions = some(rng, TAX_PLACES, 3)
        if rng.random() < 0.6 and location[pro] not in regions:
            regions.append(location[pro])
        context = {"consent": {"client": ref(TAX + "Client", client), "team_region_list": regions}}
        requests.append(
            request(
                uid(TAX + "Professional", rng.choice(pros)),
                "viewDocument",
                uid(TAX + "Document", doc),
                context,
            )
        )
        requests[-1]["action"] = uid(TAX + "Action", "viewDocument")
    aim(rng, requests, links, 0.3)
    return Store(entities, requests, links)


TAX_TABLES = [LinkTable("adhoc-access", "adhoc_access", "Professional", "Document")]


# -- the sets ----------------------------------------------------------------------------------

SETS = [
    CedarSet(
        "github_example",
        EXAMPLES / "github_example" / "original",
        EXAMPLES / "github_example",
        github,
        {"Repository": "repository", "Issue": "issue"},
        {
            "policy0": "readers_pull",
            "policy1": "readers_fork",
            "policy2": "readers_delete_own_issue",
            "policy3": "readers_edit_own_issue",
            "policy4": "triagers_assign_issue",
            "policy5": "writers_push",
            "policy6": "writers_edit_issue",
            "policy7": "maintainers_delete_issue",
            "policy8": "admins_add_roles",
        },
    ),
    CedarSet(
        "hotel_chains/static",
        EXAMPLES / "hotel_chains" / "original" / "static",
        EXAMPLES / "hotel_chains" / "static",
        hotel_static,
        {"Reservation": "reservation", "Property": "property", "Hotel": "hotel"},
        {
            "policy0": "view_reservations",
            "policy1": "member_reservations",
            "policy2": "admin_reservations",
            "policy3": "view_properties_hotels",
            "policy4": "member_properties_hotels",
            "policy5": "admin_properties_hotels",
        },
    ),
    CedarSet(
        "hotel_chains/templated",
        EXAMPLES / "hotel_chains" / "original" / "templated",
        EXAMPLES / "hotel_chains" / "templated",
        hotel_templated,
        {"Reservation": "reservation", "Property": "property", "Hotel": "hotel"},
        {},
        HOTEL_TABLES,
    ),
    CedarSet(
        "sales_orgs/static",
        EXAMPLES / "sales_orgs" / "original" / "static",
        EXAMPLES / "sales_orgs" / "static",
        sales_static,
        {"Presentation": "presentation", "Template": "template"},
        {
            "policy0": "external_prez_view",
            "policy1": "internal_prez_view",
            "policy2": "prez_edit",
            "policy3": "limit_prez_view_customer",
            "policy4": "limit_prez_edit_to_internal",
            "policy5": "market_template_view",
            "policy6": "internal_template_view",
            "policy7": "template_edit",
            "policy8": "limit_template_grant_view",
            "policy9": "limit_template_grant_edit_internal",
        },
    ),
    CedarSet(
        "sales_orgs/templated",
        EXAMPLES / "sales_orgs" / "original" / "templated",
        EXAMPLES / "sales_orgs" / "templated",
        sales_templated,
        {"Presentation": "presentation", "Template": "template"},
        {
            "policy3": "template_edit_for_owner",
            "policy4": "limit_prez_view_customer",
            "policy5": "limit_prez_edit_to_internal",
            "policy9": "template_owner_edit",
            "policy10": "limit_template_grant_view",
            "policy11": "limit_template_grant_edit_internal",
        },
        SALES_TABLES,
    ),
    CedarSet(
        "tags_n_roles",
        EXAMPLES / "tags_n_roles" / "original",
        EXAMPLES / "tags_n_roles",
        tags_n_roles,
        None,
        {"policy0": "role_a_policy", "policy1": "role_b_policy"},
    ),
    CedarSet(
        "tax_preparer",
        EXAMPLES / "tax_preparer" / "original",
        EXAMPLES / "tax_preparer",
        tax_preparer,
        None,
        {"policy0": "organization_access", "policy2": "consent_required"},
        TAX_TABLES,
    ),
]
