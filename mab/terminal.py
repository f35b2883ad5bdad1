"""Terminal control sequences, made safe to show: the one sanitiser of everything mab writes.

A RUN step's output is whatever its tools wrote for a terminal: colours, but also a clear
screen, cursor moves, window titles, bells, backspaces and progress bars redrawn with carriage
returns. Passed on as they are, they wipe or misalign a view. `clean` keeps a line's text and,
when asked, its colour codes (SGR, `ESC [ ... m`); every other control sequence is dropped,
a backspace erases the character before it, a tab becomes spaces and a line redrawn with
carriage returns keeps what was shown last.

Everything else from outside (step names, a vertex's error, registry tags, file names, what a
repository or a history holds) reaches a terminal through one gate: `safe` for one line of such
text, and `guarded_output`, which the command line wraps around every command, so whatever is
written to stdout or stderr passes `scrub` (no control sequence, no lone surrogate; newlines and
tabs kept). mab's own control sequences (GitLab's section markers) go round it by
`write_own`; the TUI draws on its own terminal handle and is not affected.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = [
    "GuardedStream",
    "clean",
    "guarded_output",
    "has_controls",
    "lines",
    "safe",
    "scrub",
    "write_own",
]

# One control at a time: CSI (ESC [ params final), OSC (ESC ] ... BEL or ST, or to the end),
# DCS/SOS/PM/APC strings (ESC P/X/^/_ ... ST), other escapes (ESC, intermediates, final),
# C1 controls, and single C0 controls other than newline.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\|$)"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x09\x0b-\x1f\x7f-\x9f]"
)
_ANY = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BLANKS = re.compile(r"[\t\n]+")
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
TAB = 8


def has_controls(text: str) -> bool:
    return _ANY.search(text) is not None


def clean(text: str, *, colour: bool = False) -> str:
    """`text` (one line) without control sequences; with `colour`, SGR codes are kept."""
    if "\r" in text:  # a line redrawn in place: what was shown last
        text = text.rstrip("\r").rsplit("\r", 1)[-1]
    if not has_controls(text):
        return text
    out: list[str] = []  # visible characters, one per item, and kept SGR sequences
    column = 0
    pos = 0
    for match in _CONTROL.finditer(text):
        for char in text[pos : match.start()]:
            out.append(char)
            column += 1
        pos = match.end()
        seq = match.group()
        if seq == "\b":
            for back in range(len(out) - 1, -1, -1):
                if not out[back].startswith("\x1b"):
                    del out[back]
                    column -= 1
                    break
        elif seq == "\t":
            spaces = TAB - column % TAB
            out.extend(" " * spaces)
            column += spaces
        elif colour and _SGR.fullmatch(seq):
            out.append(seq)
    out.extend(text[pos:])
    return "".join(out)


def scrub(text: str) -> str:
    """`text` with every control sequence and control character dropped except newline, tab and
    a carriage return ending a line (CRLF), and every lone surrogate (unencodable) replaced by
    U+FFFD: what may reach a terminal."""
    if _UNSAFE.search(text) is None:
        return text
    text = _SURROGATE.sub("\ufffd", text)
    lines = text.split("\n")
    out = []
    for number, line in enumerate(lines):
        crlf = line.endswith("\r") and number < len(lines) - 1
        out.append(_CONTROL.sub(_keep_tab, line) + ("\r" if crlf else ""))
    return "\n".join(out)


def _keep_tab(match: re.Match[str]) -> str:
    return "\t" if match.group() == "\t" else ""


def lines(texts: Iterable[str]) -> tuple[str, ...]:
    """Outside lines of text, each `scrub`bed and without carriage returns."""
    return tuple(scrub(text).replace("\r", "") for text in texts)


def safe(text: str) -> str:
    """Outside text for one line of a terminal: `scrub`bed, with newlines and tabs as spaces."""
    return _BLANKS.sub(" ", scrub(text))


class GuardedStream(io.TextIOBase):
    """A text stream passing everything written to it through `scrub` on its way to `inner`."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes for a binary stream with b""
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.inner.write(scrub(text))
        return len(text)

    def write_own(self, text: str) -> None:
        """mab's own control sequences, written as they are."""
        self.inner.write(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True


def write_own(stream: TextIO, text: str) -> None:
    """Write mab's own control sequences (and only those) past the guard, if `stream` has one."""
    if isinstance(stream, GuardedStream):
        stream.write_own(text)
    else:
        stream.write(text)


@contextmanager
def guarded_output() -> Iterator[None]:
    """stdout and stderr guarded by `scrub` while the block runs (the command line's whole run)."""
    saved = sys.stdout, sys.stderr
    sys.stdout = GuardedStream(saved[0])
    sys.stderr = GuardedStream(saved[1])
    try:
        yield
    finally:
        with_guard = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = saved
        for stream in with_guard:
            if isinstance(stream, GuardedStream):
                stream.inner = io.StringIO()  # a guard kept by someone writes nowhere now
