"""What became of each cache export, read from the stream and, for registry caches, checked
against what the registry holds afterwards. Pure: the session feeds events in and hands over
what the registry client read back.

BuildKit reports an export as a vertex (`exporting cache to registry`, `exporting to GitHub
Actions Cache`, ...) with statuses `writing layer sha256:…`, `writing config sha256:…` and
`writing cache image manifest sha256:…` (or `writing manifest …` for the index format). With
`ignore-error=true` (what mab's pipelines write, so a cache hiccup never fails a release) a
failed export only sets the vertex's `error` and the build stays green: this module is where
that becomes visible.

Verification compares the cache read back with the build that wrote it:
- `missing`: nothing at the ref although the export said it finished;
- `replaced`: the ref now names another manifest than the one this build wrote;
- `incomplete`: a layer the build wrote is not in the cache, or (mode=max) the cache holds
  fewer records than the build has steps — `linux/amd64 cache holds 3 records, the build has 14
  steps`;
- `wrong-platform`: the cache holds another platform's base image layers and not this one's;
- `verified`: none of the above.
An export a build never finished (it failed, or was canceled, first) is `unfinished`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from mab.progress.decoder import Event, SolveStatus, Vertex, VertexStatus, seconds

if TYPE_CHECKING:  # the registry is read when an export is verified, never while following
    from mab.registry.caches import CacheContents

ExportStatus = Literal[
    "running",
    "unfinished",
    "exported",
    "failed",
    "verified",
    "incomplete",
    "wrong-platform",
    "missing",
    "replaced",
    "unverified",
]
_BACKENDS = (
    ("exporting cache to registry", "registry"),
    ("exporting cache to client directory", "local"),
    ("exporting to GitHub Actions Cache", "gha"),
    ("exporting cache to Amazon S3", "s3"),
    ("exporting cache to Azure Blob Storage", "azblob"),
)
_LAYER = re.compile(r"^writing layer (sha256:[0-9a-f]{64})$")
_MANIFEST = re.compile(r"^writing (?:cache image )?manifest (sha256:[0-9a-f]{64})$")
_CONFIG = re.compile(r"^writing config (sha256:[0-9a-f]{64})$")
_METADATA = re.compile(r"load metadata for (\S+)")


def backend_of(name: str) -> str | None:
    """The cache backend of an export vertex's name, None for any other vertex."""
    for prefix, backend in _BACKENDS:
        if name.startswith(prefix):
            return backend
    if name.startswith("exporting cache"):
        return "unknown"
    return None


@dataclass
class _Seen:
    backend: str
    started: float | None = None
    completed: float | None = None
    error: str = ""
    layers: list[str] = field(default_factory=list)
    manifest: str | None = None
    config: str | None = None


@dataclass(frozen=True)
class ExportSeen:
    """One export as the stream told it."""

    backend: str
    started: float | None
    completed: float | None
    error: str
    layers: tuple[str, ...]
    manifest: str | None
    config: str | None

    @property
    def duration_s(self) -> float | None:
        if self.started is None or self.completed is None:
            return None
        return max(0.0, self.completed - self.started)


class ExportTracker:
    """Feed it every event of a build; `seen()` lists the cache exports in stream order,
    `bases()` the images its FROM lines resolved (`[internal] load metadata for …`)."""

    def __init__(self) -> None:
        self._exports: dict[str, _Seen] = {}
        self._others: set[str] = set()  # vertices that are not exports
        self._imports: dict[str, str] = {}  # `importing cache manifest` vertex -> its error
        self._bases: dict[str, None] = {}

    def apply(self, event: Event) -> None:
        if isinstance(event, SolveStatus):
            for v in event.vertexes:
                self.vertex(v)
            for s in event.statuses:
                self.status(s)

    def vertex(self, v: Vertex) -> None:
        """One vertex update (the build model hands over only those that may matter here)."""
        digest = v.digest
        if digest in self._others:  # known, and no export
            return
        if digest in self._imports:
            self._imports[digest] = v.error or self._imports[digest]
            return
        seen = self._exports.get(digest)
        if seen is None:
            if not v.name:
                return
            seen = self._new(v)
            if seen is None:
                return
        started, completed = seconds(v.started), seconds(v.completed)
        seen.started = started if started is not None else seen.started
        seen.completed = completed if completed is not None else seen.completed
        seen.error = v.error or seen.error

    def status(self, s: VertexStatus) -> None:
        seen = self._exports.get(s.vertex)
        if seen is None:
            return
        if m := _LAYER.match(s.id):
            if m.group(1) not in seen.layers:
                seen.layers.append(m.group(1))
        elif m := _MANIFEST.match(s.id):
            seen.manifest = m.group(1)
        elif m := _CONFIG.match(s.id):
            seen.config = m.group(1)

    def _new(self, v: Vertex) -> _Seen | None:
        """A vertex seen for the first time: an export to follow, or one to skip from now on
        (noting the base image a `load metadata` vertex names)."""
        name = v.name
        if m := _METADATA.search(name):
            self._bases.setdefault(m.group(1))
        if name.startswith("importing cache manifest"):
            self._imports[v.digest] = v.error
            return None
        backend = backend_of(name)
        if backend is None:
            self._others.add(v.digest)
            return None
        seen = self._exports[v.digest] = _Seen(backend)
        return seen

    def bases(self) -> tuple[str, ...]:
        return tuple(self._bases)

    def seen(self) -> tuple[ExportSeen, ...]:
        return tuple(
            ExportSeen(
                s.backend, s.started, s.completed, s.error, tuple(s.layers), s.manifest, s.config
            )
            for s in self._exports.values()
        )


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class CacheSpec:
    """One `--cache-to` value, parsed: `type=registry,ref=…,mode=max,…`."""

    type: str
    ref: str | None
    mode: str  # min (BuildKit's default) or max
    ignore_error: bool

    @classmethod
    def parse(cls, spec: str) -> CacheSpec:
        fields: dict[str, str] = {}
        for part in (p.strip() for p in spec.split(",")):
            if part:
                key, _, value = part.partition("=")
                fields[key.strip().lower()] = value.strip()
        kind = fields.get("type", "registry")
        ref = fields.get("ref") if kind in ("registry", "inline") else None
        ignore = fields.get("ignore-error", "false").lower() == "true"
        return cls(kind, ref, fields.get("mode", "min"), ignore)


