"""The matrix values of mab's jobs: one entry per image and one per platform.

A build job runs over `image` by `platform` (the QEMU strategy's over `image` alone), a merge
job over `image`. Everything that differs between images is a value of its `image` entry, so
one job describes every image: the Dockerfile and context, the image reference (which also
names its layer caches), and its dependency caches (`depsteps`). Optional values appear only in
the entries that have them; a missing value reads as "" in an expression.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mab.config.settings import GITHUB_DEFAULT_RUNNER, Settings, platform_slug
from mab.detection.project import Image
from mab.generators.depcache import DepCache, dep_caches, split_build_outputs
from mab.generators.github.ghexpr import text_value

# Where a dependency cache lives on the runner: `~/.mab-cache/{deps,builds}/...`. The matrix
# cannot name that folder, so cache maps hold this placeholder, which the `mab-deps` step
# replaces.
CACHE_ROOT_PLACEHOLDER = "@cache@"


@dataclass(frozen=True)
class Target:
    """One image and everything derived from it once."""

    image: Image
    ref: str  # registry/name without tag
    registry: str

    @property
    def name(self) -> str:
        return self.image.name

    @property
    def caches(self) -> tuple[DepCache, ...]:
        return split_build_outputs(dep_caches(self.image))


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name)


def _files(caches: list[DepCache]) -> str:
    return "\n".join(dict.fromkeys(f for c in caches for f in c.key_files))


def _cache_map(t: Target) -> str:
    entries: dict[str, Any] = {}
    for cache in t.caches:
        kind = "builds" if cache.per_run else "deps"
        for m in cache.mounts:
            entries[f"{CACHE_ROOT_PLACEHOLDER}/{kind}/{m.runner_dir}"] = m.cache_map_value()
    return json.dumps(entries, separators=(",", ":"))


def image_entry(t: Target, *, caches: bool = True) -> dict[str, Any]:
    """Everything the build steps need to know about one image (without its dependency
    caches when the job does not carry them)."""
    image = t.image
    entry: dict[str, Any] = {
        "name": safe_name(t.name),
        "ref": t.ref,
        "context": text_value(image.context),
        "file": text_value(image.dockerfile),
    }
    if image.target:
        entry["target"] = text_value(image.target)
    if image.args:
        entry["build-args"] = text_value("\n".join(f"{k}={v}" for k, v in image.args))
    if image.pre_build:
        entry["pre-build"] = text_value(image.pre_build)
    downloads = [c for c in t.caches if caches and not c.per_run]
    built = [c for c in t.caches if caches and c.per_run]
    if downloads:
        entry["deps"] = _files(downloads)
    if built:
        entry["builds"] = _files(built)
    if downloads or built:
        entry["cache-map"] = _cache_map(t)
    return entry


def merge_entry(t: Target) -> dict[str, Any]:
    return {"name": safe_name(t.name), "ref": t.ref}


def entry_keys(targets: list[Target], *, caches: bool = True) -> frozenset[str]:
    """The keys some image entry has."""
    return frozenset(k for t in targets for k in image_entry(t, caches=caches))


def platform_entries(settings: Settings) -> list[dict[str, Any]]:
    emulated = [p for p in settings.platforms if settings.github_runner(p) is None]
    entries: list[dict[str, Any]] = []
    for p in settings.platforms:
        entry: dict[str, Any] = {
            "name": p,
            "runner": settings.github_runner(p) or GITHUB_DEFAULT_RUNNER,
            "slug": platform_slug(p),
        }
        if emulated:
            entry["emulated"] = p in emulated
        entries.append(entry)
    return entries
