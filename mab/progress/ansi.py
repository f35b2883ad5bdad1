"""Terminal control sequences in build output, made safe to show.

A RUN step's output is whatever its tools wrote for a terminal: colours, but also a clear
screen, cursor moves, window titles, bells, backspaces and progress bars redrawn with carriage
returns. Passed on as they are, they wipe or misalign a view. `clean` keeps a line's text and,
when asked, its colour codes (SGR, `ESC [ ... m`); every other control sequence is dropped,
a backspace erases the character before it, a tab becomes spaces and a line redrawn with
carriage returns keeps what was shown last.
"""

from __future__ import annotations

import re

__all__ = ["clean", "has_controls"]

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
