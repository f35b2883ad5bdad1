"""Text edits the fixes are made of: each touches only the physical lines it must, and keeps
their indentation, case and line endings."""

from __future__ import annotations

import re

from mab.lint.reader import Dockerfile, Instruction
from mab.lint.rules import Edit

_KEYWORD = re.compile(r"^(\s*[A-Za-z]+)([ \t]+)")


def _eol(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def add_run_flags(dockerfile: Dockerfile, ins: Instruction, flags: str) -> Edit | None:
    """Insert `flags` (e.g. `--mount=...`) right after the RUN keyword."""
    line = dockerfile.lines[ins.first]
    match = _KEYWORD.match(line)
    if match is None:
        return None
    new = match.group(1) + " " + flags + " " + line[match.end() :].lstrip(" \t")
    if not line[match.end() :].strip(" \t\r\n"):
        new = match.group(1) + " " + flags + _eol(line)
    return Edit(ins.first, ins.first + 1, (new,))


def prefix_command(dockerfile: Dockerfile, ins: Instruction, prefix: str) -> Edit | None:
    """Put `prefix` before the command of a shell-form RUN (after its flags)."""
    if ins.args.startswith("[") or ins.heredocs:
        return None
    for index in range(ins.first, ins.last + 1):
        line = dockerfile.lines[index]
        body = line.rstrip("\r\n")
        start = 0
        if index == ins.first:
            match = _KEYWORD.match(body)
            if match is None:
                return None
            start = match.end()
            while body.startswith("--", start):
                space = body.find(" ", start)
                if space < 0:
                    start = len(body)
                    break
                start = space + 1
                while start < len(body) and body[start] in " \t":
                    start += 1
        rest = body[start:]
        if rest.strip() in ("", dockerfile.escape) or rest.lstrip().startswith("#"):
            continue
        pad = len(rest) - len(rest.lstrip())
        at = start + pad
        return Edit(index, index + 1, (body[:at] + prefix + body[at:] + _eol(line),))
    return None


def replace_in_lines(
    dockerfile: Dockerfile, ins: Instruction, pattern: re.Pattern[str], repl: str
) -> tuple[Edit, ...]:
    """Apply `pattern.sub(repl, ...)` to each physical line of `ins`; one edit per changed line."""
    edits = []
    for index in range(ins.first, ins.last + 1):
        line = dockerfile.lines[index]
        new = pattern.sub(repl, line)
        if new != line:
            edits.append(Edit(index, index + 1, (new,)))
    return tuple(edits)


def lead(dockerfile: Dockerfile, ins: Instruction) -> int:
    """The first line of the comment block directly above `ins` (its own line if none);
    parser directives do not count."""
    index = ins.first
    top = len(dockerfile.directives)
    while index > top and dockerfile.lines[index - 1].strip().startswith("#"):
        index -= 1
    return index


def move_before(dockerfile: Dockerfile, moved: Instruction, at: int) -> tuple[Edit, Edit]:
    """Move the lines of `moved`, with the comment lines right above it, so they start at
    line `at` (an insertion point)."""
    start = lead(dockerfile, moved)
    lines = tuple(dockerfile.lines[start : moved.last + 1])
    if lines and not lines[-1].endswith("\n"):
        lines = (*lines[:-1], lines[-1] + dockerfile.newline)
    return Edit(start, moved.last + 1), Edit(at, at, lines)


def insert_after(dockerfile: Dockerfile, ins: Instruction, new_lines: tuple[str, ...]) -> Edit:
    """Insert whole lines after the last line of `ins`; ends the last line first if needed."""
    last = dockerfile.lines[ins.last]
    if last.endswith("\n"):
        return Edit(ins.last + 1, ins.last + 1, new_lines)
    return Edit(ins.last, ins.last + 1, (last + dockerfile.newline, *new_lines))
