"""The generated code of entity reads: hierarchy membership and uids, as `ast` nodes.

An entity's `ancestors` are itself and its `groups` (a set shared by the entities with the same
parents): membership is tested on the two, never on a set made of them per test.
"""

from __future__ import annotations

import ast

from policydsl.pyast import LOAD, ref, store


def in_hierarchy(group: ast.expr, entity: ast.expr, many: bool = False) -> ast.expr:
    """`g == e.uid or g in e.groups`; for a set of groups `gs`, `e.uid in gs or not
    e.groups.isdisjoint(gs)`."""
    uid = ast.Attribute(entity, "uid", LOAD)
    groups = ast.Attribute(entity, "groups", LOAD)
    if not many:
        itself = ast.Compare(group, [ast.Eq()], [uid])
        return ast.BoolOp(ast.Or(), [itself, ast.Compare(group, [ast.In()], [groups])])
    disjoint = ast.Call(ast.Attribute(groups, "isdisjoint", LOAD), [group], [])
    itself = ast.Compare(uid, [ast.In()], [group])
    return ast.BoolOp(ast.Or(), [itself, ast.UnaryOp(ast.Not(), disjoint)])


def uids(value: ast.expr, var: str | None) -> ast.expr:
    """An entity's uid; with a loop variable, `{v.uid for v in VALUE}` (a collection's)."""
    if var is None:
        return ast.Attribute(value, "uid", LOAD)
    loop = ast.comprehension(store(var), value, [], 0)
    return ast.SetComp(ast.Attribute(ref(var), "uid", LOAD), [loop])
