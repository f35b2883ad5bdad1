"""The build job with `--use-action`: mab's composite action (`actions/build`) in place of the
expanded build steps.

The action sets up Python, mab, QEMU and a builder as needed, reads and writes the same
per-platform registry layer caches (read-only where `ghexpr.CACHE_READ_ONLY` holds) and writes
the job summary. It builds with its own builder, which the expanded workflow's dependency-cache
steps cannot reach, and takes no labels: the job says so above its steps, so nobody expects
them. The digest, artifact and merge steps are the expanded workflow's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap

from mab.config.distribution import ActionRef
from mab.config.settings import Settings
from mab.config.types import CacheBackend
from mab.errors import UserError

from . import ghexpr
from .actionsteps import (
    IMAGE_NAME,
    IMAGE_REF,
    PLATFORM_NAME,
    checkout,
    digest_steps,
    image_inputs,
    logins,
    metadata,
    report_step,
)
from .jobparts import build_job, registries
from .matrix import entry_keys
from .steps import mab_action_step

if TYPE_CHECKING:
    from .matrix import Target

# The layer caches a workflow around mab's composite action can use: `gha` needs the runner's
# cache token, which GitHub gives JavaScript actions only, not the action's `run:` steps.
ACTION_CACHES: tuple[CacheBackend, ...] = ("registry",)
NOT_CARRIED = (
    "mab's action builds with its own builder and layer caches: the dependency caches and\n"
    "OCI labels of the expanded workflow are not applied here. Set `github: use-action: false`\n"
    "in .mab.yml (or drop --use-action) to get them."
)


def jobs(targets: list[Target], settings: Settings, action: ActionRef) -> dict[str, Any]:
    if settings.cache not in ACTION_CACHES:
        raise UserError(
            f"--use-action supports the {' and '.join(ACTION_CACHES)} layer cache, "
            f"not {settings.cache}",
            hint="choose --cache registry, or drop --use-action for the expanded workflow",
        )
    native = settings.strategy != "qemu"
    keys = entry_keys(targets, caches=False)
    steps: list[CommentedMap] = [
        checkout(settings),
        *logins(registries(targets), settings),
    ]
    inputs = image_inputs(keys, PLATFORM_NAME if native else ",".join(settings.platforms))
    platforms = inputs.pop("platforms")
    inputs["image"] = IMAGE_REF
    inputs["platforms"] = platforms
    if not native:
        steps.append(metadata(settings, tags=True))
        inputs["tags"] = "${{ steps.mab-meta.outputs.tags }}"
    inputs["push"] = ghexpr.wrap(ghexpr.PUBLISH)
    inputs["cache-backend"] = settings.cache
    inputs["cache-read-only"] = ghexpr.wrap(ghexpr.CACHE_READ_ONLY)
    steps.append(mab_action_step("mab-build", f"Build {IMAGE_NAME} with mab", action, with_=inputs))
    steps.append(report_step(settings, native))
    if native:
        steps += digest_steps(settings)
    return {
        "build": build_job(
            targets, settings, steps, per_platform=native, note=NOT_CARRIED, caches=False
        )
    }
