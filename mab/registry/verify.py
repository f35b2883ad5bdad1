"""`mab verify`'s reading of a published image: every platform's manifest and layers (each
layer streamed once, shared layers read once), its attestations, its signatures and its base
images, through `mab.registry.client` only. The result is a `VerifyReport`; judging what is a
finding is `mab.registry.findings`' job."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mab.errors import MabError, RegistryNotFound
from mab.registry.attestations import (
    Attestation,
    BaseImage,
    attestation_for,
    base_images,
    image_entries,
    read_statement,
)
from mab.registry.client import RegistryClient
from mab.registry.elf import fits
from mab.registry.layerscan import ElfEntry, LayerError, LayerScan, compression_of, scan_layer
from mab.registry.manifest import Manifest
from mab.registry.reference import Reference, parse_reference
from mab.registry.signatures import (
    CERTIFICATE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    PublicKey,
    Signature,
    is_signature_artifact,
    keyless_identity,
    referrers_tag,
    signature_bytes,
    signature_tag,
    signed_digest,
    verify,
)

MAX_STATEMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class WrongBinary:
    path: str
    layer: str  # the digest of the layer that holds it
    found: str  # what it is, e.g. "x86-64 (64-bit) static executable"


@dataclass(frozen=True)
class BaseInfo:
    image: BaseImage
    size: int | None  # compressed bytes of its layers, when its registry could tell
    note: str = ""


@dataclass(frozen=True)
class PlatformReport:
    platform: str
    digest: str | None  # None: expected but absent
    size: int = 0  # compressed bytes of config and layers
    layers: int = 0
    elf_files: int = 0
    wrong: tuple[WrongBinary, ...] = ()
    unreadable: tuple[str, ...] = ()  # layers that could not be read, with the reason
    attestations: tuple[Attestation, ...] = ()
    bases: tuple[BaseInfo, ...] = ()
    arch_known: bool = True  # False: mab knows no ELF machine for this architecture


@dataclass(frozen=True)
class VerifyReport:
    image: str
    digest: str
    is_index: bool
    expected: tuple[str, ...]
    platforms: tuple[PlatformReport, ...]
    signatures: tuple[Signature, ...]
    layers_read: int
    bytes_read: int  # compressed bytes streamed


@dataclass
class _Reader:
    client: RegistryClient
    repository: str
    ignore: tuple[str, ...]
    progress: Callable[[str], None]
    scans: dict[str, LayerScan | str] = field(default_factory=dict)  # digest -> scan or error
    bytes_read: int = 0

    def layer(self, digest: str, media_type: str) -> LayerScan | str:
        if digest not in self.scans:
            self.scans[digest] = self._read(digest, media_type)
        return self.scans[digest]

    def _read(self, digest: str, media_type: str) -> LayerScan | str:
        compression = compression_of(media_type)
        if compression is None:
            return f"not a tar layer ({media_type})"
        self.progress(f"reading layer {digest[:19]}")
        with self.client.stream_blob(self.repository, digest) as chunks:
            try:
                return scan_layer(self._counted(chunks), compression)
            except LayerError as exc:
                return str(exc)

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.bytes_read += len(chunk)
            yield chunk


def final_elves(layers: list[tuple[str, LayerScan]]) -> dict[str, tuple[ElfEntry, str]]:
    """The ELF files of the image's final filesystem: later layers replace and delete."""
    view: dict[str, tuple[ElfEntry, str]] = {}
    for digest, scan in layers:
        if "" in scan.opaque:  # an opaque root hides every layer below
            view = {}
        gone = set(scan.removed) | scan.others
        prefixes = tuple(p + "/" for p in (*scan.removed, *scan.opaque) if p)
        if view and (gone or prefixes):
            view = {p: v for p, v in view.items() if p not in gone and not p.startswith(prefixes)}
        for entry in scan.elves:
            view[entry.path] = (entry, digest)
    return view


def read_platform(
    reader: _Reader, index: Manifest | None, platform: str, manifest: Manifest
) -> PlatformReport:
    layers: list[tuple[str, LayerScan]] = []
    unreadable: list[str] = []
    for layer in manifest.layers:
        scan = reader.layer(layer.digest, layer.media_type)
        if isinstance(scan, str):
            unreadable.append(f"{layer.digest}: {scan}")
        else:
            layers.append((layer.digest, scan))
    elves = final_elves(layers)
    wrong: list[WrongBinary] = []
    known = True
    for path, (entry, digest) in sorted(elves.items()):
        verdict = fits(entry.header, platform)
        known = known and verdict is not None
        if verdict is False and not any(fnmatch.fnmatch("/" + path, g) for g in reader.ignore):
            wrong.append(WrongBinary("/" + path, digest, entry.header.describe()))
    attestations, bases = _attestations(reader, index, manifest) if index else ((), ())
    config = manifest.config.size if manifest.config else 0
    return PlatformReport(
        platform,
        manifest.digest,
        config + sum(layer.size for layer in manifest.layers),
        len(manifest.layers),
        len(elves),
        tuple(wrong),
        tuple(unreadable),
        attestations,
        bases,
        known,
    )


