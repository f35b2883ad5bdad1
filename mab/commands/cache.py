"""`mab cache ls|inspect|rm`: the per-platform BuildKit registry caches of an image (read and
explained by `mab.registry.caches`)."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from mab.errors import MabError, RegistryError, UserError
from mab.history.record import BuildRecord
from mab.history.remote import fetch_record
from mab.progress.cacheexport import Coverage, coverage
from mab.progress.cacheverify import read_base_layers
from mab.registry.cacherefs import CACHE_TAG_PREFIX
from mab.registry.caches import (
    CacheContents,
    CacheLayer,
    CacheRef,
    cache_parts,
    cache_reference,
    contents_of,
    default_image,
    describe_layers,
    image_reference,
    summarize,
)
from mab.registry.client import RegistryClient
from mab.registry.manifest import OCI_INDEX, OCI_MANIFEST, Manifest
from mab.registry.reference import Reference, parse_reference

_SHORT_TYPES = {
    OCI_MANIFEST: "oci-manifest",
    OCI_INDEX: "oci-index",
    "application/vnd.docker.distribution.manifest.v2+json": "docker-manifest",
    "application/vnd.docker.distribution.manifest.list.v2+json": "docker-list",
}


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
        fetched = fetch_record(client, target)
        summary = summarize(target, manifest)
        record = fetched.record
        covered = _coverage(
            client,
            summary,
            record or fetched.stale,
            contents_of(manifest, cache_config),
            fresh=record is not None,
        )
    layers = describe_layers(manifest, cache_config, others)
    if as_json:
        found = record.to_json() if record else None
        judged = asdict(covered) if covered else None
        _emit_json(
            {
                **asdict(summary),
                "layer_details": [asdict(x) for x in layers],
                "record": found,
                "coverage": judged,
            }
        )
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
    click.echo(f"record:   {record_line(record) if record else fetched.notice}")
    if covered is not None:
        detail = f": {covered.detail}" if covered.detail else ""
        click.echo(f"coverage: {covered.status}{detail}")
    if layers:
        click.echo("")
        click.echo(layers_table(layers))
    return 0


_FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", re.IGNORECASE)


def _coverage(
    client: RegistryClient,
    summary: CacheRef,
    record: BuildRecord | None,
    contents: CacheContents,
    *,
    fresh: bool,
) -> Coverage | None:
    """The cache against the build that wrote it (its record beside the cache): one record
    per step at least (mab writes mode=max), and the tag's platform's base image layers. A
    stale record (the ref was overwritten since) only names the platform's base images."""
    platform = summary.platform
    if record is None or platform is None or platform not in record.platforms:
        return None
    bases: dict[str, list[str]] = {}
    for step in record.platform_steps(platform):
        found = _FROM.match(step.instruction) if step.is_from else None
        if found is None or found.group(1).lower() == "scratch":
            continue
        try:
            image = parse_reference(found.group(1))
            if image.registry == client.registry:
                layers = read_base_layers(client, image)
            else:
                with RegistryClient(image.registry) as other:
                    layers = read_base_layers(other, image)
        except MabError:
            continue
        for p, digests in layers.items():
            bases.setdefault(p, []).extend(digests)
    steps = len(record.counted(platform))
    known = {p: tuple(d) for p, d in bases.items()}
    return coverage(platform, steps, "max" if fresh else "min", contents, known)


def record_line(record: BuildRecord) -> str:
    """The build that wrote the cache, from its record: when, which commit, its hit ratios."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.started_at))
    ratios = ", ".join(
        f"{p} {ratio * 100:.0f}% cached"
        for p in record.platforms
        if (ratio := record.hit_ratio(p)) is not None
    )
    commit = f"{record.git_branch or '-'}@{record.git_commit[:12]}" if record.git_commit else "-"
    return f"build {record.uid[:12]} {record.outcome} {when} UTC, {commit}; {ratios}"


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
    digests = {}
    for target in targets:  # every ref is checked before anything is deleted
        _check_is_cache(target)
        digests[target] = _unshared_digest(target, targets)
    gone: set[tuple[str, str, str]] = set()  # a manifest two of the targets name goes once
    for target in targets:
        digest = digests[target]
        key = (target.registry, target.repository, digest)
        if key not in gone:
            if not yes and not click.confirm(f"delete {target} ({short_digest(digest)})?"):
                click.echo(f"kept {target}", err=True)
                continue
            with RegistryClient(target.registry) as client:
                client.delete_manifest(target.repository, digest)
            gone.add(key)
        click.echo(f"deleted {target} ({digest})")
    return 0


def _unshared_digest(target: Reference, targets: list[Reference]) -> str:
    """The digest `target` names, when no tag but those being deleted points at it too: a
    delete by digest removes every tag of the manifest, so a shared one is refused."""
    with RegistryClient(target.registry) as client:
        digest = target.digest or client.manifest_digest(target)
        if digest is None:
            raise RegistryError(
                f"{target} not found on {target.registry}",
                hint=f"`mab cache ls {target.name}` lists the cache refs",
            )
        deleted = {t.tag for t in targets if t.name == target.name}
        others = [t for t in _tags_sharing(client, target, digest) if t not in deleted]
    if others:
        raise UserError(
            f"{target} is the same manifest ({short_digest(digest)}) as the tags "
            f"{', '.join(others)}: deleting it would delete them too; nothing was deleted",
            hint="name those tags too to delete them all, or point them elsewhere first",
        )
    return digest


def _check_is_cache(target: Reference) -> None:
    """Refuse a ref that holds no BuildKit cache (an image, whatever its tag says): deleting
    it by digest would delete the image, and every tag of it, for good."""
    with RegistryClient(target.registry) as client:
        manifest = client.get_manifest(target)
    if not summarize(target, manifest).buildkit_cache:
        kind = _SHORT_TYPES.get(manifest.media_type, manifest.media_type)
        raise UserError(
            f"{target} is not a BuildKit cache ({kind}); nothing was deleted",
            hint="`mab cache rm` deletes only cache refs (`mab cache ls` lists them); "
            "delete images with the registry's own tools",
        )


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
    """Every other tag of the repository (a cache's or not) pointing at the same manifest."""
    return [
        t
        for t in client.list_tags(target.repository)
        if t != target.tag and client.manifest_digest(target.with_tag(t)) == digest
    ]
