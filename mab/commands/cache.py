"""`mab cache ls|inspect|rm`: the per-platform BuildKit registry caches of an image.

A registry cache written with `image-manifest=true` (what mab writes) is an OCI image manifest
whose config is `application/vnd.buildkit.cacheconfig.v0`; without it, it is an OCI index
listing the layers and the cache config side by side. Both are read here. The cache config maps
layers to their parents and to the cache records (build steps) that produced them.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from mab.config.file import load_settings
from mab.config.settings import KNOWN_PLATFORMS, platform_slug
from mab.errors import RegistryError, UserError
from mab.registry.cacherefs import CACHE_TAG_PREFIX
from mab.registry.client import RegistryClient
from mab.registry.manifest import INDEX_TYPES, OCI_INDEX, OCI_MANIFEST, Descriptor, Manifest
from mab.registry.reference import Reference, parse_reference

CACHE_CONFIG = "application/vnd.buildkit.cacheconfig.v0"
CREATED_KEYS = ("buildkit/createdat", "org.opencontainers.image.created")
_SHORT_TYPES = {
    OCI_MANIFEST: "oci-manifest",
    OCI_INDEX: "oci-index",
    "application/vnd.docker.distribution.manifest.v2+json": "docker-manifest",
    "application/vnd.docker.distribution.manifest.list.v2+json": "docker-list",
}


# --------------------------------------------------------------------------- the model (pure)


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


# --------------------------------------------------------------------------- rendering (pure)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def short_time(value: str | None) -> str:
    """`2026-11-30T09:27:20.638Z` -> `2026-11-30 09:27:20Z`; None -> unknown."""
    if not value:
        return "unknown"
    date, _, rest = value.partition("T")
    clock = rest[:8]
    zone = "Z" if rest.endswith("Z") else rest[-6:] if len(rest) > 8 else ""
    return f"{date} {clock}{zone}".strip()


def short_digest(digest: str | None) -> str:
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}"


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    return "\n".join(line.rstrip() for line in lines)


def ls_table(refs: list[CacheRef]) -> str:
    rows = [
        (
            r.tag,
            r.platform or "?",
            r.branch or "-",
            _SHORT_TYPES.get(r.media_type, r.media_type)
            + ("" if r.buildkit_cache else " (not a cache)"),
            human_size(r.size),
            str(r.layers),
            short_time(r.updated),
        )
        for r in refs
    ]
    return table(("TAG", "PLATFORM", "BRANCH", "TYPE", "SIZE", "LAYERS", "UPDATED"), rows)


def layers_table(layers: tuple[CacheLayer, ...]) -> str:
    rows = [
        (
            str(layer.index),
            short_digest(layer.digest),
            human_size(layer.size),
            short_time(layer.created),
            short_digest(layer.parent),
            layer.belongs_to,
            ", ".join(layer.shared_with) or "-",
        )
        for layer in layers
    ]
    header = ("#", "DIGEST", "SIZE", "CREATED", "PARENT", "BELONGS TO", "ALSO IN")
    return table(header, rows)


# --------------------------------------------------------------------------- I/O


def default_image(root: Path) -> str:
    """`image:` from .mab.yml, else the git remote's registry image, else a usage error."""
    settings = load_settings(root)
    if settings.image:
        return settings.image
    from mab.detection.detect import read_remote

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


def list_cache_refs(client: RegistryClient, image: Reference) -> tuple[list[CacheRef], list[str]]:
    """Every `buildcache-*` ref of the image, and a message for each that could not be read."""
    tags = sorted(t for t in client.list_tags(image.repository) if t.startswith(CACHE_TAG_PREFIX))
    refs, problems = [], []
    for tag in tags:
        ref = image.with_tag(tag)
        try:
            refs.append(summarize(ref, client.get_manifest(ref)))
        except RegistryError as exc:
            problems.append(exc.message)
    refs.sort(key=lambda r: (r.platform or "~", r.branch or "", r.tag))
    return refs, problems


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


@click.group("cache")
def cache_group() -> None:
    """List, inspect and delete the per-platform registry caches (buildcache-* tags)."""


