"""Diagnostics: one shape for every problem found in a policy, rendered for people or machines."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from policydsl.codes import REGISTRY, Code, Severity
from policydsl.source import Span, visible
from policydsl.terminal import shown

# A second place a problem involves, with a note saying what is there: "declared here".
Related = tuple[tuple[Span, str], ...]


@attrs.frozen
class Diagnostic:
    """A problem with a stable code, a location, a lowercase message and optional help."""

    code: Code  # from the registry, `policydsl.codes`: never a bare string
    message: str
    span: Span | None = None
    help: str | None = None
    severity: Severity = "error"
    related: Related = ()

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.code, Code):  # what mypy checks, held at run time too
            raise TypeError(f"a diagnostic's code comes from policydsl.codes, not {self.code!r}")
        if REGISTRY[self.code].severity != self.severity:
            raise ValueError(f"{self.code.value} is registered as {REGISTRY[self.code].severity}")

    @property
    def file(self) -> str | None:
        return self.span.file if self.span else None

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def col(self) -> int | None:
        return self.span.col if self.span else None

    def sort_key(self) -> tuple[str, int, str]:
        return (self.file or "", self.span.start if self.span else -1, self.code)

    def to_dict(self) -> dict[str, Any]:
        span = self.span
        return {
            "code": self.code.value,
            "severity": self.severity,
            "message": self.message,
            "file": span.file if span else None,
            "line": span.line if span else None,
            "col": span.col if span else None,
            "end_line": span.end_line if span else None,
            "end_col": span.end_col if span else None,
            "help": self.help,
            "related": [
                {
                    "message": note,
                    "file": where.file,
                    "line": where.line,
                    "col": where.col,
                    "end_line": where.end_line,
                    "end_col": where.end_col,
                }
                for where, note in self.related
            ],
        }

    def render(self) -> str:
        """`file:line:col: error[P201]: message`, the source line, a caret underline, the help.

        A message may quote a string of the policy (a rule id made of table cells), which may
        hold any character through an escape: each line is shown escaped, as `\\u{1b}`.
        """
        head = f"{self.severity}[{self.code}]: {self.message}"
        lines = [shown(f"{self.span}: {head}" if self.span else head)]
        if self.span is not None:
            lines.extend(_snippet(self.span))
        for where, note in self.related:
            lines.append(shown(f"{where}: note: {note}"))
            lines.extend(_snippet(where))
        if self.help:
            gutter = len(str(self.span.line)) if self.span is not None else 1
            lines.append(f"{' ' * (gutter + 1)}= help: {shown(self.help)}")
        return "\n".join(lines)


def _snippet(span: Span, max_width: int = 160) -> list[str]:
    line_no, col = span.line, span.col
    text = span.source.line_text(line_no)
    if len(text) > max_width:  # keep huge one-line files readable
        left = max(0, col - 1 - max_width // 2)
        text = text[left : left + max_width]
        col -= left
    text = visible(text.replace("\t", " "))  # never a raw control character to the terminal
    width = span.end_col - span.col if span.end_line == line_no else len(text) - col + 1
    width = max(1, min(width, len(text) - col + 1 if col <= len(text) else 1))
    gutter = " " * len(str(line_no))
    return [
        f"{gutter} |",
        f"{line_no} | {text}",
        f"{gutter} | {' ' * (col - 1)}{'^' * width}",
    ]


_QUOTED = re.compile(r"`([^`\n]{41,})`")


def clip_quoted(text: str, limit: int = 40) -> str:
    """Shorten every `quoted` name longer than `limit`: a 100 kB identifier is not a message."""
    return _QUOTED.sub(lambda m: f"`{m.group(1)[: limit - 1]}…`", text)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A `help` text naming the closest candidate, if one is close enough."""
    import difflib  # only for a misspelt name: not on every start-up

    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


class PolicyError(Exception):
    """Raised when policy sources have errors; carries every diagnostic, sorted by position."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = (errors or self.diagnostics)[0].render() if self.diagnostics else "invalid policy"
        more = len(errors) - 1
        super().__init__(first + (f"\n(and {more} more errors)" if more > 0 else ""))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by the diagnostics, so the error crosses a process boundary intact."""
        return (type(self), (self.diagnostics,))

    def render(self) -> str:
        return "\n\n".join(d.render() for d in self.diagnostics)
