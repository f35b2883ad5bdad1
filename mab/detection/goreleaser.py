"""GoReleaser's `dockers:` (and `dockers_v2:`): the images a Go project's release builds. Pure.

Each entry names a Dockerfile (default `Dockerfile`), its image templates and `--platform`,
`--target`, `--build-arg` flags. GoReleaser builds it in a folder holding the binaries it made;
mab builds it from the repository's root, after a `pre-build` that makes the binary (see
`mab.detection.prebuild`). It is the release's own configuration, as strong as CI; CI runs it,
so it is not itself a second publisher.
"""

from __future__ import annotations

from typing import Any

from mab.detection.evidence import Build, image_name, inside, without_tag
from mab.errors import UserError
from mab.files.yamlio import line_of, parse_data

FILES = (".goreleaser.yml", ".goreleaser.yaml", "goreleaser.yml", "goreleaser.yaml")


def goreleaser_builds(text: str, path: str) -> list[Build]:
    try:
        data = parse_data(text, path)
    except UserError:
        return []
    if not isinstance(data, dict):
        return []
    found: list[Build] = []
    for key in ("dockers", "dockers_v2"):
        entries = data.get(key)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            build = _entry(entry, f"{path}:{line_of(text, [key, index]) or 1}", key)
            if build is not None and build not in found:
                found.append(build)
    return found


def _entry(entry: Any, where: str, key: str) -> Build | None:
    if not isinstance(entry, dict):
        return None
    dockerfile = inside(".", str(entry.get("dockerfile") or "Dockerfile"))
    if dockerfile is None:
        return None
    templates = entry.get("image_templates") or entry.get("images") or []
    images = tuple(
        dict.fromkeys(
            without_tag(str(t)) for t in templates if isinstance(t, str) and "{{" not in
            without_tag(str(t))
        )
    ) if isinstance(templates, list) else ()  # fmt: skip
    flags = entry.get("build_flag_templates") or entry.get("flags") or []
    platforms: list[str] = [str(p) for p in entry.get("platforms") or [] if key == "dockers_v2"]
    target = None
    args: list[tuple[str, str]] = []
    for flag in flags if isinstance(flags, list) else []:
        name, _, value = str(flag).partition("=")
        if "{{" in value:
            continue
        if name == "--platform":
            platforms.append(value)
        elif name == "--target":
            target = value
        elif name == "--build-arg":
            arg, _, given = value.partition("=")
            args.append((arg, given))
    return Build(
        kind="goreleaser",
        where=where,
        dockerfile=dockerfile,
        context=".",
        target=target,
        name=image_name(images[0]) if images else None,
        args=tuple(args),
        platforms=tuple(dict.fromkeys(platforms)),
        images=images,
        push=True,
    )