@cache_group.command("ls")
@click.argument("image", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def ls_command(image: str | None, as_json: bool) -> int:
    """List IMAGE's cache refs: one row per ref and platform (default: the project's image)."""
    ref = image_reference(image or default_image(Path.cwd()))
    with RegistryClient(ref.registry) as client:
        refs, problems = list_cache_refs(client, ref)
    if as_json:
        _emit_json({"image": ref.name, "refs": [asdict(r) for r in refs], "errors": problems})
    elif refs:
        click.echo(ls_table(refs))
    else:
        click.echo(f"no cache refs ({CACHE_TAG_PREFIX}*) for {ref.name}", err=True)
    for problem in problems:
        click.echo(f"mab: error: {problem}", err=True)
    return RegistryError.exit_code if problems else 0


@cache_group.command("inspect")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def inspect_command(ref: str, as_json: bool) -> int:
    """Show a cache ref's layers and what each belongs to."""
    target = cache_reference(ref)
    with RegistryClient(target.registry) as client:
        manifest = client.get_manifest(target)
        config, _ = cache_parts(manifest)
        cache_config = client.get_json_blob(target.repository, config.digest) if config else None
        others = _other_caches(client, target)
    summary = summarize(target, manifest)
    layers = describe_layers(manifest, cache_config, others)
    if as_json:
        _emit_json({**asdict(summary), "layer_details": [asdict(x) for x in layers]})
        return 0
    fmt = _SHORT_TYPES.get(summary.media_type, summary.media_type)
    if summary.buildkit_cache:
        fmt += " (image-manifest=true)" if manifest.media_type == OCI_MANIFEST else " (index)"
    else:
        fmt += ": not a BuildKit cache"
    click.echo(f"ref:      {summary.ref}")
    click.echo(f"digest:   {summary.digest}")
    click.echo(f"format:   {fmt}")
    click.echo(f"platform: {summary.platform or 'unknown'}")
    click.echo(f"size:     {human_size(summary.size)} in {summary.layers} layers")
    click.echo(f"updated:  {short_time(summary.updated)}")
    if layers:
        click.echo("")
        click.echo(layers_table(layers))
    return 0


@cache_group.command("rm")
@click.argument("refs", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
def rm_command(refs: tuple[str, ...], yes: bool) -> int:
    """Delete cache refs (where the registry allows deletes)."""
    targets = [cache_reference(r) for r in refs]
    if not yes and not can_ask():
        raise UserError(
            "refusing to delete without confirmation: stdin is not a terminal",
            hint="pass --yes to delete " + ", ".join(str(t) for t in targets),
        )
    for target in targets:
        with RegistryClient(target.registry) as client:
            digest = target.digest or client.manifest_digest(target)
            if digest is None:
                raise RegistryError(
                    f"{target} not found on {target.registry}",
                    hint=f"`mab cache ls {target.name}` lists the cache refs",
                )
            others = _tags_sharing(client, target, digest)
            also = f" (also removes the tags {', '.join(others)}, same manifest)" if others else ""
            question = f"delete {target} ({short_digest(digest)}){also}?"
            if not yes and not click.confirm(question, default=False):
                click.echo(f"kept {target}", err=True)
                continue
            client.delete_manifest(target.repository, digest)
            click.echo(f"deleted {target} ({digest})")
    return 0


def _other_caches(client: RegistryClient, target: Reference) -> dict[str, Manifest]:
    """The image's other cache refs (unreadable ones are left out: this is a detail)."""
    tags = [t for t in client.list_tags(target.repository) if t.startswith(CACHE_TAG_PREFIX)]
    found = {}
    for tag in tags:
        if tag == target.tag:
            continue
        with contextlib.suppress(RegistryError):
            found[tag] = client.get_manifest(target.with_tag(tag))
    return found


def can_ask() -> bool:
    """Is there a person at stdin to confirm a delete?"""
    return sys.stdin.isatty()


def _tags_sharing(client: RegistryClient, target: Reference, digest: str) -> list[str]:
    """Other cache tags pointing at the same manifest: a delete by digest removes them too."""
    tags = [t for t in client.list_tags(target.repository) if t.startswith(CACHE_TAG_PREFIX)]
    return [
        t for t in tags if t != target.tag and client.manifest_digest(target.with_tag(t)) == digest
    ]
