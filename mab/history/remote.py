"""A build record kept in the registry beside the cache it wrote, for a fresh CI runner.

After a build that exported a registry cache (`<image>:buildcache-linux-amd64`), its record
(build-arg values replaced by digests, `record.redact`) is pushed as an OCI artifact tagged
`<image>:buildrecord-linux-amd64` (any other cache tag T gets `T.mab-record`): an OCI image
manifest with `artifactType` `application/vnd.mab.build-record.v1+json`, the empty config and
one layer holding the compact JSON. The manifest's annotation `dev.mab.cache-manifest` names the
cache manifest it describes. A registry that refuses artifacts gets a plain image manifest
whose one layer is a `tar+gzip` holding `build-record.json`; one that refuses that too gets a
notice, and the build goes on.

Before a build, `fetch_records` reads the record beside each imported cache; a record whose
cache manifest is no longer the one at the cache tag (the cache was rewritten without a record)
is not used, and says so.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime

from mab.config.settings import platform_slug
from mab.errors import MabError
from mab.history.record import BuildRecord, RecordError, dumps, loads, redact
from mab.registry.cacherefs import CACHE_TAG_PREFIX
from mab.registry.client import RegistryClient
from mab.registry.manifest import EMPTY_JSON, EMPTY_JSON_DIGEST, OCI_MANIFEST
from mab.registry.reference import Reference, parse_reference

RECORD_TYPE = "application/vnd.mab.build-record.v1+json"
RECORD_TAG_PREFIX = "buildrecord-"
FALLBACK_SUFFIX = ".mab-record"
CACHE_ANNOTATION = "dev.mab.cache-manifest"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
FALLBACK_CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
FALLBACK_LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
MEMBER = "build-record.json"
MAX_RECORD_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    cache_ref: str
    record: BuildRecord | None
    notice: str  # what happened, for the log
    # The record beside the cache when it describes an older cache than the ref names now:
    # no base for explaining misses, but it still names the platform and base images the
    # ref was written for (`mab cache inspect` checks the cache against them).
    stale: BuildRecord | None = None


def record_ref(cache: Reference) -> Reference:
    tag = cache.tag or "latest"
    if tag.startswith(CACHE_TAG_PREFIX):
        name = RECORD_TAG_PREFIX + tag[len(CACHE_TAG_PREFIX) :]
    else:
        name = tag[: 128 - len(FALLBACK_SUFFIX)] + FALLBACK_SUFFIX
    return cache.with_tag(name)


def registry_refs(specs: tuple[str, ...]) -> tuple[str, ...]:
    """The refs of `type=registry` cache specs (`type=registry,ref=X,mode=max` -> X)."""
    out = []
    for spec in specs:
        fields = dict(part.partition("=")[::2] for part in spec.split(","))
        if "type" not in fields and "=" not in spec:
            out.append(spec)  # a bare ref is a registry cache
        elif fields.get("type") == "registry" and fields.get("ref"):
            out.append(fields["ref"])
    return tuple(dict.fromkeys(out))


def platform_of(ref: str, platforms: tuple[str, ...]) -> str | None:
    """The platform a per-platform cache ref is for (by its tag), None for a shared one."""
    tag = ref.rsplit(":", 1)[-1] if ":" in ref.rsplit("/", 1)[-1] else ""
    for platform in sorted(platforms, key=len, reverse=True):
        if platform_slug(platform) in tag:
            return platform
    return None


def _artifact(record_blob: bytes, cache_digest: str) -> bytes:
    return _manifest(
        {"mediaType": EMPTY_TYPE, "digest": EMPTY_JSON_DIGEST, "size": len(EMPTY_JSON)},
        RECORD_TYPE,
        record_blob,
        cache_digest,
        artifact=True,
    )


def _manifest(
    config: dict[str, object], layer_type: str, blob: bytes, cache_digest: str, *, artifact: bool
) -> bytes:
    import hashlib

    body: dict[str, object] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
    if artifact:
        body["artifactType"] = RECORD_TYPE
    body["config"] = config
    body["layers"] = [
        {
            "mediaType": layer_type,
            "digest": "sha256:" + hashlib.sha256(blob).hexdigest(),
            "size": len(blob),
        }
    ]
    body["annotations"] = {
        CACHE_ANNOTATION: cache_digest,
        "org.opencontainers.image.created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _tar_gz(data: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(MEMBER)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def push_record(client: RegistryClient, cache: Reference, record: BuildRecord) -> str:
    """Push the record beside `cache`; returns what was done, for the log."""
    cache_digest = client.manifest_digest(cache)
    if cache_digest is None:
        return f"no record pushed: the cache {cache} is not in the registry (its export failed?)"
    target = record_ref(cache)
    data = dumps(redact(record))
    client.push_blob(target.repository, EMPTY_JSON)
    client.push_blob(target.repository, data)
    if client.put_manifest(
        target.repository, target.tag or "", OCI_MANIFEST, _artifact(data, cache_digest)
    ):
        return f"build record pushed to {target}"
    layer = _tar_gz(data)
    config = b'{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}'
    config_digest = client.push_blob(target.repository, config)
    client.push_blob(target.repository, layer)
    descriptor = {"mediaType": FALLBACK_CONFIG_TYPE, "digest": config_digest, "size": len(config)}
    body = _manifest(descriptor, FALLBACK_LAYER_TYPE, layer, cache_digest, artifact=False)
    if client.put_manifest(target.repository, target.tag or "", OCI_MANIFEST, body):
        return f"build record pushed to {target} (a plain image: the registry refused an artifact)"
    return (
        f"no record pushed: {target.registry} accepts neither an OCI artifact nor a plain image "
        "manifest there"
    )


def fetch_record(client: RegistryClient, cache: Reference) -> Fetched:
    target = record_ref(cache)
    try:
        digest = client.manifest_digest(target)
        if digest is None:
            return Fetched(str(cache), None, f"no build record beside {cache}")
        manifest = client.get_manifest(target)
        if len(manifest.layers) != 1:
            return Fetched(str(cache), None, f"{target} is not a mab build record")
        layer = manifest.layers[0]
        blob = client.get_blob(target.repository, layer.digest, MAX_RECORD_BYTES)
        data = _untar(blob) if layer.media_type == FALLBACK_LAYER_TYPE else blob
        record = loads(data)
        written_for = dict(manifest.annotations).get(CACHE_ANNOTATION, "")
        now = client.manifest_digest(cache)
    except (MabError, RecordError, OSError, tarfile.TarError) as exc:
        message = exc.message if isinstance(exc, MabError) else str(exc)
        return Fetched(str(cache), None, f"cannot read the build record {target}: {message}")
    if now is not None and written_for and written_for != now:
        return Fetched(
            str(cache),
            None,
            f"the build record {target} describes an older cache; not used",
            stale=record,
        )
    from dataclasses import replace

    return Fetched(
        str(cache), replace(record, source="registry"), f"build record read from {target}"
    )


def _untar(blob: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob)), mode="r") as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise RecordError(f"no {MEMBER} in the record layer")
        return member.read(MAX_RECORD_BYTES)


def parse_ref(text: str) -> Reference | None:
    try:
        return parse_reference(text)
    except MabError:
        return None
