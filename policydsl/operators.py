"""Every operator of the language, in one enumeration, with the table of its properties.

The transformer turns an operator's spelling into its `Op` member once; the syntax tree, the
checked model and the IR carry the member, never the text. Each layer that gives an operator a
meaning dispatches on it with `match` ending in `typing.assert_never`, so `mypy --strict` names
every layer a new member still lacks; the printers (formatter, `explain`, the IR dump) take its
spelling and binding strength from the table and need nothing.

Adding a binary operator to an existing kind: its member, `TABLE` entry and place in the kind's
`...Op` type below; its spelling in `grammar/policy.lark`; then one arm in each module mypy
names: `typecheck` (its types), `interp` and `codegen` (its meaning, twice, independently),
`lower` (folding constants, for comparisons, membership and arithmetic) and `analysis` (ranges,
for comparisons). `tests/test_operators.py` wants one sample for it; `docs/LANGUAGE.md` a line.
"""

from __future__ import annotations

import enum
from typing import Literal, TypeAlias, cast, get_args

import attrs

from policydsl.reprs import Repr


class Kind(enum.Enum):
    """The node an operator appears in (`nodes.Compare`, `nodes.SetTest`, ...)."""

    COMPARE = "comparison"
    SET_TEST = "set or string test"
    MEMBERSHIP = "membership"
    ARITH = "arithmetic"
    UNARY = "unary"
    LOGIC = "boolean"


class Level(enum.IntEnum):
    """Binding strength of the grammar's levels, loosest first: an operand looser than the slot
    it fills needs parentheses."""

    QUANT = 0
    OR = 1
    AND = 2
    NOT = 3
    TEST = 4
    SUM = 5
    PRODUCT = 6
    UNARY = 7
    ATOM = 8


class Op(enum.Enum):
    """An operator. The value is only a name; the spelling is in the table (`-` is two)."""

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    CONTAINS = "contains"
    CONTAINS_ANY = "contains_any"
    CONTAINS_ALL = "contains_all"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    LIKE = "like"
    MATCHES = "matches"
    IN_RANGE = "in_range"
    IN = "in"
    NOT_IN = "not_in"
    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    MOD = "mod"
    NEG = "neg"
    AND = "and"
    OR = "or"
    NOT = "not"

    @property
    def info(self) -> OpInfo:
        return TABLE[self]

    @property
    def spelling(self) -> str:
        return TABLE[self].spelling

    @property
    def kind(self) -> Kind:
        return TABLE[self].kind

    @property
    def level(self) -> Level:
        return TABLE[self].level

    def __str__(self) -> str:
        """The spelling, so that messages can say `` `{op}` ``."""
        return self.spelling


@attrs.frozen(repr=False)
class OpInfo(Repr):
    spelling: str  # as written in a policy
    kind: Kind
    level: Level  # how tightly an expression made with it binds


_C, _S, _M, _A = Kind.COMPARE, Kind.SET_TEST, Kind.MEMBERSHIP, Kind.ARITH
TABLE: dict[Op, OpInfo] = {
    Op.EQ: OpInfo("==", _C, Level.TEST),
    Op.NE: OpInfo("!=", _C, Level.TEST),
    Op.LT: OpInfo("<", _C, Level.TEST),
    Op.LE: OpInfo("<=", _C, Level.TEST),
    Op.GT: OpInfo(">", _C, Level.TEST),
    Op.GE: OpInfo(">=", _C, Level.TEST),
    Op.CONTAINS: OpInfo("contains", _S, Level.TEST),
    Op.CONTAINS_ANY: OpInfo("contains_any", _S, Level.TEST),
    Op.CONTAINS_ALL: OpInfo("contains_all", _S, Level.TEST),
    Op.STARTS_WITH: OpInfo("starts_with", _S, Level.TEST),
    Op.ENDS_WITH: OpInfo("ends_with", _S, Level.TEST),
    Op.LIKE: OpInfo("like", _S, Level.TEST),
    Op.MATCHES: OpInfo("matches", _S, Level.TEST),
    Op.IN_RANGE: OpInfo("in_range", _S, Level.TEST),
    Op.IN: OpInfo("in", _M, Level.TEST),
    Op.NOT_IN: OpInfo("not in", _M, Level.TEST),
    Op.ADD: OpInfo("+", _A, Level.SUM),
    Op.SUB: OpInfo("-", _A, Level.SUM),
    Op.MUL: OpInfo("*", _A, Level.PRODUCT),
    Op.MOD: OpInfo("%", _A, Level.PRODUCT),
    Op.NEG: OpInfo("-", Kind.UNARY, Level.UNARY),
    Op.AND: OpInfo("and", Kind.LOGIC, Level.AND),
    Op.OR: OpInfo("or", Kind.LOGIC, Level.OR),
    Op.NOT: OpInfo("not", Kind.LOGIC, Level.NOT),
}

# The operators each node can hold: what a `match` over a node's `op` must cover.
CompareOp: TypeAlias = Literal[Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE]
SetOp: TypeAlias = Literal[
    Op.CONTAINS,
    Op.CONTAINS_ANY,
    Op.CONTAINS_ALL,
    Op.STARTS_WITH,
    Op.ENDS_WITH,
    Op.LIKE,
    Op.MATCHES,
    Op.IN_RANGE,
]
MembershipOp: TypeAlias = Literal[Op.IN, Op.NOT_IN]
ArithOp: TypeAlias = Literal[Op.ADD, Op.SUB, Op.MUL, Op.MOD]

_BY_KIND: tuple[tuple[object, Kind], ...] = (
    (CompareOp, _C),
    (SetOp, _S),
    (MembershipOp, _M),
    (ArithOp, _A),
)


def _check_table() -> None:
    """The table and the per-node types agree with the enumeration (checked at import)."""
    missing = set(Op) - set(TABLE)
    if missing:
        raise AssertionError(f"operators without a table entry: {sorted(m.name for m in missing)}")
    for alias, kind in _BY_KIND:
        declared = set(get_args(alias))
        tabled = {op for op in Op if op.kind is kind}
        if declared != tabled:
            raise AssertionError(f"the {kind.value} operators of the table and of {alias} differ")


_check_table()

_SPELLED: dict[tuple[Kind, str], Op] = {(op.kind, op.spelling): op for op in Op}


def _lookup(kind: Kind, spelling: str) -> Op:
    try:
        return _SPELLED[kind, spelling]
    except KeyError:
        raise ValueError(f"no {kind.value} operator is spelt {spelling!r}") from None


def compare_op(spelling: str) -> CompareOp:
    """The comparison spelt `spelling` (the grammar only lets those through)."""
    return cast(CompareOp, _lookup(_C, spelling))


def set_op(spelling: str) -> SetOp:
    return cast(SetOp, _lookup(_S, spelling))


def arith_op(spelling: str) -> ArithOp:
    return cast(ArithOp, _lookup(_A, spelling))
