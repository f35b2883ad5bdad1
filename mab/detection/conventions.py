"""Release conventions the repository already follows, read from the evidence. Pure."""

from __future__ import annotations

from mab.detection.project import Project


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
