"""Synthetic policies of N rules, written as `.policy` text, for the scaling and compile benchmarks.

They go through `policydsl.loads` like any user's policy, so the benchmarks time the whole
pipeline (parse, check, lower, generate) and the shapes an index has to handle:

- `category`: a table of N labels and one table rule, `when label in request.labels`;
- `equality`: N separate rules, `when request.action == aK`;
- `pair`: a table of N (role, action) grants and one rule testing both, `when request.role == role
  and request.action == action`: many rules share each key, so the index must go a level deeper.

Each enum has one extra member, `unlisted`, that no rule names, so a request can be valid and
still match nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SIZES: tuple[int, ...] = (10, 100, 1_000, 10_000)
UNLISTED = "unlisted"

Context = dict[str, Any]


def category_policy(n: int) -> str:
    """N rows of a `banned` table and one rule over it: a set-membership (category) index."""
    members = ", ".join(f"l{i}" for i in range(n))
    rows = "\n".join(f'  l{i}, "c{i}"' for i in range(n))
    return f"""\
enum Label {{ {members}, {UNLISTED} }}
context {{ request: {{ labels: set<Label> = [] }} }}
effects deny > allow default allow

table banned(label: Label, clause: string) {{
{rows}
}}

rule banned_label for banned: deny {{
  when label in request.labels
  cite clause
  reason "label `{{label}}` is banned"
}}
"""


def equality_policy(n: int) -> str:
    """N plain rules, each an equality test on one enum attribute: an equality index.

    One rule per line keeps 10,000 rules under the parser's 1,000,000-character file limit.
    """
    members = ", ".join(f"a{i}" for i in range(n))
    rules = "\n".join(
        f'rule r{i}: deny {{ when request.action == a{i} cite "c{i}" reason "a{i} is denied" }}'
        for i in range(n)
    )
    return f"""\
enum Action {{ {members}, {UNLISTED} }}
context {{ request: {{ action: Action }} }}
effects deny > allow default allow

{rules}
"""


def category_requests(n: int) -> dict[str, tuple[Context, tuple[str, ...]]]:
    """`one` matches the last row only, `none` carries a label no row names; with fired ids."""
    last = n - 1
    return {
        "one": ({"request": {"labels": [f"l{last}"]}}, (f"banned_label[l{last}]",)),
        "none": ({"request": {"labels": [UNLISTED]}}, ()),
    }


def equality_requests(n: int) -> dict[str, tuple[Context, tuple[str, ...]]]:
    """`one` matches the last rule only, `none` an action no rule names; with fired ids."""
    last = n - 1
    return {
        "one": ({"request": {"action": f"a{last}"}}, (f"r{last}",)),
        "none": ({"request": {"action": UNLISTED}}, ()),
    }


def _side(n: int) -> int:
    """Roles and actions per side, so that side * side >= n."""
    side = 1
    while side * side < n:
        side += 1
    return side


def pair_policy(n: int) -> str:
    """N grants of (role, action), one table rule testing both attributes by equality."""
    side = _side(n)
    roles = ", ".join(f"r{i}" for i in range(side))
    actions = ", ".join(f"a{i}" for i in range(side))
    rows = "\n".join(f'  "g{k}", r{k // side}, a{k % side}' for k in range(n))
    return f"""\
enum Role {{ {roles} }}
enum Action {{ {actions}, {UNLISTED} }}
context {{ request: {{ role: Role  action: Action }} }}
effects allow > deny default deny

table grants(grant: string, role: Role, action: Action) {{
{rows}
}}

rule granted for grants: allow {{
  when request.role == role and request.action == action
  cite "G"
  reason "grant {{grant}}"
}}
"""


def pair_requests(n: int) -> dict[str, tuple[Context, tuple[str, ...]]]:
    """`one` matches the last grant only, `none` a known role with an action no grant names."""
    side, last = _side(n), n - 1
    role, action = f"r{last // side}", f"a{last % side}"
    return {
        "one": ({"request": {"role": role, "action": action}}, (f"granted[g{last}]",)),
        "none": ({"request": {"role": role, "action": UNLISTED}}, ()),
    }


SHAPES: dict[str, tuple[Callable[[int], str], Callable[[int], dict[str, Any]]]] = {
    "category": (category_policy, category_requests),
    "equality": (equality_policy, equality_requests),
    "pair": (pair_policy, pair_requests),
}
