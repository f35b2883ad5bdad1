"""Build scripts that name a Dockerfile: package.json scripts, Makefiles, justfiles, Taskfiles
and shell scripts. Pure: `script_builds` takes a file's text and path and a `fits` test.

Simple variables are filled in first (`NAME = value`, `NAME := value`, `NAME ?= value` in a
Makefile; `name := "value"` in a justfile; `NAME=value` in a shell script). A command's paths are
tried from the script's own folder (where make, just, npm and task run) and then from the
repository's root (where shell scripts are usually run); the first that `fits` (its Dockerfile
exists and its COPY sources resolve) wins, else the first whose Dockerfile exists.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable

from mab.detection.commands import build_commands
from mab.detection.evidence import BakeRun, Build, from_command

_ASSIGNMENT = re.compile(
    r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?::=|\?=|=)\s*['\"]?([^'\"\n$`(){}]*?)['\"]?\s*$",
    re.MULTILINE,
)
_NAME = r"([A-Za-z_][A-Za-z0-9_]*)"
_REFERENCE = re.compile(rf"\$\({_NAME}\)|\$\{{{_NAME}\}}|\{{\{{\s*{_NAME}\s*\}}\}}|\${_NAME}")


def script_builds(
    text: str, path: str, fits: Callable[[Build], bool | None]
) -> list[Build | BakeRun]:
    """`fits(build)`: True when it builds as written, False when its Dockerfile exists but
    misses sources, None when there is no such Dockerfile."""
    """The builds `text` (the build script at repo-relative `path`) runs."""
    folder = posixpath.dirname(path)
    pieces: list[tuple[int, str]] = []
    if posixpath.basename(path) == "package.json":
        pieces = _package_scripts(text)
    else:
        values = {m.group(1): m.group(2).strip() for m in _ASSIGNMENT.finditer(text)}
        pieces = [(1, _substitute(text, values))]
    found: list[Build | BakeRun] = []
    for first_line, piece in pieces:
        for command in build_commands(piece, first_line):
            tried = [from_command(command, "script", path, base) for base in (folder, "")]
            builds = [b for b in tried if isinstance(b, Build)]
            verdicts = [fits(b) for b in builds]
            chosen: Build | BakeRun | None = next(
                (b for b, ok in zip(builds, verdicts, strict=True) if ok), None
            ) or next((b for b, ok in zip(builds, verdicts, strict=True) if ok is False), None)
            if chosen is None:
                chosen = next((b for b in tried if isinstance(b, BakeRun)), None)

            if chosen is not None and chosen not in found:
                found.append(chosen)
    return found


def _substitute(text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        return values.get(name, match.group(0))

    for _ in range(3):  # values that name other values
        text = _REFERENCE.sub(replace, text)
    return text


def _package_scripts(text: str) -> list[tuple[int, str]]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return []
    lines = text.splitlines()
    out = []
    for name, command in scripts.items():
        if not isinstance(command, str):
            continue
        quoted = json.dumps(str(name))
        line = next((n for n, t in enumerate(lines, 1) if t.strip().startswith(quoted)), 1)
        out.append((line, command))
    return out
