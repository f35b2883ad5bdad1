"""Manifests and indexes as the OCI distribution spec defines them, validated from raw bytes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mab.registry.reference import DIGEST_RE

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT_MANIFESTS = ", ".join(MANIFEST_TYPES)
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the distribution registry's own limit

EMPTY_JSON = b"{}"
EMPTY_JSON_DIGEST = "sha256:" + hashlib.sha256(EMPTY_JSON).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: tuple[tuple[str, str], ...] = ()
    platform: str | None = None  # `os/arch[/variant]` of an index entry that names one
    artifact_type: str | None = None  # an OCI artifact's type (referrers list it)

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)


@dataclass(frozen=True)
class Manifest:
    """An image manifest (`config` + `layers`) or an index (`manifests`), validated."""

    media_type: str
    digest: str
    size: int  # bytes of the manifest itself
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


class MalformedReply(Exception):
    """A reply that does not follow the spec; turned into a `RegistryError` with its context."""


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise MalformedReply(f"{where} is not an object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise MalformedReply(f"{where} has no mediaType")
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise MalformedReply(f"{where} has no valid digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedReply(f"{where} has no valid size")
    annotations = _annotations(value.get("annotations"), where)
    artifact = value.get("artifactType")
    return Descriptor(
        media_type,
        digest,
        size,
        annotations,
        _platform(value.get("platform")),
        artifact if isinstance(artifact, str) else None,
    )


def _platform(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    parts = [value.get("os"), value.get("architecture"), value.get("variant")]
    if not all(isinstance(p, str) and p for p in parts[:2]):
        return None
    return "/".join(p for p in parts if isinstance(p, str) and p)


def _annotations(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise MalformedReply(f"{where}.annotations is not an object")
    return tuple((str(k), str(v)) for k, v in value.items())


def parse_manifest(body: bytes, content_type: str | None, digest: str) -> Manifest:
    """Validate a manifest body; raises `MalformedReply` saying what is wrong."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedReply("the manifest is not valid JSON") from None
    if not isinstance(data, dict):
        raise MalformedReply("the manifest is not a JSON object")
    if data.get("schemaVersion") != 2:
        raise MalformedReply(f"unsupported schemaVersion {data.get('schemaVersion')!r}")
    header_type = (content_type or "").split(";", 1)[0].strip()
    body_type = data.get("mediaType")
    media_type = body_type if isinstance(body_type, str) and body_type else header_type
    if media_type not in MANIFEST_TYPES:
        raise MalformedReply(f"unexpected media type {media_type or '(none)'!r}")
    if header_type in MANIFEST_TYPES and header_type != media_type:
        raise MalformedReply(
            f"Content-Type {header_type!r} disagrees with mediaType {media_type!r}"
        )
    annotations = _annotations(data.get("annotations"), "manifest")
    if media_type in INDEX_TYPES:
        items = data.get("manifests")
        if not isinstance(items, list):
            raise MalformedReply("the index has no `manifests` list")
        manifests = tuple(_descriptor(m, f"manifests[{i}]") for i, m in enumerate(items))
        return Manifest(media_type, digest, len(body), manifests=manifests, annotations=annotations)
    layers_raw = data.get("layers")
    if not isinstance(layers_raw, list):
        raise MalformedReply("the manifest has no `layers` list")
    config = _descriptor(data.get("config"), "config")
    layers = tuple(_descriptor(layer, f"layers[{i}]") for i, layer in enumerate(layers_raw))
    return Manifest(media_type, digest, len(body), config, layers, annotations=annotations)
