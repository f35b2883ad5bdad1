"""BuildKit registry caches, read: the `buildcache-*` tags, the two manifest formats, and what
each layer belongs to. Pure: the registry client fetches, this module explains.

A registry cache written with `image-manifest=true` (what mab writes) is an OCI image manifest
whose config is `application/vnd.buildkit.cacheconfig.v0`; without it, it is an OCI index
listing the layers and the cache config side by side. Both are read here. The cache config maps
layers to their parents and to the cache records (build steps) that produced them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mab.config.file import load_settings
from mab.config.settings import platform_slug
from mab.config.types import KNOWN_PLATFORMS
from mab.errors import UserError
from mab.registry.cacherefs import CACHE_TAG_PREFIX
from mab.registry.manifest import INDEX_TYPES, Descriptor, Manifest
from mab.registry.reference import Reference, parse_reference

CACHE_CONFIG = "application/vnd.buildkit.cacheconfig.v0"
CREATED_KEYS = ("buildkit/createdat", "org.opencontainers.image.created")


@dataclass(frozen=True)
class CacheRef:
    """One cache ref: one row of `mab cache ls`."""

    ref: str
    tag: str
    platform: str | None
    branch: str | None
    media_type: str
    digest: str
    size: int  # bytes of every blob it references (layers and cache config)
    layers: int
    updated: str | None  # RFC 3339, the newest layer's creation time; None when not told
    buildkit_cache: bool  # False for a `buildcache-*` tag that holds something else


@dataclass(frozen=True)
class CacheLayer:
    """One layer of a cache, and what it belongs to."""

    index: int
    digest: str
    media_type: str
    size: int
    created: str | None
    parent: str | None  # the parent layer's digest
    records: int  # how many cache records (build steps) produce this layer
    belongs_to: str
    shared_with: tuple[str, ...] = ()  # the image's other cache tags holding the same layer


def split_cache_tag(tag: str) -> tuple[str | None, str | None]:
    """`buildcache-linux-arm64-feature-x` -> ("linux/arm64", "feature-x")."""
    if not tag.startswith(CACHE_TAG_PREFIX):
        return None, None
    rest = tag[len(CACHE_TAG_PREFIX) :]
    for platform in sorted(KNOWN_PLATFORMS, key=len, reverse=True):
        slug = platform_slug(platform)
        if rest == slug:
            return platform, None
        if rest.startswith(slug + "-"):
            return platform, rest[len(slug) + 1 :]
    return None, None


def cache_parts(manifest: Manifest) -> tuple[Descriptor | None, tuple[Descriptor, ...]]:
    """The cache config descriptor (if any) and the layer descriptors, for both formats."""
    if manifest.media_type in INDEX_TYPES:
        configs = [d for d in manifest.manifests if d.media_type == CACHE_CONFIG]
        layers = tuple(d for d in manifest.manifests if d.media_type != CACHE_CONFIG)
        return (configs[0] if configs else None), layers
    config = manifest.config
    if config is not None and config.media_type == CACHE_CONFIG:
        return config, manifest.layers
    return None, manifest.layers


def created_of(descriptor: Descriptor) -> str | None:
    for key in CREATED_KEYS:
        value = descriptor.annotation(key)
        if value:
            return value
    return None


def summarize(ref: Reference, manifest: Manifest) -> CacheRef:
    config, layers = cache_parts(manifest)
    platform, branch = split_cache_tag(ref.tag or "")
    times = [t for t in (created_of(d) for d in layers) if t]
    times += [v for k, v in manifest.annotations if k in CREATED_KEYS]
    size = sum(d.size for d in layers) + (config.size if config else 0)
    return CacheRef(
        ref=str(ref),
        tag=ref.tag or "",
        platform=platform,
        branch=branch,
        media_type=manifest.media_type,
        digest=manifest.digest,
        size=size,
        layers=len(layers),
        updated=max(times) if times else None,  # RFC 3339 in UTC sorts as text
        buildkit_cache=config is not None,
    )


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def describe_layers(
    manifest: Manifest, cache_config: Any, others: Mapping[str, Manifest] | None = None
) -> tuple[CacheLayer, ...]:
    """Each layer with its parent, the build steps (cache records) that produce it, and the
    other cache tags (`others`: tag -> manifest) that hold it too.

    In the cache config, `layers[i].parent` indexes the same list (Go omits a 0, and -1 means
    none); `records[j].layers[k].layer` points into it too."""
    config, layers = cache_parts(manifest)
    chain: dict[str, str | None] = {}
    producers: dict[str, int] = {}
    if config is not None and isinstance(cache_config, dict):
        raw_layers = cache_config.get("layers")
        blobs: list[str] = []
        if isinstance(raw_layers, list):
            blobs = [str(x.get("blob", "")) if isinstance(x, dict) else "" for x in raw_layers]
            for item, blob in zip(raw_layers, blobs, strict=True):
                up = _int(item.get("parent"), 0) if isinstance(item, dict) else -1
                chain[blob] = blobs[up] if 0 <= up < len(blobs) else None
        records = cache_config.get("records")
        for record in records if isinstance(records, list) else ():
            results = record.get("layers") if isinstance(record, dict) else None
            for result in results if isinstance(results, list) else ():
                index = _int(result.get("layer"), 0) if isinstance(result, dict) else -1
                if 0 <= index < len(blobs):
                    producers[blobs[index]] = producers.get(blobs[index], 0) + 1
    children = {p for p in chain.values() if p}
    holders: dict[str, list[str]] = {}
    for tag, other in sorted((others or {}).items()):
        for digest in {d.digest for d in cache_parts(other)[1]}:
            holders.setdefault(digest, []).append(tag)
    out = []
    for i, d in enumerate(layers):
        count = producers.get(d.digest, 0)
        if config is None:
            belongs = "image layer (not a BuildKit cache)"
        elif count:
            belongs = f"build step result ({count} cache record{'s' if count > 1 else ''})"
        elif d.digest in children:
            belongs = "base of later layers (base image or an earlier stage)"
        else:
            belongs = "not referenced by the cache config"
        created, parent = created_of(d), chain.get(d.digest)
        shared = tuple(holders.get(d.digest, ()))
        out.append(
            CacheLayer(i, d.digest, d.media_type, d.size, created, parent, count, belongs, shared)
        )
    return tuple(out)


def default_image(root: Path) -> str:
    """`image:` from .mab.yml, else the git remote's registry image, else a usage error."""
    settings = load_settings(root)
    if settings.image:
        return settings.image
    from mab.detection.gitrepo import read_remote

    remote = read_remote(root)
    if remote is not None:
        return remote.default_image
    raise UserError(
        "no image given, and none in .mab.yml or the git remote",
        hint="pass the image, for example `mab cache ls localhost:5000/app`",
    )


