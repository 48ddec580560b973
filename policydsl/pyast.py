"""Small builders of Python `ast` nodes, shared by the code generators."""

from __future__ import annotations

import ast

LOAD, STORE = ast.Load(), ast.Store()


def ref(id_: str) -> ast.Name:
    return ast.Name(id_, LOAD)


def store(id_: str) -> ast.Name:
    return ast.Name(id_, STORE)


def assign(target: str, value: ast.expr) -> ast.stmt:
    return ast.Assign([store(target)], value)


def is_(left: ast.expr, right: ast.expr, negate: bool = False) -> ast.expr:
    return ast.Compare(left, [ast.IsNot() if negate else ast.Is()], [right])


def none() -> ast.expr:
    return ast.Constant(None)


def class_of(value: ast.expr) -> ast.expr:
    return ast.Attribute(value, "__class__", LOAD)


def call(func: str, *args: ast.expr) -> ast.expr:
    return ast.Call(ref(func), list(args), [])


def or_all(tests: list[ast.expr]) -> ast.expr:
    return tests[0] if len(tests) == 1 else ast.BoolOp(ast.Or(), tests)
