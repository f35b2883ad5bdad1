"""Release conventions the repository already follows, read from the evidence. Pure."""

from __future__ import annotations

import re
from dataclasses import replace

from mab.detection.evidence import without_tag
from mab.detection.project import Image, Project

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


def _normal(reference: str) -> str:
    ref = without_tag(reference.lower())
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/"):
        ref = ref.removeprefix(prefix)
    return ref


def from_chains(images: list[Image]) -> list[Image]:
    """Each image whose FROM names an image another one here builds (by the references its
    evidence pushes or tags), with that one's name in `after` and the evidence of it."""
    built = {_normal(r): i.name for i in images for r in (*i.references, *i.local_tags) if r}
    out = []
    for image in images:
        bases = image.info.base_images if image.info else ()
        after = tuple(
            dict.fromkeys(built[_normal(b)] for b in bases if built.get(_normal(b), image.name)
                          != image.name)
        )  # fmt: skip
        if after:
            why = f"its FROM names what {', '.join(after)} builds here: build that first"
            image = replace(
                image, after=after, evidence=(*image.evidence, ("after", ", ".join(after), why))
            )
        out.append(image)
    return out
