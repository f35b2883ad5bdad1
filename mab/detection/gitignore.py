"""`.gitignore` patterns: the subset of git's rules that decides which trees detection skips.
Pure: text in, verdicts out."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class IgnoreFile:
    """The patterns of one `.gitignore`, compiled to two regexes (one for directories, one for
    files) whose alternatives run from the file's last pattern to its first, so the first
    alternative that matches is the pattern git would apply."""

    base: str  # the directory holding the .gitignore, relative to the root ("" for the root)
    for_dirs: re.Pattern[str] | None
    for_files: re.Pattern[str] | None
    negated: frozenset[str]

    @classmethod
    def parse(cls, text: str, base: str = "") -> IgnoreFile | None:
        """None when `text` holds no patterns."""
        dirs: list[str] = []
        files: list[str] = []
        negated: set[str] = set()
        for index, line in enumerate(text.splitlines()):
            rule = _rule(line)
            if rule is None:
                continue
            regex, negate, dir_only = rule
            group = f"(?P<p{index}>{regex})"
            dirs.append(group)
            if not dir_only:
                files.append(group)
            if negate:
                negated.add(f"p{index}")
        if not dirs:
            return None
        return cls(base, _alternation(dirs), _alternation(files), frozenset(negated))

    def verdict(self, path: str, is_dir: bool) -> bool | None:
        """True (ignored), False (re-included by `!`), None (no pattern matches). `path` is
        relative to the root."""
        pattern = self.for_dirs if is_dir else self.for_files
        if pattern is None:
            return None
        relative = path[len(self.base) + 1 :] if self.base else path
        match = pattern.fullmatch(relative)
        if match is None:
            return None
        return match.lastgroup not in self.negated


def is_ignored(rules: list[IgnoreFile], path: str, *, is_dir: bool) -> bool:
    """Whether git ignores `path` given the ignore files on its way (root first): the deepest
    file with a matching pattern decides."""
    for ignore_file in reversed(rules):
        verdict = ignore_file.verdict(path, is_dir)
        if verdict is not None:
            return verdict
    return False


def _alternation(groups: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(reversed(groups)), re.DOTALL) if groups else None


def _rule(line: str) -> tuple[str, bool, bool] | None:
    """One .gitignore line as (regex, negated, directory only), or None for blanks/comments."""
    line = line.rstrip("\r")
    if not line or line.startswith("#"):
        return None
    while line.endswith(" ") and not line.endswith("\\ "):
        line = line[:-1]
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    regex = _glob_regex(line.lstrip("/"))
    return (regex if anchored else "(?:.*/)?" + regex), negate, dir_only


def _glob_regex(glob: str) -> str:
    """A gitignore glob as a regex: `*` and `?` stay within a path segment, `**` crosses them."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        if glob.startswith("**", i) and (i == 0 or glob[i - 1] == "/"):
            end = i + 2
            if end == n:
                out.append(".*")
                i = end
                continue
            if glob[end] == "/":
                out.append("(?:.*/)?")
                i = end + 1
                continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (close := glob.find("]", i + 2)) != -1:
            body = glob[i + 1 : close]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append(
                "[" + ("^" if negate else "") + body.replace("\\", "\\\\").replace("[", "\\[") + "]"
            )
            i = close + 1
            continue
        elif char == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 2
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)
