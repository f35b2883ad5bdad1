"""The events of a rawjson stream, parsed and checked here and trusted everywhere else, and
`to_event`, which turns one decoded JSON object into a `SolveStatus` (or None). Pure."""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

__all__ = [
    "DecoderStats",
    "Event",
    "ProgressGroup",
    "SolveStatus",
    "Stamp",
    "TextLine",
    "Vertex",
    "VertexLog",
    "VertexStatus",
    "VertexWarning",
    "parse_time",
    "seconds",
    "to_event",
]


# ---------------------------------------------------------------------------------------------
# Events: parsed and checked here, trusted everywhere else.


class ProgressGroup(msgspec.Struct, frozen=True, gc=False):
    id: str = ""
    name: str = ""
    weak: bool = False


# Times stay as BuildKit wrote them (RFC 3339, nanoseconds) until read: `seconds(stamp)`. Most
# are never read (a log chunk's time matters only to a paced replay), and a vertex repeats its
# own in every update, so each is parsed at most once where it is needed.
Stamp = str | None


class Vertex(msgspec.Struct, frozen=True, gc=False, rename={"progress_group": "progressGroup"}):
    """One operation of the build graph; re-sent whole whenever it changes."""

    digest: str
    inputs: tuple[str, ...] = ()
    name: str = ""
    started: Stamp = None
    completed: Stamp = None
    cached: bool = False
    error: str = ""
    progress_group: ProgressGroup | None = None


class VertexStatus(msgspec.Struct, frozen=True, gc=False):
    """Sub-progress of a vertex: a layer pull, extraction, a push."""

    id: str
    vertex: str = ""
    name: str = ""
    current: int = 0
    total: int = 0
    timestamp: Stamp = None
    started: Stamp = None
    completed: Stamp = None


class VertexLog(msgspec.Struct, frozen=True, gc=False):
    vertex: str
    stream: int = 1  # 2 is stderr; anything else is read as stdout
    data: bytes = b""  # base64 in the stream, decoded
    timestamp: Stamp = None


class VertexWarning(msgspec.Struct, frozen=True, gc=False):
    """A build check's warning; `short` and `detail` as bytes (base64 in the stream), read as
    text by `text()` and `lines()`."""

    vertex: str = ""
    level: int = 0
    short: bytes = b""
    detail: tuple[bytes, ...] = ()
    url: str = ""

    def text(self) -> str:
        return self.short.decode("utf-8", "replace").strip()

    def lines(self) -> tuple[str, ...]:
        return tuple(d.decode("utf-8", "replace") for d in self.detail)


class SolveStatus(msgspec.Struct, frozen=True, gc=False):
    vertexes: tuple[Vertex, ...] = ()
    statuses: tuple[VertexStatus, ...] = ()
    logs: tuple[VertexLog, ...] = ()
    warnings: tuple[VertexWarning, ...] = ()


class TextLine(msgspec.Struct, frozen=True, gc=False):
    """A line of the stream that is not JSON, without its line ending."""

    text: str


Event = SolveStatus | TextLine


@dataclass(slots=True)
class DecoderStats:
    bytes_in: int = 0
    objects: int = 0
    text_lines: int = 0
    skipped_objects: int = 0  # broken, invalid, oversized or not a SolveStatus
    skipped_bytes: int = 0


# ---------------------------------------------------------------------------------------------
# Field parsing.

_TIME_BASE: dict[str, float] = {}
_SECONDS: dict[str, float | None] = {}  # stamps already read
_MAX_SECONDS = 16384


def seconds(stamp: Stamp) -> float | None:
    """A stamp in seconds since the epoch (None when absent or invalid), each parsed once."""
    if stamp is None:
        return None
    found = _SECONDS.get(stamp, _MISSING)
    if found is _MISSING:
        if len(_SECONDS) >= _MAX_SECONDS:
            _SECONDS.clear()
        found = _SECONDS[stamp] = parse_time(stamp)
    return found  # type: ignore[return-value]  # not _MISSING here


_MISSING = object()


