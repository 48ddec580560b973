"""Every diagnostic code, in one registry: a code names one problem, and keeps it.

A `Diagnostic` is made with a `Code` member (mypy refuses a bare string), so a misspelt code cannot
be emitted. `docs/LANGUAGE.md` lists the registry as a table; a test holds the two equal, and
holds every code to be emitted somewhere.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import attrs

Severity = Literal["error", "warning"]


class Code(StrEnum):
    # the files themselves
    FILE_UNREADABLE = "P001"
    FILE_BINARY = "P002"
    FILE_NOT_UTF8 = "P003"
    FILE_TOO_LARGE = "P004"
    NESTED_TOO_DEEPLY = "P005"
    EMPTY_FOLDER = "P006"
    FORMATTED_TOO_LARGE = "P007"
    DATA_NOT_ROWS = "P008"
    HIDDEN_LINE_BREAK = "P010"
    BIDI_CONTROL = "P011"
    CONTROL_CHARACTER = "P012"
    UNKNOWN_ESCAPE = "P080"
    MALFORMED_UNICODE_ESCAPE = "P081"
    NOT_A_CHARACTER = "P082"
    # syntax
    UNEXPECTED_TOKEN = "P100"
    UNEXPECTED_CHARACTER = "P101"
    UNTERMINATED_STRING = "P102"
    UNEXPECTED_END = "P103"
    INTEGER_TOO_LONG = "P104"
    # names
    UNKNOWN_NAME = "P201"
    DECLARED_TWICE = "P202"
    DUPLICATE_RULE = "P203"
    NOT_A_MEMBER = "P204"
    CYCLIC_DEFINITION = "P205"
    NAME_HIDES_NAME = "P206"
    RESERVED_OUTPUT_NAME = "P207"
    # types and structure
    TYPE_MISMATCH = "P301"
    WRONG_COUNT = "P302"
    MAY_BE_ABSENT = "P303"
    NOT_CONSTANT = "P304"
    OUTPUT_WITHOUT_OTHERWISE = "P305"
    OUTCOME_OUTSIDE_OUTPUT = "P306"
    CLAUSE_TWICE = "P307"
    OUT_OF_RANGE = "P308"
    OPTIONAL_OUTSIDE_CONTEXT = "P310"
    NESTED_COLLECTION = "P311"
    RECORD_OUTSIDE_CONTEXT = "P312"
    RANGE_ON_NON_INTEGER = "P313"
    EMPTY_RANGE = "P314"
    ABSENT_OUTSIDE_TABLE = "P315"
    ORDER_ON_NON_INTEGERS = "P316"
    QUANTIFIER_OVER_NON_COLLECTION = "P317"
    ARITHMETIC_ON_NON_INTEGERS = "P318"
    NOT_A_COLLECTION = "P319"
    ELEMENT_DOES_NOT_FIT = "P320"
    STRING_TEST_ON_NON_STRINGS = "P321"
    INCOMPARABLE = "P322"
    MIXED_LIST = "P323"
    HAS_ON_NON_ATTRIBUTE = "P324"
    NO_ATTRIBUTES = "P325"
    RECORD_READ_WHOLE = "P326"
    OPTIONAL_WITH_DEFAULT = "P327"
    CELL_NEEDS_VALUE = "P328"
    CITE_NOT_STRINGS = "P329"
    PROPERTY_WITHOUT_CLAIM = "P330"
    BAD_SILENCE = "P331"
    DIVISOR_MAY_BE_ZERO = "P332"
    BAD_PATTERN = "P333"
    BAD_ADDRESS = "P334"
    DECIMAL_DIGITS = "P335"
    DECIMAL_RANGE = "P336"
    DECIMAL_AND_INT = "P337"
    BAD_DATETIME = "P338"
    BAD_DURATION = "P339"
    BAD_TIME_ARITHMETIC = "P340"
    BAD_OFFSET = "P341"
    REASON_SHOWS_RECORD = "P342"
    BAD_MAP_KEY = "P344"
    NOT_A_MAP = "P345"
    MAP_OUT_OF_PLACE = "P346"
    BAD_ENTITY_TYPE = "P347"
    NOT_AN_ENTITY = "P348"
    LITERAL_ENTITY = "P349"
    # the policy set
    MISSING_DECLARATION = "P401"
    SECOND_DECLARATION = "P402"
    NO_REFUSAL = "P403"
    # sizes and limits
    BAD_SIZE_BOUND = "P501"
    DEFAULT_TOO_LARGE = "P502"
    CONSTANT_TOO_LARGE = "P601"
    INLINED_TOO_LARGE = "P701"
    INLINED_TOO_DEEP = "P702"
    # warnings
    NO_CITATION = "W101"
    NO_REASON = "W102"
    NEVER_FIRES = "W201"
    SAME_CONDITION = "W202"
    ALWAYS_PRESENT = "W301"
    UNMENTIONED_MEMBER = "W401"
    SHADOWED_RULE = "W402"
    UNUSED_DEFINITION = "W403"
    CONSTANT_COMPARISON = "W404"
    REPEATED_TEST = "W405"
    RULE_TOO_COSTLY = "W501"
    DECISION_TOO_COSTLY = "W502"


@attrs.frozen
class CodeInfo:
    severity: Severity
    summary: str


def _e(summary: str) -> CodeInfo:
    return CodeInfo("error", summary)


def _w(summary: str) -> CodeInfo:
    return CodeInfo("warning", summary)


REGISTRY: dict[Code, CodeInfo] = {
    Code.FILE_UNREADABLE: _e("a file or folder that does not exist or cannot be read"),
    Code.FILE_BINARY: _e("a binary file (it contains a NUL byte)"),
    Code.FILE_NOT_UTF8: _e("a file that is not UTF-8 text"),
    Code.FILE_TOO_LARGE: _e("a file too large to be a policy"),
    Code.NESTED_TOO_DEEPLY: _e("brackets, or an expression, nested too deeply"),
    Code.EMPTY_FOLDER: _e("a folder without `.policy` files"),
    Code.FORMATTED_TOO_LARGE: _e("`policyc fmt`: the formatted file would pass the size limit"),
    Code.DATA_NOT_ROWS: _e("a table's data file that is not a JSON array of rows"),
    Code.HIDDEN_LINE_BREAK: _e(
        "a line break to editors that is none to policydsl (a lone CR, U+2028)"
    ),
    Code.BIDI_CONTROL: _e("a bidirectional control character"),
    Code.CONTROL_CHARACTER: _e("a control character (a terminal escape code)"),
    Code.UNKNOWN_ESCAPE: _e("an unknown escape in a string"),
    Code.MALFORMED_UNICODE_ESCAPE: _e("a malformed `\\u{HEX}` escape"),
    Code.NOT_A_CHARACTER: _e("a `\\u{...}` that names no character (a surrogate, past U+10FFFF)"),
    Code.UNEXPECTED_TOKEN: _e("syntax: an unexpected token"),
    Code.UNEXPECTED_CHARACTER: _e("syntax: an unexpected character"),
    Code.UNTERMINATED_STRING: _e("syntax: an unterminated string"),
    Code.UNEXPECTED_END: _e("syntax: the file ends early"),
    Code.INTEGER_TOO_LONG: _e("an integer literal longer than 100 digits"),
    Code.UNKNOWN_NAME: _e(
        "an unknown name, attribute, type, effect, table or clause (with a suggestion)"
    ),
    Code.DECLARED_TWICE: _e("a name declared twice, or taken by a type or a rule clause"),
    Code.DUPLICATE_RULE: _e("a rule id defined twice, or two table rows with one key"),
    Code.NOT_A_MEMBER: _e("a name that is not a member of the enum expected"),
    Code.CYCLIC_DEFINITION: _e("a definition that refers to itself"),
    Code.NAME_HIDES_NAME: _e("a name that hides another (both places shown)"),
    Code.RESERVED_OUTPUT_NAME: _e("an output named like a field of the decision"),
    Code.TYPE_MISMATCH: _e("a value of the wrong type"),
    Code.WRONG_COUNT: _e(
        "a row with the wrong number of cells, a call with the wrong number of arguments"
    ),
    Code.MAY_BE_ABSENT: _e("an optional attribute or column read where it may be absent"),
    Code.NOT_CONSTANT: _e("a value that must be constant and is not"),
    Code.OUTPUT_WITHOUT_OTHERWISE: _e("an output whose last case is not `otherwise`"),
    Code.OUTCOME_OUTSIDE_OUTPUT: _e("`decision` or `fired` read outside an output"),
    Code.CLAUSE_TWICE: _e("a rule clause or annotation given twice"),
    Code.OUT_OF_RANGE: _e("a constant outside its declared range"),
    Code.OPTIONAL_OUTSIDE_CONTEXT: _e("`?` on a type outside `context`"),
    Code.NESTED_COLLECTION: _e("a collection of collections"),
    Code.RECORD_OUTSIDE_CONTEXT: _e("a record type outside `context`, or in a set"),
    Code.RANGE_ON_NON_INTEGER: _e("an integer range on a type that is not `int`"),
    Code.EMPTY_RANGE: _e("an integer range that holds no value"),
    Code.ABSENT_OUTSIDE_TABLE: _e("`-` outside a table cell"),
    Code.ORDER_ON_NON_INTEGERS: _e(
        "`<`, `<=`, `>` or `>=` on values that are not integers or decimals"
    ),
    Code.QUANTIFIER_OVER_NON_COLLECTION: _e(
        "`some` or `all` over a value that is not a set or list"
    ),
    Code.ARITHMETIC_ON_NON_INTEGERS: _e("arithmetic on values that are not integers"),
    Code.NOT_A_COLLECTION: _e("a set or list operator, or `size`, on a value that is not one"),
    Code.ELEMENT_DOES_NOT_FIT: _e("a collection tested for an element of another type"),
    Code.STRING_TEST_ON_NON_STRINGS: _e("a string test on values that are not strings"),
    Code.INCOMPARABLE: _e("two values of types that cannot be compared"),
    Code.MIXED_LIST: _e("a list literal whose items have different types"),
    Code.HAS_ON_NON_ATTRIBUTE: _e("`has` on a name that is not a context attribute"),
    Code.NO_ATTRIBUTES: _e("an attribute read on a value that has none"),
    Code.RECORD_READ_WHOLE: _e("a record read whole instead of one of its attributes"),
    Code.OPTIONAL_WITH_DEFAULT: _e("an optional attribute with a default"),
    Code.CELL_NEEDS_VALUE: _e("`-` in a table column that is not optional"),
    Code.CITE_NOT_STRINGS: _e("`cite` given a value that is not a string or a set of strings"),
    Code.PROPERTY_WITHOUT_CLAIM: _e("a property without `ensure`, or a malformed `monotone(...)`"),
    Code.BAD_SILENCE: _e("a `silence` of a code that is not a warning's, or without a reason"),
    Code.DIVISOR_MAY_BE_ZERO: _e("`%` by a value not known to be at least 1"),
    Code.BAD_PATTERN: _e("a `matches` pattern that is not a literal RE2 compiles"),
    Code.BAD_ADDRESS: _e("an IP address or range literal that is not one"),
    Code.DECIMAL_DIGITS: _e("a decimal literal with more than four digits after the point"),
    Code.DECIMAL_RANGE: _e("a decimal literal outside -922337203685477.5808..922337203685477.5807"),
    Code.DECIMAL_AND_INT: _e("a decimal compared with an integer, or made an output or annotation"),
    Code.BAD_DATETIME: _e("a datetime literal that is not one (or not a literal)"),
    Code.BAD_DURATION: _e("a duration literal that is not one, or beyond 64-bit milliseconds"),
    Code.BAD_TIME_ARITHMETIC: _e("arithmetic on datetimes or durations that has no meaning"),
    Code.BAD_OFFSET: _e("a UTC offset that is not a literal `+hhmm` or `-hhmm`"),
    Code.REASON_SHOWS_RECORD: _e("a reason's `{name}` that names a record, not a value"),
    Code.BAD_MAP_KEY: _e("a map whose keys are not strings"),
    Code.NOT_A_MAP: _e("a key lookup, `keys` or `values` on a value that is not a map"),
    Code.MAP_OUT_OF_PLACE: _e("a map type outside `context`, or a map whose values are maps"),
    Code.BAD_ENTITY_TYPE: _e(
        "an entity declaration naming an unknown parent type, or an unknown entity type"
    ),
    Code.NOT_AN_ENTITY: _e("hierarchy membership (`e in g`) on a value that is not an entity"),
    Code.LITERAL_ENTITY: _e(
        "an attribute or the ancestors of an entity written in the policy, which has neither"
    ),
    Code.MISSING_DECLARATION: _e("`effects` or `context` missing"),
    Code.SECOND_DECLARATION: _e("`effects`, `context` or `version` declared more than once"),
    Code.NO_REFUSAL: _e("loaded fail-closed without a `refuse` effect"),
    Code.BAD_SIZE_BOUND: _e("a size bound that is not `[..N]`"),
    Code.DEFAULT_TOO_LARGE: _e("a default larger than its declared maximum size"),
    Code.CONSTANT_TOO_LARGE: _e("constant arithmetic whose value has more than 3,900 digits"),
    Code.INLINED_TOO_LARGE: _e(
        "an expression of more than 10,000 nodes once definitions are inlined"
    ),
    Code.INLINED_TOO_DEEP: _e(
        "an expression nesting more than 200 levels once definitions are inlined"
    ),
    Code.NO_CITATION: _w("a rule that cites no clause, in a policy that says `require cite`"),
    Code.NO_REASON: _w("a rule that gives no reason, in a policy that says `require reason`"),
    Code.NEVER_FIRES: _w("a rule that can never fire (its tests contradict each other)"),
    Code.SAME_CONDITION: _w("two rules that fire on exactly the same requests"),
    Code.ALWAYS_PRESENT: _w("`has` on an attribute that is always present"),
    Code.UNMENTIONED_MEMBER: _w(
        "a label (an enum member a request's set or list may hold) no rule mentions"
    ),
    Code.SHADOWED_RULE: _w("a rule that never decides: a stronger rule fires whenever it does"),
    Code.UNUSED_DEFINITION: _w("a definition nothing reads"),
    Code.CONSTANT_COMPARISON: _w("a comparison the declared range makes always true or false"),
    Code.REPEATED_TEST: _w("the same test written twice in one rule"),
    Code.RULE_TOO_COSTLY: _w("a rule whose static cost bound passes `--max-cost`"),
    Code.DECISION_TOO_COSTLY: _w(
        "a decision whose static cost bound passes `--max-cost` when no single rule's does"
    ),
}
