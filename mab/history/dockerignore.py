"""`.dockerignore` rules as BuildKit applies them to a build context. Pure.

Patterns are relative to the context root (a leading `/` is dropped, paths are cleaned), `*`
and `?` stay within one path segment, `**` spans any number of them, a pattern that matches a
directory excludes everything under it, and the last matching pattern wins (`!` re-includes).
`<Dockerfile>.dockerignore` beside the Dockerfile replaces the context's `.dockerignore`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from mab.files.reader import UnreadableFileError, read_text


@dataclass(frozen=True, slots=True)
class _Rule:
    regex: re.Pattern[str]
    negated: bool


@dataclass(frozen=True, slots=True)
class DockerIgnore:
    rules: tuple[_Rule, ...] = ()

    @property
    def has_exceptions(self) -> bool:
        return any(r.negated for r in self.rules)

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        rules = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = line[1:].strip() if negated else line
            pattern = posixpath.normpath(pattern.lstrip("/")) if pattern.strip("/") else "."
            rules.append(_Rule(re.compile(pattern_regex(pattern)), negated))
        return cls(tuple(rules))

    def excluded(self, path: str) -> bool:
        """Whether the context path (`a/b.txt`, no leading `./`) is left out of the context."""
        verdict = False
        candidates = _self_and_parents(path)
        for rule in self.rules:
            if any(rule.regex.fullmatch(c) for c in candidates):
                verdict = not rule.negated
        return verdict


def load(context: Path, dockerfile: Path | None) -> DockerIgnore:
    """The rules that apply to `context` for `dockerfile` (none when there is no file)."""
    candidates = []
    if dockerfile is not None:
        candidates.append(dockerfile.with_name(dockerfile.name + ".dockerignore"))
    candidates.append(context / ".dockerignore")
    for path in candidates:
        try:
            return DockerIgnore.parse(read_text(path, strict=False))
        except (OSError, UnreadableFileError):
            continue
    return DockerIgnore()


def _self_and_parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def pattern_regex(pattern: str) -> str:
    """A regex for the path pattern: `*`, `?` and `[...]` within a segment, `**` across."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("^"):
                    body = "!" + body[1:]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)