def parse_time(value: object) -> float | None:
    """RFC 3339 (nanoseconds allowed) to seconds since the epoch; None if absent or invalid."""
    if not isinstance(value, str) or len(value) < 20:
        return None
    rest = value[19:]
    if rest[-1] in "Zz":
        fraction, offset = rest[:-1], 0
    elif len(rest) >= 6 and rest[-6] in "+-" and rest[-3] == ":" and rest[-5:].isascii():
        fraction = rest[:-6]
        try:
            offset = int(rest[-5:-3]) * 3600 + int(rest[-2:]) * 60
        except ValueError:
            return None
        offset = -offset if rest[-6] == "+" else offset
    else:
        return None
    if fraction and (fraction[0] != "." or not fraction[1:].isdigit() or not fraction.isascii()):
        return None
    base = _TIME_BASE.get(value[:19])
    if base is None:
        try:
            base = datetime.fromisoformat(value[:19] + "+00:00").timestamp()
        except ValueError:
            return None
        if len(_TIME_BASE) > 4096:
            _TIME_BASE.clear()
        _TIME_BASE[value[:19]] = base
    return base + (float(fraction) if fraction else 0.0) + offset


def _stamp(value: object) -> Stamp:
    return value if isinstance(value, str) else None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _b64(value: object) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return binascii.a2b_base64(value)
    except (binascii.Error, ValueError):
        return b""


def _vertex(d: dict[str, Any]) -> Vertex | None:
    digest = d.get("digest")
    if not isinstance(digest, str) or not digest:
        return None
    raw_inputs = d.get("inputs")
    inputs: tuple[str, ...] = ()
    if isinstance(raw_inputs, list):
        inputs = tuple(i for i in raw_inputs if isinstance(i, str) and i)
    group = None
    pg = d.get("progressGroup")
    if isinstance(pg, dict) and isinstance(pg.get("id"), str) and pg["id"]:
        group = ProgressGroup(pg["id"], _str(pg.get("name")), pg.get("weak") is True)
    return Vertex(
        digest,
        inputs,
        _str(d.get("name")),
        _stamp(d.get("started")),
        _stamp(d.get("completed")),
        d.get("cached") is True,
        _str(d.get("error")),
        group,
    )


def _status(d: dict[str, Any]) -> VertexStatus | None:
    ident = d.get("id")
    if not isinstance(ident, str):
        return None
    return VertexStatus(
        ident,
        _str(d.get("vertex")),
        _str(d.get("name")),
        _int(d.get("current")),
        _int(d.get("total")),
        _stamp(d.get("timestamp")),
        _stamp(d.get("started")),
        _stamp(d.get("completed")),
    )


def _log(d: dict[str, Any]) -> VertexLog | None:
    vertex = d.get("vertex")
    if not isinstance(vertex, str):
        return None
    stream = d.get("stream")
    return VertexLog(
        vertex, stream if stream == 2 else 1, _b64(d.get("data")), _stamp(d.get("timestamp"))
    )


def _warning(d: dict[str, Any]) -> VertexWarning:
    detail = d.get("detail")
    return VertexWarning(
        _str(d.get("vertex")),
        _int(d.get("level")),
        _b64(d.get("short")),
        tuple(_b64(x) for x in detail) if isinstance(detail, list) else (),
        _str(d.get("url")),
    )


def _each(value: object) -> list[dict[str, Any]]:
    if not value or not isinstance(value, list):
        return []
    return [x for x in value if isinstance(x, dict)]


def to_event(obj: object) -> SolveStatus | None:
    """A decoded JSON value to a SolveStatus, or None when it is not one."""
    if not isinstance(obj, dict):
        return None
    vs, ss, ls, ws = obj.get("vertexes"), obj.get("statuses"), obj.get("logs"), obj.get("warnings")
    if vs is None and ss is None and ls is None and ws is None:
        return None
    return SolveStatus(
        tuple(v for v in map(_vertex, _each(vs)) if v is not None) if vs else (),
        tuple(s for s in map(_status, _each(ss)) if s is not None) if ss else (),
        tuple(g for g in map(_log, _each(ls)) if g is not None) if ls else (),
        tuple(map(_warning, _each(ws))) if ws else (),
    )
