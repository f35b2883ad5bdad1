"""Read each finished registry cache export back through the registry client and judge it
(`mab.progress.cacheexport.verify`). A registry that cannot be read makes the export
`unverified` with the reason; nothing here ever fails a build."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from mab.errors import MabError
from mab.progress.cacheexport import CacheExport, ExportSeen, verify
from mab.progress.model import BuildModel
from mab.progress.summary import Summary
from mab.registry.caches import CacheContents, cache_parts, contents_of, platform_layers
from mab.registry.client import RegistryClient
from mab.registry.manifest import Manifest
from mab.registry.reference import Reference, parse_reference

ClientFactory = Callable[[str], RegistryClient]


def read_contents(client: RegistryClient, ref: Reference) -> CacheContents | None:
    if client.manifest_digest(ref) is None:
        return None
    manifest = client.get_manifest(ref)
    config, _ = cache_parts(manifest)
    cache_config = client.get_json_blob(ref.repository, config.digest) if config else None
    return contents_of(manifest, cache_config)


def read_base_layers(client: RegistryClient, image: Reference) -> dict[str, tuple[str, ...]]:
    index = client.get_manifest(image)
    if not index.is_index:
        return {}
    manifests: dict[str, Manifest] = {}
    for entry in index.manifests:
        if entry.platform and not entry.platform.startswith("unknown"):
            pinned = Reference(image.registry, image.repository, None, entry.digest)
            manifests[entry.digest] = client.get_manifest(pinned)
    return platform_layers(index, manifests)


def _client(registry: str) -> RegistryClient:
    return RegistryClient(registry)


def verify_all(
    reports: tuple[CacheExport, ...],
    seen: tuple[ExportSeen, ...],
    bases: tuple[str, ...],
    factory: ClientFactory = _client,
) -> tuple[CacheExport, ...]:
    """Every finished registry export read back and judged, in the same order."""
    clients: dict[str, RegistryClient] = {}

    def client_for(registry: str) -> RegistryClient:
        if registry not in clients:
            clients[registry] = factory(registry)
        return clients[registry]

    try:
        layers = _bases(bases, client_for) if any(_checkable(r) for r in reports) else {}
        out = []
        for report, facts in zip(reports, seen, strict=True):
            out.append(_one(report, facts, layers, client_for) if _checkable(report) else report)
        return tuple(out)
    finally:
        for client in clients.values():
            client.close()


def _checkable(report: CacheExport) -> bool:
    return report.backend == "registry" and report.ref is not None and report.status == "exported"


def _one(
    report: CacheExport,
    facts: ExportSeen,
    bases: Mapping[str, tuple[str, ...]],
    client_for: Callable[[str], RegistryClient],
) -> CacheExport:
    assert report.ref is not None
    try:
        ref = parse_reference(report.ref)
        contents = read_contents(client_for(ref.registry), ref)
    except MabError as exc:
        return _unverified(report, exc.message)
    return verify(report, contents, facts, bases)


def _unverified(report: CacheExport, reason: str) -> CacheExport:
    return replace(report, status="unverified", detail=f"could not read it back: {reason}")


def _bases(
    bases: tuple[str, ...], client_for: Callable[[str], RegistryClient]
) -> dict[str, tuple[str, ...]]:
    """Platform -> the base images' layers; images that cannot be read are left out."""
    merged: dict[str, list[str]] = {}
    for text in bases:
        try:
            image = parse_reference(text)
            per_platform = read_base_layers(client_for(image.registry), image)
        except MabError:
            continue
        for platform, layers in per_platform.items():
            merged.setdefault(platform, []).extend(layers)
    return {p: tuple(ls) for p, ls in merged.items()}


def verified(summary: Summary, model: BuildModel, factory: ClientFactory = _client) -> Summary:
    """The summary with each finished registry export read back and judged."""
    if not summary.cache_exports:
        return summary
    found = verify_all(summary.cache_exports, model.exports.seen(), model.exports.bases(), factory)
    return replace(summary, cache_exports=found)
