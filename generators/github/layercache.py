"""The BuildKit layer cache of one image's build job, per `Settings.cache` backend.

Every platform has its own cache (see `mab.registry.cacherefs`). Reads happen on every run;
writes only
where `ghexpr.CACHE_WRITE` holds. `registry` and `s3` caches are named per branch: a run reads
its branch's cache, then the default branch's, and writes its branch's (the default branch and
tags use the plain name); a small `mab-branch` step turns the branch name into a tag-safe suffix,
since expressions cannot replace characters. `gha` and `local` need no such step: GitHub's cache
is already scoped per branch, with the default branch as fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ruamel.yaml.comments import CommentedMap

from mab.config.settings import Settings
from mab.registry import cacherefs

from . import ghexpr
from .steps import Ignore, action_step, run_step

BRANCH_STEP = "mab-branch"
SUFFIX = f"${{{{ steps.{BRANCH_STEP}.outputs.suffix }}}}"
CACHE_POISONING = Ignore(
    "cache-poisoning",
    "saved only by pushes and manual runs on this repository's branches;"
    " pull requests and tags restore read-only",
)

_BRANCH_SCRIPT = """
suffix=""
if [ "$MAB_REF_TYPE" != "tag" ] && [ "$MAB_REF_NAME" != "$MAB_DEFAULT_BRANCH" ]; then
  slug="$(printf '%s' "$MAB_REF_NAME" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9._-' '-')"
  suffix="-$(printf '%s' "$slug" | cut -c1-48)"
fi
echo "suffix=$suffix" >> "$GITHUB_OUTPUT"
"""

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


def branch_step(settings: Settings) -> CommentedMap:
    return run_step(
        BRANCH_STEP,
        "Name this branch's layer cache",
        _BRANCH_SCRIPT,
        env={
            # head_ref on pull requests; both are untrusted text, so they only reach the shell
            # through the environment and leave it sanitized.
            "MAB_REF_NAME": "${{ github.head_ref || github.ref_name }}",
            "MAB_REF_TYPE": "${{ github.ref_type }}",
            "MAB_DEFAULT_BRANCH": settings.default_branch,
        },
    )


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
        specs = [(p, cacherefs.registry_suffix_specs(image_ref, p, SUFFIX)) for p in platforms]
        return LayerCache(
            tuple(s for _, spec in specs for s in spec.cache_from),
            tuple((p, spec.cache_to) for p, spec in specs),
            before=(branch_step(settings),),
        )
    if backend == "gha":
        specs = [(p, cacherefs.gha_specs(image_name, p)) for p in platforms]
        return LayerCache(
            tuple(s for _, spec in specs for s in spec.cache_from),
            tuple((p, spec.cache_to) for p, spec in specs),
        )
    if backend == "s3":
        specs = [(p, cacherefs.s3_specs(settings, image_name, p, SUFFIX)) for p in platforms]
        return LayerCache(
            tuple(s for _, spec in specs for s in spec.cache_from),
            tuple((p, spec.cache_to) for p, spec in specs),
            before=(branch_step(settings),),
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