def _attestations(
    reader: _Reader, index: Manifest, manifest: Manifest
) -> tuple[tuple[Attestation, ...], tuple[BaseInfo, ...]]:
    """The statements the index binds to this manifest, and the base images its provenance
    names."""
    found: list[Attestation] = []
    bases: dict[BaseImage, BaseInfo] = {}
    client = reader.client
    for entry in attestation_for(index, manifest.digest):
        ref = Reference(client.registry, reader.repository, digest=entry.digest)
        for layer in client.get_manifest(ref).layers:
            statement = client.get_json_blob(reader.repository, layer.digest, MAX_STATEMENT_BYTES)
            attestation = read_statement(layer, statement, manifest.digest)
            found.append(attestation)
            if attestation.kind == "provenance":
                for base in base_images(statement):
                    bases.setdefault(base, _base_size(reader, base))
    return tuple(found), tuple(bases.values())


def _base_size(reader: _Reader, base: BaseImage) -> BaseInfo:
    """The base image's compressed size for the platform the build used."""
    try:
        named = parse_reference(base.name)
        ref = Reference(named.registry, named.repository, digest=base.digest)
        if ref.registry == reader.client.registry:
            return _sized(reader.client, ref, base)
        with RegistryClient(ref.registry) as other:
            return _sized(other, ref, base)
    except MabError as exc:
        return BaseInfo(base, None, exc.message)


def _sized(client: RegistryClient, ref: Reference, base: BaseImage) -> BaseInfo:
    manifest = client.get_manifest(ref)
    if manifest.is_index:
        entry = next((m for m in manifest.manifests if m.platform == base.platform), None)
        if entry is None:
            return BaseInfo(base, None, f"its index has no {base.platform}")
        manifest = client.get_manifest(Reference(ref.registry, ref.repository, digest=entry.digest))
    config = manifest.config.size if manifest.config else 0
    return BaseInfo(base, config + sum(layer.size for layer in manifest.layers))


# --------------------------------------------------------------------------- signatures


def read_signatures(
    client: RegistryClient, repository: str, digest: str, key: PublicKey | None
) -> tuple[Signature, ...]:
    """cosign's `.sig` tag and the OCI referrers of `digest`, each checked against `key`."""
    found = list(_tag_signatures(client, repository, digest, key))
    referrers = client.referrers(repository, digest)
    if referrers is None:  # no referrers API: the tag schema's index, if any
        tag = Reference(client.registry, repository, referrers_tag(digest))
        try:
            referrers = client.get_manifest(tag)
        except RegistryNotFound:
            referrers = None
    for entry in referrers.manifests if referrers else ():
        artifact = entry.artifact_type
        if is_signature_artifact(artifact):
            found.append(
                Signature(
                    "referrers",
                    entry.digest,
                    "a sigstore bundle",
                    False if key else None,
                    f"{artifact}: mab checks cosign's `.sig` signatures; "
                    "check this one with `cosign verify`",
                )
            )
    return tuple(found)


def _tag_signatures(
    client: RegistryClient, repository: str, digest: str, key: PublicKey | None
) -> list[Signature]:
    tag = signature_tag(digest)
    try:
        manifest = client.get_manifest(Reference(client.registry, repository, tag))
    except RegistryNotFound:
        return []
    found: list[Signature] = []
    for layer in manifest.layers:
        if layer.media_type != SIMPLE_SIGNING:
            continue
        payload = client.get_blob(repository, layer.digest)
        claimed = signed_digest(payload)
        certificate = layer.annotation(CERTIFICATE_ANNOTATION)
        signer = f"keyless: {keyless_identity(certificate)}" if certificate else "a key"
        signature = signature_bytes(layer.annotation(SIGNATURE_ANNOTATION))
        if claimed != digest:
            verdict, detail = False, f"its payload signs {claimed or 'nothing readable'}"
        elif signature is None:
            verdict, detail = False, "no signature in its annotations"
        elif key is None:
            verdict, detail = None, "present (give --key to verify it)"
        elif verify(key, payload, signature):
            verdict, detail = True, "verified with the given key"
        else:
            verdict, detail = False, "does not verify with the given key"
        found.append(Signature("tag", tag, signer, verdict, detail))
    return found


# --------------------------------------------------------------------------- the whole image


def verify_image(
    client: RegistryClient,
    ref: Reference,
    expected: tuple[str, ...],
    *,
    key: PublicKey | None = None,
    ignore: tuple[str, ...] = (),
    progress: Callable[[str], None] = lambda _text: None,
) -> VerifyReport:
    top = client.get_manifest(ref)
    reader = _Reader(client, ref.repository, ignore, progress)
    reports: list[PlatformReport] = []
    if top.is_index:
        for entry in image_entries(top):
            platform = entry.platform or "unknown"
            progress(f"{platform}: manifest {entry.digest[:19]}")
            manifest = client.get_manifest(
                Reference(client.registry, ref.repository, digest=entry.digest)
            )
            reports.append(read_platform(reader, top, platform, manifest))
    else:
        config = client.get_json_blob(ref.repository, top.config.digest) if top.config else {}
        platform = _config_platform(config)
        reports.append(read_platform(reader, None, platform, top))
    present = {r.platform for r in reports}
    reports += [PlatformReport(p, None) for p in expected if p not in present]
    progress("signatures")
    signatures = read_signatures(client, ref.repository, top.digest, key)
    return VerifyReport(
        str(ref),
        top.digest,
        top.is_index,
        expected,
        tuple(reports),
        signatures,
        len(reader.scans),
        reader.bytes_read,
    )


def _config_platform(config: object) -> str:
    if not isinstance(config, dict):
        return "unknown"
    parts = [config.get("os"), config.get("architecture"), config.get("variant")]
    return "/".join(str(p) for p in parts if isinstance(p, str) and p) or "unknown"
