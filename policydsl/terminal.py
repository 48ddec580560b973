"""Text for terminals: no character a terminal would act on or hide ever reaches one raw.

A control character moves a terminal's cursor or rewrites its screen (ESC `[2J` clears it), a
bidirectional control reorders how a line displays, a zero-width or no-break space hides what a
text holds, another line break starts a line that seems to be output of its own. Text that comes
from a policy or a request and is printed for people (explanations, error messages, diagnostics,
the IR dump) shows each such character as the policy language's escape, `\\u{1b}`, so that no
printed line can lie about what it holds or what follows it.

"Such a character" is one `str.isprintable` refuses: controls, format characters (bidirectional
controls, zero-width characters), separators other than the space, surrogates, private-use and
unassigned code points.
"""

from __future__ import annotations


def escape_char(ch: str) -> str:
    """`\\u{1b}`: a character as the policy language escapes it (lowercase hex, no padding)."""
    return f"\\u{{{ord(ch):x}}}"


def shown(text: str, keep: str = "") -> str:
    """`text` with every character a terminal would act on or hide escaped as `\\u{...}`, except
    those in `keep` (`"\\n"` for text of several lines). Backslashes are left as they are: this is
    for messages, not for literals (`render.quote` writes those)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in keep else escape_char(ch) for ch in text)
