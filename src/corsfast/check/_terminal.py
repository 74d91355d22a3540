"""Terminal output of `corsfast check`: wrapping at word boundaries and ANSI colours."""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from collections.abc import Mapping
from typing import Optional, TextIO

__all__ = ("COLORS", "paint", "terminal_width", "use_color", "wrap")

COLORS = ("auto", "always", "never")
"""Values of `--color`."""

# A line's label: continuation lines of a wrapped line start under the text after it.
_LABEL = re.compile(
    r"(?:(?:ALLOWED|BLOCKED) +"
    r"| +(?:blocked by|seen|fix|why|also|reason|JavaScript can read|hidden from it): +"
    r"| +(?:- |< |> )"
    r"|(?:note|Near-miss origins tried): )"
)

_RESET = "\033[0m"
# (pattern at the start of a line, SGR code): the verdict and the labels a reader looks for.
_PAINT = (
    (re.compile(r"ALLOWED\b"), "1;32"),
    (re.compile(r"BLOCKED\b"), "1;31"),
    (re.compile(r" +blocked by:"), "1;31"),
    (re.compile(r" +fix:"), "1;32"),
    (re.compile(r" +(?:why|also):"), "33"),
    (re.compile(r" +seen:"), "2"),
    (re.compile(r"note:"), "36"),
)


def wrap(line: str, width: int) -> list[str]:
    """Return `line` as lines of at most `width` columns, broken at spaces only (a word longer
    than the width stays whole), continuation lines indented under the text after the label."""
    if len(line) <= width:
        return [line]
    label = _LABEL.match(line)
    indent = len(label.group(0)) if label else len(line) - len(line.lstrip(" ")) + 2
    if indent > width // 2:
        indent = min(4, width // 2)
    wrapper = textwrap.TextWrapper(
        width=width,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
        replace_whitespace=False,
    )
    return wrapper.wrap(line) or [line]


def paint(line: str) -> str:
    """Return `line` with its verdict or label coloured (ANSI SGR), the rest unchanged."""
    for pattern, code in _PAINT:
        match = pattern.match(line)
        if match:
            return f"\033[{code}m{match.group(0)}{_RESET}{line[match.end() :]}"
    return line


def use_color(choice: str, stream: TextIO, environ: Optional[Mapping[str, str]] = None) -> bool:
    """Return whether to colour output to `stream`: "always", "never", or "auto" (a terminal,
    and NO_COLOR unset or empty, as https://no-color.org asks)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR", ""):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def terminal_width(stream: TextIO) -> Optional[int]:
    """Return the width to wrap output to `stream` at: the terminal's, or None when the
    stream is not a terminal (a pipe or a file keeps whole lines for grep and diff)."""
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return None
    return max(shutil.get_terminal_size().columns, 20)
