"""Release conventions the repository already follows, read from the evidence. Pure."""

from __future__ import annotations

import re

from mab.detection.project import Project

_V_TAG = re.compile(r"v[0-9]+(\.[0-9]+)+.*")
_BARE_TAG = re.compile(r"[0-9]+(\.[0-9]+)+.*")


def release_tag_patterns(tags: list[str]) -> tuple[str, ...]:
    """The git tag patterns releases use, from the repository's own tags: `v*` (`v1.2.3`),
    `[0-9]*` (`1.2.3`), or both; `v*` when it has no version tag yet."""
    v = any(_V_TAG.fullmatch(t) for t in tags)
    bare = any(_BARE_TAG.fullmatch(t) for t in tags)
    return (("v*",) if v or not bare else ()) + (("[0-9]*",) if bare else ())


def evidence_platforms(project: Project) -> tuple[str, ...]:
    """The platforms the repository's own builds name (CI first, then bake and compose files),
    lower-cased, in the order first named."""
    found: list[str] = []
    for image in project.images:
        for platform in image.platforms:
            p = platform.strip().lower().replace("linux/arm64/v8", "linux/arm64")
            if p and p not in found:
                found.append(p)
    return tuple(found)
