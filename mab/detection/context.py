"""Which folder a Dockerfile is built from, when nothing names its context: the folder from
which its COPY/ADD and bind-mount sources resolve, with the `.dockerignore` that applies there.
Pure: file existence and `.dockerignore` texts come through the `Tree` the caller gives.

The candidates run from the Dockerfile's own folder up to the repository root; the nearest one
where every judged source exists (and no `.dockerignore` excludes it) wins. Sources with
variables or wildcards, and the whole-tree `COPY . .`, say nothing about the context and are not
judged; with no judged source the Dockerfile's folder is kept.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

_WILD = re.compile(r"[$*?\[]")


@dataclass(frozen=True)
class Tree:
    exists: Callable[[str], bool]  # repo-relative path
    read: Callable[[str], str | None]  # repo-relative file's text, None when absent


@dataclass(frozen=True)
class DockerIgnore:
    """A `.dockerignore`: (negated, regex) rules, the last match deciding (BuildKit's order)."""

    rules: tuple[tuple[bool, re.Pattern[str]], ...]

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        rules = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = posixpath.normpath(line.lstrip("!").strip().lstrip("/"))
            rules.append((negated, re.compile(_regex(pattern))))
        return cls(tuple(rules))

    def excludes(self, path: str) -> bool:
        """True when the context path (or a folder holding it) is excluded."""
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for negated, regex in self.rules:
            if any(regex.fullmatch(p) for p in prefixes):
                excluded = not negated
        return excluded


def _regex(pattern: str) -> str:
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        out.append({"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char)))
        index += 1
    return "".join(out)


def dockerignore_for(dockerfile: str, context: str, tree: Tree) -> DockerIgnore | None:
    """`<Dockerfile>.dockerignore` beside the Dockerfile first, else `<context>/.dockerignore`."""
    for path in (f"{dockerfile}.dockerignore", posixpath.join(context, ".dockerignore")):
        text = tree.read(path)
        if text is not None:
            return DockerIgnore.parse(text)
    return None


def judged(sources: tuple[str, ...]) -> list[str]:
    """The sources that say where the context is: plain paths (for `dir/*.conf`, `dir`), not
    the whole tree."""
    out = []
    for source in sources:
        clean = posixpath.normpath(source.lstrip("/")) if source.strip("/") else "."
        if _WILD.search(source) and "$" not in source:  # `dir/*.conf` says `dir` is there
            head = clean.split("/")
            clean = "/".join(head[: next(i for i, p in enumerate(head) if _WILD.search(p))])
            clean = clean or "."
        if (
            _WILD.search(clean)
            or source.startswith("<<")
            or clean in (".", "..")
            or (clean.startswith("../"))
        ):
            continue
        out.append(clean)
    return out


def available(source: str, context: str, dockerfile: str, tree: Tree) -> bool:
    """True when `source` exists in `context` and its `.dockerignore` lets it in."""
    if not tree.exists(posixpath.normpath(posixpath.join(context, source))):
        return False
    ignore = dockerignore_for(dockerfile, context, tree)
    return ignore is None or not ignore.excludes(source)


def infer_context(dockerfile: str, sources: tuple[str, ...], tree: Tree) -> tuple[str, str]:
    """(context, why) for a Dockerfile that nothing else gives a context."""
    folder = posixpath.dirname(dockerfile) or "."
    paths = judged(sources)
    if not paths:
        return folder, "no COPY/ADD names a plain path: the Dockerfile's folder"
    candidates = [folder]
    while candidates[-1] != ".":
        candidates.append(posixpath.dirname(candidates[-1]) or ".")
    best, best_count = folder, -1
    for candidate in candidates:
        count = sum(available(p, candidate, dockerfile, tree) for p in paths)
        if count == len(paths):
            shown = ", ".join(paths[:3]) + (", ..." if len(paths) > 3 else "")
            return candidate, f"its COPY/ADD sources ({shown}) are found from {candidate}/"
        if count > best_count:
            best, best_count = candidate, count
    return best, f"{best_count} of its {len(paths)} COPY/ADD sources are found from {best}/"


def copies_path(path: str, sources: tuple[str, ...]) -> bool:
    """True when one of the COPY/ADD/bind `sources` brings the context path `path` in: the whole
    tree, the path itself, a folder holding it, or a wildcard matching it."""
    for source in sources:
        clean = posixpath.normpath(source.lstrip("/")) if source.strip("/") else "."
        if clean in (".", "*"):
            return True
        if "$" in clean:
            continue
        if clean == path or path.startswith(clean + "/") or fnmatch.fnmatchcase(path, clean):
            return True
    return False


def copied_files(
    paths: tuple[str, ...], context: str, dockerfile: str, sources: tuple[str, ...], tree: Tree
) -> tuple[str, ...]:
    """Of repo-relative `paths`, those the Dockerfile brings into its build from `context`
    (copied or bind-mounted, and not excluded by the `.dockerignore` that applies)."""
    ignore = dockerignore_for(dockerfile, context, tree)
    prefix = "" if context == "." else context + "/"
    kept = []
    for path in paths:
        if prefix and not path.startswith(prefix):
            continue
        inner = path[len(prefix) :]
        if copies_path(inner, sources) and (ignore is None or not ignore.excludes(inner)):
            kept.append(path)
    return tuple(kept)
