"""The parts every build and merge job shares: the matrix job itself, its permissions, the
registries it logs in to, and the notes above its steps."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from mab.config.settings import GITHUB_DEFAULT_RUNNER, Settings
from mab.files.merge import set_note
from mab.generators.depcache import SUGGESTED_TARGETS, uncarried

from .actionsteps import IMAGE_NAME, PLATFORM_NAME
from .matrix import Target, image_entry, platform_entries
from .steps import commented_map

BUILD_TIMEOUT_MINUTES = 60


def registries(targets: list[Target]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.registry for t in targets))


def permissions(targets: list[Target], *, checkout: bool) -> CommentedMap:
    perms = CommentedMap(contents="read")
    perms.yaml_add_eol_comment(
        "check out the code" if checkout else "metadata-action reads the repository's details",
        "contents",
    )
    if "ghcr.io" in registries(targets):
        perms["packages"] = "write"
        perms.yaml_add_eol_comment("push the image and its layer cache to GHCR", "packages")
    return perms


def build_job(
    targets: list[Target],
    settings: Settings,
    steps: list[CommentedMap],
    *,
    per_platform: bool,
    note: str | None = None,
    caches: bool = True,
) -> CommentedMap:
    """The build job around `steps`: over image by platform, or over images (QEMU); above its
    steps, `note`, or else what `cache_notes` says."""
    matrix: dict[str, Any] = {"image": [image_entry(t, caches=caches) for t in targets]}
    if per_platform:
        matrix["platform"] = platform_entries(settings)
    job = commented_map(
        {
            "name": f"Build {IMAGE_NAME}" + (f" ({PLATFORM_NAME})" if per_platform else ""),
            "runs-on": "${{ matrix.platform.runner }}" if per_platform else GITHUB_DEFAULT_RUNNER,
            "timeout-minutes": BUILD_TIMEOUT_MINUTES * (1 if per_platform else 2),
            "permissions": permissions(targets, checkout=True),
            "strategy": {"fail-fast": False, "matrix": matrix},
            "steps": steps,
        }
    )
    text = note if note is not None else cache_notes(targets)
    if text:
        set_note(job, "steps", text, indent=4)
    return job


def cache_notes(targets: list[Target]) -> str:
    """Say which ecosystems get no dependency cache, and how to give them one."""
    lines = []
    for t in targets:
        who = f"{t.name}: " if len(targets) > 1 else ""
        carried = {c.tool.removesuffix("-build") for c in t.caches}
        missing = [e for e in t.image.ecosystems if e not in carried]
        if missing:
            dockerfile = t.image.dockerfile
            tools = ", ".join(missing)
            lines.append(
                f"{who}No dependency cache for {tools}: {dockerfile} mounts no cache for it."
            )
            for tool in missing:
                target = SUGGESTED_TARGETS.get(tool)
                if target:
                    mount = f"--mount=type=cache,target={target}"
                    lines.append(f"  {tool}: add {mount} to its install RUN.")
        lines.extend(f"{who}{note}" for note in uncarried(t.image))
    if any(line.startswith(" ") for line in lines):
        lines.append(
            "`mab lint --fix` adds it; then run `mab init-ci` again to carry it between runs."
        )
    return "\n".join(lines)
