"""The images mab found and the evidence for each of their fields, as text. Pure.

`explain` is the long form (`mab init-ci --explain`): every field with its value and the
file:line it came from, then what was left out and why. `summary` is the short form a normal
run prints: one line per image.
"""

from __future__ import annotations

import posixpath

from mab.detection.evidence import LABELS, slug
from mab.detection.project import Image, Project
from mab.detection.select import is_dockerfile_name


def explain(project: Project) -> str:
    lines = [f"{len(project.images)} image(s), each field with its evidence:"]
    for image in project.images:
        lines.append("")
        lines.append(f"{image.name}  ({_origin(image)})")
        rows = list(image.evidence) or [
            ("dockerfile", image.dockerfile, "named in .mab.yml"),
            ("context", image.context, "named in .mab.yml"),
        ]
        width = min(max(len(value) for _, value, _ in rows), 36)
        for field, value, where in rows:
            lines.append(f"  {field:<11} {value:<{width}}  <- {where}")
        if image.publisher:
            lines.append(f"  already pushed by {image.publisher}")
    if project.skipped:
        lines += ["", "left out:"]
        lines += [f"  {s.path}: {s.reason}" for s in project.skipped]
    return "\n".join(lines) + "\n"


def summary(project: Project) -> list[str]:
    return [
        f"{i.name}: {i.dockerfile} (context {i.context}"
        + (f", target {i.target}" if i.target else "")
        + (f", after {', '.join(i.after)}: its FROM" if i.after else "")
        + f") from {_origin(i)}"
        for i in project.images
    ]


def _origin(image: Image) -> str:
    where = next((w for field, _, w in image.evidence if field == "dockerfile"), "")
    label = LABELS.get(image.origin, image.origin)
    return f"{label}, {where}" if where and image.origin != "dockerfile" else label


def skipped_report(project: Project) -> list[str]:
    """Which Dockerfiles detection left out, and how to build one anyway."""
    if not project.skipped:
        return []
    lines = ["mab: left out (not images that ship):"]
    lines += [f"  {item.path}: {item.reason}" for item in project.skipped]
    named = next((s for s in project.skipped if s.name), None)
    path = next(
        (s.path for s in project.skipped if is_dockerfile_name(posixpath.basename(s.path))), None
    )
    made = next((s for s in project.skipped if s.pre_build), None)
    if made is not None:
        entry = (
            f"      - name: {slug(made.name or _stem(made.path))}\n"
            f"        dockerfile: {made.path}\n        pre-build: {made.pre_build}"
        )
    elif named is not None:
        entry = f"      - name: {slug(named.name or '')}"
    elif path is not None:
        folder = posixpath.dirname(path)
        entry = (
            f"      - name: {slug(_stem(path))}\n"
            f"        dockerfile: {path}\n        context: {folder or '.'}"
        )
    else:
        return lines
    return [*lines, f"  to build one anyway, add it to .mab.yml:\n    images:\n{entry}"]


def _stem(path: str) -> str:
    folder, base = posixpath.dirname(path), posixpath.basename(path)
    stem, _, variant = base.partition(".")
    name = stem if variant.lower() == "dockerfile" else variant or posixpath.basename(folder)
    return name or "app"