def image_reference(text: str) -> Reference:
    ref = parse_reference(text)
    if ref.tag or ref.digest:
        raise UserError(
            f"{text!r} names a tag or digest; `mab cache ls` wants the image without one",
            hint=f"try `mab cache ls {ref.name}`",
        )
    return ref


def cache_reference(text: str) -> Reference:
    ref = parse_reference(text)
    if not ref.tag and not ref.digest:
        raise UserError(
            f"{text!r} names no cache tag",
            hint=f"give the full ref, for example {ref.name}:buildcache-linux-arm64 "
            "(`mab cache ls` lists them)",
        )
    return ref


# --------------------------------------------------------------------------- reading a cache back


@dataclass(frozen=True)
class CacheContents:
    """A registry cache read back: the manifest its ref names, its layers and records."""

    digest: str
    layers: tuple[str, ...]
    records: int | None  # None: not a BuildKit cache (no cache config)


def contents_of(manifest: Manifest, cache_config: Any) -> CacheContents:
    config, layers = cache_parts(manifest)
    records = None
    if config is not None and isinstance(cache_config, dict):
        raw = cache_config.get("records")
        records = len(raw) if isinstance(raw, list) else 0
    return CacheContents(manifest.digest, tuple(d.digest for d in layers), records)


def platform_layers(
    index: Manifest, manifests: Mapping[str, Manifest]
) -> dict[str, tuple[str, ...]]:
    """`os/arch[/variant]` -> layer digests of a multi-platform image, from its index and the
    per-platform manifests (`manifests`: digest -> manifest) fetched beside it."""
    out: dict[str, tuple[str, ...]] = {}
    for entry in index.manifests:
        platform = entry.platform
        one = manifests.get(entry.digest)
        if platform is None or one is None or platform.startswith("unknown"):
            continue
        out[platform] = tuple(d.digest for d in one.layers)
    return out
