"""The fast path of the decoder: one rawjson object straight from bytes into a `SolveStatus`.

msgspec decodes and checks the object against the shape below in C (base64 log data
included), so only the small step from its structs to the events is Python (times go through
`parse_time`, as on the careful path, so both give the same events). Anything that does not
fit the shape exactly (a field of another type, an object that is not a SolveStatus) returns
None, and the decoder takes its careful path.
"""

from __future__ import annotations

import msgspec

from mab.progress.events import (
    ProgressGroup,
    SolveStatus,
    Vertex,
    VertexLog,
    VertexStatus,
    VertexWarning,
    parse_time,
)

__all__ = ["fast_event", "fast_events"]


class _Group(msgspec.Struct):
    id: str = ""
    name: str = ""
    weak: bool = False


class _Vertex(msgspec.Struct, rename={"progress_group": "progressGroup"}):
    digest: str = ""
    inputs: list[str] | None = None
    name: str = ""
    started: str | None = None
    completed: str | None = None
    cached: bool = False
    error: str = ""
    progress_group: _Group | None = None


class _Status(msgspec.Struct):
    id: str
    vertex: str = ""
    name: str = ""
    current: int = 0
    total: int = 0
    timestamp: str | None = None
    started: str | None = None
    completed: str | None = None


class _Log(msgspec.Struct):
    vertex: str
    stream: int = 1
    data: bytes = b""
    timestamp: str | None = None


class _Warning(msgspec.Struct):
    vertex: str = ""
    level: int = 0
    short: bytes = b""
    detail: list[bytes] | None = None
    url: str = ""


class _Solve(msgspec.Struct):
    vertexes: list[_Vertex] | None = None
    statuses: list[_Status] | None = None
    logs: list[_Log] | None = None
    warnings: list[_Warning] | None = None


_decode = msgspec.json.Decoder(_Solve).decode
_decode_many = msgspec.json.Decoder(list[_Solve]).decode


_TIMES: dict[str, float | None] = {}  # a vertex repeats its times: parse each once
_MAX_TIMES = 16384


def _t(value: str | None) -> float | None:
    if value is None:
        return None
    found = _TIMES.get(value, _MISSING)
    if found is _MISSING:
        if len(_TIMES) >= _MAX_TIMES:
            _TIMES.clear()
        found = _TIMES[value] = parse_time(value)
    return found  # type: ignore[return-value]  # not _MISSING here


_MISSING = object()


def _vertex(v: _Vertex) -> Vertex | None:
    if not v.digest:
        return None
    g = v.progress_group
    return Vertex(
        v.digest,
        tuple(filter(None, v.inputs)) if v.inputs else (),
        v.name,
        _t(v.started),
        _t(v.completed),
        v.cached,
        v.error,
        ProgressGroup(g.id, g.name, g.weak) if g is not None and g.id else None,
    )


def _status(s: _Status) -> VertexStatus:
    return VertexStatus(
        s.id, s.vertex, s.name, s.current, s.total, _t(s.timestamp), _t(s.started), _t(s.completed)
    )


def _warning(w: _Warning) -> VertexWarning:
    short = w.short.decode("utf-8", "replace").strip()
    detail = tuple(d.decode("utf-8", "replace") for d in w.detail) if w.detail else ()
    return VertexWarning(w.vertex, w.level, short, detail, w.url)


def _event(o: _Solve) -> SolveStatus | None:
    if o.vertexes is None and o.statuses is None and o.logs is None and o.warnings is None:
        return None
    vertexes = () if not o.vertexes else tuple(filter(None, map(_vertex, o.vertexes)))
    return SolveStatus(
        vertexes,
        tuple(map(_status, o.statuses)) if o.statuses else (),
        tuple(
            VertexLog(g.vertex, 2 if g.stream == 2 else 1, g.data, _t(g.timestamp)) for g in o.logs
        )
        if o.logs
        else (),
        tuple(map(_warning, o.warnings)) if o.warnings else (),
    )


_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, ValueError)


def fast_event(raw: bytes | bytearray | memoryview) -> SolveStatus | None:
    """The event of one whole object, or None when the careful path must decide."""
    try:
        return _event(_decode(raw))
    except _ERRORS:
        return None


def fast_events(raw: bytes) -> list[SolveStatus] | None:
    """The events of a run of whole top-level objects, one after another on their own lines
    (`}` ending one line, `{` starting the next: no other place in a rawjson stream has a raw
    newline between them), decoded as one array in one call. None when anything in the run
    does not fit: text between objects, a broken object, one that is no SolveStatus."""
    try:
        decoded = _decode_many(b"[" + raw.replace(b"}\n{", b"},{") + b"]")
        events = [_event(o) for o in decoded]
    except _ERRORS:
        return None
    if None in events:
        return None
    return events  # type: ignore[return-value]  # no None in it
