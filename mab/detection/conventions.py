"""Release conventions the repository already follows, read from the evidence. Pure."""

from __future__ import annotations

from mab.config.types import KNOWN_PLATFORMS
from mab.detection.project import Project


def evidence_platforms(project: Project) -> tuple[str, ...]:
    """The platforms the repository's own builds name (CI first, then bake and compose files),
    in the order first named; those mab does not know are left out."""
    found: list[str] = []
    for image in project.images:
        for platform in image.platforms:
            p = platform.strip().lower().replace("linux/arm64/v8", "linux/arm64")
            if p in KNOWN_PLATFORMS and p not in found:
                found.append(p)
    return tuple(found)
