"""Characters that make policy text read differently from how it parses (Trojan Source).

A line break the grammar does not know (a lone CR, VT, FF, NEL, U+2028, U+2029) ends a comment
for the eye while the parser keeps reading the comment, so the rule after it is shown but never
loaded. A bidirectional control reorders how a line displays; any other control character can
move a terminal's cursor or hide text. Each is refused wherever it stands, strings and comments
included, with its code point spelt out: the message never carries the character itself.
"""

from __future__ import annotations

import re

from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic
from policydsl.source import BIDI_CONTROLS, Source, Span, char_name

MAX_REPORTED = 20  # one file full of them needs no more to be understood

_STRAY_LINE_BREAKS = "\r\v\f\x85\u2028\u2029"
_HIDDEN = re.compile(
    "\r(?!\n)|[\v\f\x85\u2028\u2029"  # line breaks for editors, not for the grammar
    "\x00-\x08\x0e-\x1f\x7f\x80-\x84\x86-\x9f"  # other C0 and C1 controls (tab and LF are text)
    + "".join(sorted(BIDI_CONTROLS))
    + "]"
)


def hidden_characters(source: Source) -> list[Diagnostic]:
    """A diagnostic for each hidden character of `source` (at most `MAX_REPORTED`)."""
    found: list[Diagnostic] = []
    for match in _HIDDEN.finditer(source.text):
        if len(found) == MAX_REPORTED:
            break
        found.append(_diagnostic(source, match.start(), match.group()))
    return found


def _diagnostic(source: Source, offset: int, ch: str) -> Diagnostic:
    span = Span(source, offset, offset + 1)
    name = f"`{char_name(ch)}`"
    escape = f"in a string, write it as `\\u{{{ord(ch):x}}}`"
    if ch in _STRAY_LINE_BREAKS:
        return Diagnostic(
            Code.HIDDEN_LINE_BREAK,
            f"{name} is a line break to editors but not to policydsl",
            span,
            help="end the line with LF or CRLF: in a comment this one would hide the code after "
            f"it; {escape}",
        )
    if ch in BIDI_CONTROLS:
        return Diagnostic(
            Code.BIDI_CONTROL,
            f"bidirectional control {name}: the line displays in a different order than it parses",
            span,
            help=f"remove it: policy text, comments included, may not reorder; {escape}",
        )
    return Diagnostic(
        Code.CONTROL_CHARACTER,
        f"control character {name} in policy text",
        span,
        help=f"remove it: control characters are invisible or move the cursor; {escape}",
    )
