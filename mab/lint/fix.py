"""Apply the findings' edits to the original text: only the lines a fix changes, everything
else byte for byte. Edits of findings that overlap wait for the next pass; passes repeat until
nothing more can be fixed, so a second `--fix` changes nothing.

The `# syntax=` directive: every fix here uses `RUN --mount=type=cache` at most, which the
Dockerfile frontend built into BuildKit has understood since dockerfile 1.2 (BuildKit 0.8,
Docker 20.10); mab needs buildx 0.12 and a BuildKit that ships a newer built-in frontend, so no
directive is added. Only a directive that pins an older frontend (`docker/dockerfile:1.0`,
`1.1`) is raised to `docker/dockerfile:1`, or the cache mount would fail to parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mab.lint.reader import Dockerfile, read_dockerfile
from mab.lint.rules import Edit, Finding

MAX_PASSES = 8
_OLD_SYNTAX = re.compile(
    r"^(#\s*syntax\s*=\s*)(?:docker\.io/)?docker/dockerfile:1\.[01](?:\.\d+)?(-\S*)?\s*$",
    re.IGNORECASE,
)

Linter = Callable[[Dockerfile], list[Finding]]


def _conflicts(a: Edit, b: Edit) -> bool:
    if a.start == a.stop and b.start == b.stop:
        return False
    if a.start == a.stop:
        return b.start < a.start < b.stop
    if b.start == b.stop:
        return a.start < b.start < a.stop
    return a.start < b.stop and b.start < a.stop


def apply_edits(
    lines: tuple[str, ...], findings: list[Finding]
) -> tuple[tuple[str, ...], list[Finding]]:
    """Apply every finding whose edits overlap no edit applied before; return the new lines
    and the findings applied."""
    taken: list[Edit] = []
    applied: list[Finding] = []
    for finding in findings:
        if not finding.edits or any(_conflicts(e, t) for e in finding.edits for t in taken):
            continue
        taken.extend(finding.edits)
        applied.append(finding)
    out = list(lines)
    # From the bottom up, so earlier positions stay valid; at one position, insertions keep
    # the order of the findings and go before a replacement starting there.
    order = sorted(
        enumerate(taken),
        key=lambda item: (item[1].start, item[1].stop != item[1].start, item[0]),
        reverse=True,
    )
    for _, edit in order:
        out[edit.start : edit.stop] = edit.new
    return tuple(out), applied


def _syntax_fixed(lines: tuple[str, ...], uses_cache_mounts: bool) -> tuple[str, ...]:
    if not uses_cache_mounts:
        return lines
    out = list(lines)
    for index, line in enumerate(lines):
        body = line.rstrip("\r\n")
        if not body.startswith("#"):
            break
        match = _OLD_SYNTAX.match(body)
        if match:
            out[index] = match.group(1) + "docker/dockerfile:1" + line[len(body) :]
    return tuple(out)


def fix_text(text: str, linter: Linter) -> tuple[str, list[Finding]]:
    """The fixed text and the findings fixed (over all passes)."""
    fixed: list[Finding] = []
    lines = tuple(text.splitlines(keepends=True))
    for _ in range(MAX_PASSES):
        findings = [f for f in linter(read_dockerfile("".join(lines))) if f.fixable]
        if not findings:
            break
        lines, applied = apply_edits(lines, findings)
        if not applied:
            break
        fixed.extend(applied)
    if any(f.rule == "MAB101" for f in fixed):
        lines = _syntax_fixed(lines, True)
    return "".join(lines), fixed
