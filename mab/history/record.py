"""A build record: what one build was asked, what each platform's steps did, and each step's
inputs fingerprint. Frozen dataclasses and a compact JSON codec (`to_json` / `from_json`,
`dumps` / `loads`); the same document is kept in the history database and, for a fresh CI
runner, in the registry beside the cache it wrote (`mab.history.remote`). Pure.

A step is named by platform, stage and index as BuildKit numbers it (`deps 2/2`); its id within a
platform is `stage#index` (`step_id`). Build-arg values can be secrets: `redact` replaces every
value by a short digest (what the registry copy holds), and values of args whose names look
secret (`TOKEN`, `PASSWORD`, ...) are never kept in clear at all (`keep_arg_value`).
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

__all__ = [
    "FORMAT",
    "BuildRecord",
    "CacheImport",
    "RecordError",
    "StepInputs",
    "StepRecord",
    "StepState",
    "dumps",
    "keep_arg_value",
    "loads",
    "redact",
    "step_id",
]

FORMAT = "mab.build-record/v1"
StepState = Literal["cached", "ran", "failed", "canceled", "pending"]
Source = Literal["build", "replay", "registry"]
STEP_STATES: tuple[StepState, ...] = ("cached", "ran", "failed", "canceled", "pending")
MISSED: frozenset[str] = frozenset({"ran", "failed"})
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|PASSWD|PWD|KEY|AUTH|CRED|PRIVATE", re.IGNORECASE)
HASHED = "sha256:"


class RecordError(ValueError):
    """A document that is not a build record this mab can read."""


def step_id(stage: str, index: int) -> str:
    return f"{stage}#{index}"


def value_digest(value: str) -> str:
    return HASHED + hashlib.sha256(value.encode()).hexdigest()[:16]


def keep_arg_value(name: str, value: str) -> str:
    """The value as kept: in clear, or a short digest when the name looks like a secret."""
    return value_digest(value) if _SECRET_NAME.search(name) else value


@dataclass(frozen=True, slots=True)
class StepInputs:
    """What goes into a step's cache key as far as mab can see it.

    `digest` covers everything below plus the parents' digests (the whole chain); `own` covers
    this step alone. `files` is None when the step copies nothing from the build context, or
    when the list was too long to keep (`file_count` still says how many); `complete` is False
    when the step has inputs mab cannot see (a bind mount of the context, a remote ADD), so an
    unchanged fingerprint proves nothing."""

    digest: str
    own: str
    args: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, str], ...] | None = None
    files_digest: str = ""
    file_count: int = 0
    parents: tuple[str, ...] = ()
    complete: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"d": self.digest, "o": self.own}
        if self.args:
            out["a"] = [list(a) for a in self.args]
        if self.files is not None:
            out["f"] = [list(f) for f in self.files]
        if self.files_digest:
            out["fd"] = self.files_digest
            out["fn"] = self.file_count
        if self.parents:
            out["p"] = list(self.parents)
        if not self.complete:
            out["c"] = False
        return out

    @classmethod
    def from_json(cls, data: Any) -> StepInputs:
        d = _dict(data, "inputs")
        files = d.get("f")
        return cls(
            digest=str(d.get("d", "")),
            own=str(d.get("o", "")),
            args=tuple((str(k), str(v)) for k, v in _pairs(d.get("a", []))),
            files=None if files is None else tuple((str(p), str(h)) for p, h in _pairs(files)),
            files_digest=str(d.get("fd", "")),
            file_count=int(d.get("fn", 0)),
            parents=tuple(str(p) for p in _list(d.get("p", []), "parents")),
            complete=bool(d.get("c", True)),
        )


@dataclass(frozen=True, slots=True)
class StepRecord:
    platform: str
    stage: str
    index: int
    total: int
    instruction: str
    state: StepState
    duration_s: float | None
    inputs: StepInputs | None = None
    start_s: float | None = None  # when it first started, in seconds from the build's start

    @property
    def id(self) -> str:
        return step_id(self.stage, self.index)

    @property
    def missed(self) -> bool:
        """Ran (or failed while running): the cache did not have it. A FROM that ran pulled
        its image: not a cache miss."""
        return self.state in MISSED and not self.is_from

    @property
    def is_from(self) -> bool:
        return self.instruction[:5].upper() == "FROM "

    @property
    def label(self) -> str:
        stage = f"{self.stage} " if self.stage else ""
        text = " ".join(self.instruction.split())
        text = text if len(text) <= 60 else text[:59] + "…"
        return f"{stage}{self.index}/{self.total} {text}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "platform": self.platform,
            "stage": self.stage,
            "index": self.index,
            "total": self.total,
            "instruction": self.instruction,
            "state": self.state,
            "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
        }
        if self.inputs is not None:
            out["inputs"] = self.inputs.to_json()
        if self.start_s is not None:
            out["start_s"] = round(self.start_s, 3)
        return out

    @classmethod
    def from_json(cls, data: Any) -> StepRecord:
        d = _dict(data, "step")
        state = d.get("state", "")
        if state not in STEP_STATES:
            raise RecordError(f"step state {state!r} is not one of {', '.join(STEP_STATES)}")
        duration = d.get("duration_s")
        inputs = d.get("inputs")
        start = d.get("start_s")
        return cls(
            platform=str(d.get("platform", "")),
            stage=str(d.get("stage", "")),
            index=int(d.get("index", 0)),
            total=int(d.get("total", 0)),
            instruction=str(d.get("instruction", "")),
            state=state,
            duration_s=None if duration is None else float(duration),
            inputs=None if inputs is None else StepInputs.from_json(inputs),
            start_s=None if start is None else float(start),
        )


_NOT_FOUND = re.compile(r"(?:^|:\s*)(?:not found|manifest unknown)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CacheImport:
    """One `--cache-from` as the build reported it: imported, absent (the ref does not exist
    yet: no cache before a first build), or failed (auth, network, a corrupt cache: why)."""

    ref: str
    ok: bool
    error: str = ""

    @property
    def missing(self) -> bool:
        """The ref does not exist (BuildKit: `...: not found`): no cache yet, not a failure."""
        return not self.ok and _NOT_FOUND.search(self.error.strip()) is not None

    @property
    def failed(self) -> bool:
        """A real import failure: the cache exists, or may, and could not be read."""
        return not self.ok and not self.missing

    @property
    def state(self) -> str:
        """What `history show` and `why` say of it."""
        if self.ok:
            return "imported"
        if self.missing:
            return "no cache yet (the ref does not exist: a first build)"
        return f"FAILED: {self.error}"


@dataclass(frozen=True, slots=True)
class BuildRecord:
    uid: str
    started_at: float  # seconds since the epoch
    duration_s: float
    outcome: str  # succeeded, failed, canceled
    image: str  # the image the build's caches belong to, or `local:<context>` without one
    platforms: tuple[str, ...]
    steps: tuple[StepRecord, ...] = ()
    target: str = ""
    dockerfile: str = ""
    # The Dockerfile's identity: its path in the context and its stage graph
    # (`plan.stage_graph`), digested. Builds are compared only with builds of the same key.
    dockerfile_key: str = ""
    context: str = ""
    git_commit: str = ""
    git_branch: str = ""
    builder: str = ""
    driver: str = ""
    no_cache: bool = False
    no_cache_filter: tuple[str, ...] = ()
    build_args: tuple[tuple[str, str], ...] = ()
    cache_from: tuple[str, ...] = ()
    cache_to: str = ""
    imports: tuple[CacheImport, ...] = ()
    source: Source = "build"
    against: str = ""  # uid of the build this one is explained against (the cache's writer)

    def platform_steps(self, platform: str) -> tuple[StepRecord, ...]:
        return tuple(s for s in self.steps if s.platform == platform)

    def counted(self, platform: str) -> tuple[StepRecord, ...]:
        """The platform's instructions other than FROM: what hit ratios count."""
        return tuple(s for s in self.platform_steps(platform) if not s.is_from)

    def hit_ratio(self, platform: str) -> float | None:
        steps = self.counted(platform)
        if not steps:
            return None
        return sum(s.state == "cached" for s in steps) / len(steps)

    def platform_duration(self, platform: str) -> float:
        return sum(s.duration_s or 0.0 for s in self.platform_steps(platform) if s.missed)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "uid": self.uid,
            "started_at": round(self.started_at, 3),
            "duration_s": round(self.duration_s, 3),
            "outcome": self.outcome,
            "image": self.image,
            "platforms": list(self.platforms),
            "target": self.target,
            "dockerfile": self.dockerfile,
            "dockerfile_key": self.dockerfile_key,
            "context": self.context,
            "git_commit": self.git_commit,
            "git_branch": self.git_branch,
            "builder": self.builder,
            "driver": self.driver,
            "no_cache": self.no_cache,
            "no_cache_filter": list(self.no_cache_filter),
            "build_args": [list(a) for a in self.build_args],
            "cache_from": list(self.cache_from),
            "cache_to": self.cache_to,
            "imports": [{"ref": i.ref, "ok": i.ok, "error": i.error} for i in self.imports],
            "source": self.source,
            "against": self.against,
            "steps": [s.to_json() for s in self.steps],
        }

    @classmethod
    def from_json(cls, data: Any) -> BuildRecord:
        d = _dict(data, "record")
        if d.get("format") != FORMAT:
            raise RecordError(f"not a {FORMAT} document (format: {d.get('format')!r})")
        source = str(d.get("source", "build"))
        if source not in ("build", "replay", "registry"):
            raise RecordError(f"source {source!r} is not build, replay or registry")
        try:
            return cls(
                uid=str(d["uid"]),
                started_at=float(d["started_at"]),
                duration_s=float(d.get("duration_s", 0.0)),
                outcome=str(d.get("outcome", "")),
                image=str(d.get("image", "")),
                platforms=tuple(str(p) for p in _list(d.get("platforms", []), "platforms")),
                steps=tuple(StepRecord.from_json(s) for s in _list(d.get("steps", []), "steps")),
                target=str(d.get("target", "")),
                dockerfile=str(d.get("dockerfile", "")),
                dockerfile_key=str(d.get("dockerfile_key", "")),
                context=str(d.get("context", "")),
                git_commit=str(d.get("git_commit", "")),
                git_branch=str(d.get("git_branch", "")),
                builder=str(d.get("builder", "")),
                driver=str(d.get("driver", "")),
                no_cache=bool(d.get("no_cache", False)),
                no_cache_filter=tuple(str(s) for s in _list(d.get("no_cache_filter", []), "f")),
                build_args=tuple((str(k), str(v)) for k, v in _pairs(d.get("build_args", []))),
                cache_from=tuple(str(s) for s in _list(d.get("cache_from", []), "cache_from")),
                cache_to=str(d.get("cache_to", "")),
                imports=tuple(_import(i) for i in _list(d.get("imports", []), "imports")),
                source=cast(Source, source),
                against=str(d.get("against", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordError(f"malformed build record: {exc}") from None


def redact(record: BuildRecord) -> BuildRecord:
    """Build-arg values replaced by digests (still comparable, never readable): for copies
    that leave the machine."""

    def hide(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        return tuple((k, v if v.startswith(HASHED) else value_digest(v)) for k, v in pairs)

    steps = tuple(
        s if s.inputs is None else replace(s, inputs=replace(s.inputs, args=hide(s.inputs.args)))
        for s in record.steps
    )
    return replace(record, build_args=hide(record.build_args), steps=steps)


def dumps(record: BuildRecord) -> bytes:
    """Compact JSON (UTF-8)."""
    return json.dumps(record.to_json(), separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes) -> BuildRecord:
    try:
        return BuildRecord.from_json(json.loads(data))
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(f"not JSON: {exc}") from None


def compress(record: BuildRecord) -> bytes:
    return zlib.compress(dumps(record), 6)


def decompress(blob: bytes) -> BuildRecord:
    try:
        return loads(zlib.decompress(blob))
    except zlib.error as exc:
        raise RecordError(f"damaged stored record: {exc}") from None


def _dict(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RecordError(f"{what}: expected an object, got {type(data).__name__}")
    return data


def _list(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise RecordError(f"{what}: expected a list, got {type(data).__name__}")
    return data


def _pairs(data: Any) -> list[tuple[Any, Any]]:
    out = []
    for item in _list(data, "pairs"):
        if not isinstance(item, list) or len(item) != 2:
            raise RecordError(f"expected a [name, value] pair, got {item!r}")
        out.append((item[0], item[1]))
    return out


def _import(data: Any) -> CacheImport:
    d = _dict(data, "import")
    return CacheImport(str(d.get("ref", "")), bool(d.get("ok", False)), str(d.get("error", "")))