@dataclass(frozen=True)
class CacheExport:
    """What `mab build` reports for one cache export (`cache_export` in the JSON summary)."""

    platform: str  # one platform, or the build's platforms joined with `,`
    ref: str | None
    backend: str
    status: ExportStatus
    error: str | None = None
    layers_written: int = 0
    records: int | None = None  # read back from the registry
    steps: int | None = None  # the build's steps for this platform
    duration_s: float | None = None
    detail: str | None = None
    manifest: str | None = None
    mode: str = "min"

    @property
    def problem(self) -> bool:
        return self.status in ("failed", "incomplete", "wrong-platform", "missing", "replaced")

    def message(self) -> str:
        """One line for plain output and CI warnings."""
        where = f" to {self.ref}" if self.ref else f" ({self.backend})"
        if self.status == "failed":
            return f"{self.platform}: the cache export{where} failed: {self.error}"
        text = f"{self.platform}: cache export{where}: {self.status}"
        return f"{text}: {self.detail}" if self.detail else text

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "backend": self.backend,
            "status": self.status,
            "error": self.error,
            "records": self.records,
            "steps": self.steps,
            "layers_written": self.layers_written,
            "duration_s": None if self.duration_s is None else round(self.duration_s, 2),
            "detail": self.detail,
        }


def exports(
    seen: tuple[ExportSeen, ...],
    platforms: tuple[str, ...],
    cache_to: tuple[str, ...],
    steps: Mapping[str, int] | None = None,
    *,
    ended: bool = True,
) -> tuple[CacheExport, ...]:
    """Pair the exports the stream showed with the `--cache-to` values, in order (BuildKit
    exports them in the order given), and name each one's platform. `ended`: the build is
    over, so an export still open never finished."""
    specs = [CacheSpec.parse(s) for s in cache_to]
    platform = ",".join(platforms) if platforms else "unknown"
    out = []
    for i, s in enumerate(seen):
        spec = specs[i] if i < len(specs) and len(specs) == len(seen) else None
        if s.completed is None:
            status: ExportStatus = "unfinished" if ended else "running"
        else:
            status = "failed" if s.error else "exported"
        out.append(
            CacheExport(
                platform=platform,
                ref=spec.ref if spec else None,
                backend=s.backend,
                status=status,
                error=s.error or None,
                layers_written=len(s.layers),
                steps=(steps or {}).get(platform),
                duration_s=s.duration_s,
                manifest=s.manifest,
                mode=spec.mode if spec else "min",
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Coverage:
    """How a cache read back compares with the build that wrote it."""

    status: ExportStatus  # verified, incomplete or wrong-platform
    detail: str | None = None


def coverage(
    platform: str,
    steps: int | None,
    mode: str,
    contents: CacheContents,
    base_layers: Mapping[str, tuple[str, ...]] | None = None,
) -> Coverage:
    """Judge a cache's records and layers against its build's steps and platform: a mode=max
    cache holds at least one record per step; a cache holds its platform's base image layers
    (`base_layers`: platform -> layers; empty when unknown, e.g. `FROM scratch`)."""
    records = contents.records
    if mode == "max" and steps is not None and records is not None and records < steps:
        return Coverage(
            "incomplete", f"{platform} cache holds {records} records, the build has {steps} steps"
        )
    holder = _platform_of(contents.layers, base_layers or {})
    if holder is not None and "," not in platform and holder != platform:
        return Coverage(
            "wrong-platform", f"the cache holds {holder}'s base image layers, not {platform}'s"
        )
    return Coverage("verified")


def verify(
    export: CacheExport,
    contents: CacheContents | None,
    seen: ExportSeen,
    base_layers: Mapping[str, tuple[str, ...]] | None = None,
) -> CacheExport:
    """Judge a finished registry export against what its ref holds now."""
    if export.status != "exported":
        return export
    if contents is None:
        return replace(export, status="missing", detail="the registry has no cache at this ref")
    found = replace(export, records=contents.records)
    if seen.manifest and contents.digest != seen.manifest:
        return replace(
            found,
            status="replaced",
            detail=f"the ref now names {contents.digest[:19]}, not the {seen.manifest[:19]} "
            "this build wrote (another build exported to it since)",
        )
    absent = [d for d in seen.layers if d not in contents.layers]
    if absent:
        return replace(
            found,
            status="incomplete",
            detail=f"{len(absent)} of the {len(seen.layers)} layers this build wrote are "
            "not in the cache",
        )
    judged = coverage(export.platform, export.steps, export.mode, contents, base_layers)
    return replace(found, status=judged.status, detail=judged.detail)


def _platform_of(layers: tuple[str, ...], base: Mapping[str, tuple[str, ...]]) -> str | None:
    """The one platform whose base image layers (those not shared with another platform) are
    all in the cache; None when that cannot be told."""
    held = set(layers)
    owners = []
    for platform, mine in base.items():
        others = {d for p, ds in base.items() if p != platform for d in ds}
        own = [d for d in mine if d not in others]
        if own and all(d in held for d in own):
            owners.append(platform)
    return owners[0] if len(owners) == 1 else None
