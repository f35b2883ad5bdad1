"""The BuildKit layer cache of one image's build job, per `Settings.cache` backend.

Every platform has its own cache (see `mab.registry.cacherefs`). Every run reads it; only runs
where `ghexpr.CACHE_WRITE` holds (pushes and manual runs on the default branch) write it. So
`registry` and `s3` caches have one name per image and platform: no per-branch copy, since the
workflow builds other branches only for pull requests, which never write. `gha` and `local`
caches are GitHub's, which scopes them per branch with the default branch's as fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ruamel.yaml.comments import CommentedMap

from mab.config.settings import Settings
from mab.registry import cacherefs

from . import ghexpr
from .steps import Ignore, action_step, run_step

CACHE_POISONING = Ignore(
    "cache-poisoning",
    "saved only by pushes and manual runs on the default branch;"
    " pull requests, tags and other branches restore read-only",
)

_ROTATE_SCRIPT = """
for dir in $MAB_CACHE_DIRS; do
  if [ -d "$dir-new" ]; then
    rm -rf "$dir"
    mv "$dir-new" "$dir"
  fi
done
"""


@dataclass(frozen=True)
class LayerCache:
    cache_from: tuple[str, ...]
    # One (platform, cache-to spec) per platform; the spec may embed expressions.
    cache_to: tuple[tuple[str, str], ...]
    before: tuple[CommentedMap, ...] = ()  # steps that go before the build
    after: tuple[CommentedMap, ...] = ()  # steps that go after the build
    env: dict[str, str] = field(default_factory=dict)  # env of the build steps


def layer_cache(
    settings: Settings,
    image_ref: str,
    image_name: str,
    platforms: tuple[str, ...],
    key_prefix: str,
) -> LayerCache:
    """`platforms` are platforms ("linux/arm64") or one matrix expression without a slash."""
    backend = settings.cache
    if backend == "registry":
        specs = [(p, cacherefs.registry_specs(image_ref, p)) for p in platforms]
        return LayerCache(
            tuple(s for _, spec in specs for s in spec.cache_from),
            tuple((p, spec.cache_to) for p, spec in specs),
        )
    if backend == "gha":
        specs = [(p, cacherefs.gha_specs(image_name, p)) for p in platforms]
        return LayerCache(
            tuple(s for _, spec in specs for s in spec.cache_from),
            tuple((p, spec.cache_to) for p, spec in specs),
        )
    if backend == "s3":
        specs = [(p, cacherefs.s3_specs(settings, image_name, p)) for p in platforms]
        return LayerCache(
            tuple(s for _, spec in specs for s in spec.cache_from),
            tuple((p, spec.cache_to) for p, spec in specs),
            env={
                # buildx hands these to BuildKit for the s3 cache; nothing else sees them.
                "AWS_ACCESS_KEY_ID": "${{ secrets.AWS_ACCESS_KEY_ID }}",
                "AWS_SECRET_ACCESS_KEY": "${{ secrets.AWS_SECRET_ACCESS_KEY }}",
            },
        )
    return _local(settings, image_name, platforms, key_prefix)


def _local(
    settings: Settings, image_name: str, platforms: tuple[str, ...], key_prefix: str
) -> LayerCache:
    """`type=local` in a directory that actions/cache carries. BuildKit never prunes a local
    cache, so it exports to `<dir>-new` and a step swaps the two before actions/cache saves."""
    specs = [(p, cacherefs.local_specs(image_name, p)) for p in platforms]
    dirs = [f"{cacherefs.LOCAL_CACHE_ROOT}/{cacherefs.gha_scope(image_name, p)}" for p in platforms]
    key = f"{key_prefix}-buildx-{image_name}-"
    inputs = {
        "path": "\n".join(dirs),
        "key": key + "${{ github.sha }}",
        "restore-keys": key,
    }
    pin = settings.pin
    return LayerCache(
        tuple(s for _, spec in specs for s in spec.cache_from),
        tuple((p, spec.cache_to) for p, spec in specs),
        before=(
            action_step(
                "mab-layer-cache",
                "Restore and save the layer cache",
                "actions/cache",
                pin=pin,
                if_=ghexpr.CACHE_WRITE,
                with_=inputs,
                ignore=CACHE_POISONING,
            ),
            action_step(
                "mab-layer-cache-ro",
                "Restore the layer cache (read-only)",
                "actions/cache/restore",
                pin=pin,
                if_=ghexpr.CACHE_READ_ONLY,
                with_=inputs,
            ),
        ),
        after=(
            run_step(
                "mab-layer-cache-rotate",
                "Replace the old layer cache with the new one",
                _ROTATE_SCRIPT,
                if_=ghexpr.CACHE_WRITE,
                env={"MAB_CACHE_DIRS": " ".join(dirs)},
            ),
        ),
    )
