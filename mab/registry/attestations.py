"""BuildKit's attestations in an image index: which entries are images and which are
attestation manifests, the in-toto statements those hold, and what a statement says (its kind,
the manifest it is about, the base images it names). Pure: manifests and JSON in."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from mab.registry.manifest import Descriptor, Manifest

REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
PREDICATE_TYPE = "in-toto.io/predicate-type"
PROVENANCE_PREFIX = "https://slsa.dev/provenance/"
SBOM_TYPES = ("https://spdx.dev/Document", "https://cyclonedx.org/bom")


@dataclass(frozen=True)
class Attestation:
    kind: str  # "provenance", "sbom" or "other"
    predicate_type: str
    digest: str  # the statement's blob
    bound: bool  # its subject names the platform's manifest digest
    detail: str  # e.g. "SLSA v0.2, mode=max"


@dataclass(frozen=True)
class BaseImage:
    name: str  # `registry/repository[:tag]` as the provenance names it
    digest: str
    platform: str | None


def is_attestation(entry: Descriptor) -> bool:
    return entry.annotation(REFERENCE_TYPE) == ATTESTATION_MANIFEST


def image_entries(index: Manifest) -> tuple[Descriptor, ...]:
    return tuple(m for m in index.manifests if not is_attestation(m))


def attestation_for(index: Manifest, manifest_digest: str) -> tuple[Descriptor, ...]:
    """The attestation manifests the index binds to one platform's manifest."""
    return tuple(
        m
        for m in index.manifests
        if is_attestation(m) and m.annotation(REFERENCE_DIGEST) == manifest_digest
    )


def kind_of(predicate_type: str) -> str:
    if predicate_type.startswith(PROVENANCE_PREFIX):
        return "provenance"
    if predicate_type.startswith(SBOM_TYPES):
        return "sbom"
    return "other"


def subjects(statement: Any) -> frozenset[str]:
    """The `sha256:…` digests an in-toto statement is about."""
    found: set[str] = set()
    items = statement.get("subject") if isinstance(statement, dict) else None
    for item in items if isinstance(items, list) else []:
        digests = item.get("digest") if isinstance(item, dict) else None
        if isinstance(digests, dict) and isinstance(digests.get("sha256"), str):
            found.add("sha256:" + digests["sha256"])
    return frozenset(found)


def read_statement(layer: Descriptor, statement: Any, manifest_digest: str) -> Attestation:
    predicate_type = layer.annotation(PREDICATE_TYPE) or _get(statement, "predicateType") or ""
    kind = kind_of(predicate_type)
    bound = manifest_digest in subjects(statement)
    detail = _provenance_detail(predicate_type, statement) if kind == "provenance" else ""
    if kind == "sbom":
        detail = "SPDX" if "spdx" in predicate_type else "CycloneDX"
    return Attestation(kind, predicate_type, layer.digest, bound, detail)


def _provenance_detail(predicate_type: str, statement: Any) -> str:
    """`mode=max` provenance carries the build's definition (`buildConfig`), `min` does not."""
    version = predicate_type.removeprefix(PROVENANCE_PREFIX)
    predicate = _get(statement, "predicate")
    if version.startswith("v0"):
        full = isinstance(predicate, dict) and "buildConfig" in predicate
    else:  # v1 keeps it among the build definition's internal parameters
        internal = _get(_get(predicate, "buildDefinition"), "internalParameters")
        full = isinstance(internal, dict) and "buildConfig" in internal
    return f"SLSA {version}, mode={'max' if full else 'min'}"


def base_images(statement: Any) -> tuple[BaseImage, ...]:
    """The images a build started from, as its provenance lists them (`pkg:docker/…`)."""
    predicate = _get(statement, "predicate")
    materials = _get(predicate, "materials")
    if not isinstance(materials, list):
        materials = _get(_get(predicate, "buildDefinition"), "resolvedDependencies")
    found: list[BaseImage] = []
    for item in materials if isinstance(materials, list) else []:
        uri = _get(item, "uri")
        digest = _get(_get(item, "digest"), "sha256")
        if isinstance(uri, str) and uri.startswith("pkg:docker/") and isinstance(digest, str):
            found.append(_base_of(uri, "sha256:" + digest))
    return tuple(found)


def _base_of(uri: str, digest: str) -> BaseImage:
    path, _, query = uri.removeprefix("pkg:docker/").partition("?")
    name, _, version = path.partition("@")
    platform = urllib.parse.parse_qs(query).get("platform", [None])[0]
    name = urllib.parse.unquote(name)
    if version and not version.startswith("sha256"):
        name = f"{name}:{urllib.parse.unquote(version)}"
    return BaseImage(name, digest, platform)


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None
