"""Whether a RUN works on a folder that a cache mount would take over: a mount there would
change what the RUN does or break it (removing a mount point fails with "Device or resource
busy"; a link or file put there would stay in the cache, not in the image). Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mab.detection.dockerfile import expand
from mab.lint.reader import Dockerfile, words
from mab.lint.stages import Stage

_SPLIT = re.compile(r"&&|\|\||[;|\n()`]|\$\(")
# Commands that empty a tool's cache: with a mount they would empty the mount, every run.
_CLEANS = re.compile(
    r"\b(?:npm\s+cache\s+clean|yarn\s+cache\s+clean|pnpm\s+store\s+prune|pip3?\s+cache\s+"
    r"(?:purge|remove)|uv\s+cache\s+(?:clean|prune)|go\s+clean\s+.*-modcache|composer\s+"
    r"clear-cache|bun\s+pm\s+cache\s+rm|poetry\s+cache\s+clear|dotnet\s+nuget\s+locals)\b"
)
# Commands that run a package from the npm cache (npx keeps it there, not in the image).
_FROM_NPM_CACHE = re.compile(r"(?:^|[\s;&|(])(?:npx|npm\s+exec|pnpm\s+dlx|bunx)\s")


def _paths(command: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    parts = words(expand(command.strip(), dict[str, str | None](env)))
    while parts and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*|sudo|then|do|else", parts[0]):
        parts = parts[1:]
    if not parts:
        return "", []
    return parts[0], [p for p in parts[1:] if p.startswith(("/", "$"))]


def _may_be(path: str, target: str) -> bool:
    """A path with a variable mab could not expand (`$CARGO_HOME/registry`) that may name
    `target` or a folder above it."""
    if "$" not in path:
        return False
    pattern = re.sub(r"\\\$\\\{[^}]*\\\}|\\\$[A-Za-z_][A-Za-z0-9_]*", ".*", re.escape(path))
    return any(re.fullmatch(pattern, t) for t in (target, *_parents(target)))


def _parents(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:n]) for n in range(1, len(parts))]


def works_on(script: str, targets: tuple[str, ...], env: Mapping[str, str]) -> str | None:
    """Why a cache mount on `targets` would change what `script` does, or None."""
    cleaned = _CLEANS.search(script)
    if cleaned:
        return f"its `{cleaned.group(0)}` would empty the cache the mount keeps"
    if _FROM_NPM_CACHE.search(script) and any(t.rstrip("/").endswith(".npm") for t in targets):
        return "npx runs packages from the npm cache: with a mount they would leave the image"
    for command in _SPLIT.split(script):
        word, paths = _paths(command, env)
        for path in paths:
            clean = path.rstrip("/")
            for target in (t.rstrip("/") for t in targets):
                inside = clean == target or clean.startswith(target + "/")
                above = target.startswith(clean + "/") or clean == ""
                if word == "rm" and (clean == target or above or _may_be(clean, target)):
                    return f"it removes {path}, which would be the mount point"
                if word == "rm" and path.endswith("/*") and clean[:-2] == target:
                    continue  # empties the folder: the same with or without the mount
                if word != "rm" and inside:
                    return f"it works on {path} itself (`{word}`): a mount there changes that"
    return None


def copied_out(dockerfile: Dockerfile, stage: Stage, targets: tuple[str, ...]) -> str | None:
    """A `COPY --from=<this stage>` of something inside `targets` (gone with a mount)."""
    names = {str(stage.index), *([stage.name] if stage.name else [])}
    for ins in dockerfile.instructions:
        if ins.keyword not in ("COPY", "ADD"):
            continue
        if not any(v.lower() in names for v in ins.flag_values("from")):
            continue
        for source in words(ins.args)[:-1]:
            clean = "/" + source.strip("/")
            for target in (t.rstrip("/") for t in targets):
                inside = clean == target or clean.startswith(target + "/")
                if inside or clean == "/" or target.startswith(clean + "/"):
                    return f"line {ins.line} copies {source} out of this stage"
    return None
