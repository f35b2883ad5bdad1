"""An incremental decoder for `docker buildx build --progress=rawjson` output.

BuildKit writes one SolveStatus object per update: compact on one line (newer buildx) or
pretty-printed over many lines (buildx 0.13), with plain text (the `ERROR: failed to solve:`
block, warnings) in between. `StreamDecoder.feed()` takes bytes in chunks of any size, split
anywhere, and returns the events that became complete; `close()` flushes the rest.

The scanner keeps its state (brace depth, inside a string or not) between chunks, so every byte
is looked at once; the regular expressions skip over strings and everything but braces in C.
Objects are located without being parsed, then handed to `json.loads` whole. Input that is not
JSON becomes `TextLine` events; broken objects are counted in `DecoderStats` and dropped.
Nothing in here raises on bad input.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "MAX_OBJECT_BYTES",
    "MAX_TEXT_CHARS",
    "DecoderStats",
    "Event",
    "ProgressGroup",
    "SolveStatus",
    "StreamDecoder",
    "TextLine",
    "Vertex",
    "VertexLog",
    "VertexStatus",
    "VertexWarning",
    "parse_time",
]

MAX_OBJECT_BYTES = 64 * 1024 * 1024
"""A single object larger than this is skipped (BuildKit caps a step's logs at 2 MiB)."""

MAX_TEXT_CHARS = 64 * 1024
"""A text line is cut to this many characters; the rest of it is skipped."""


# ---------------------------------------------------------------------------------------------
# Events: parsed and checked here, trusted everywhere else.


@dataclass(frozen=True, slots=True)
class ProgressGroup:
    id: str
    name: str
    weak: bool = False


@dataclass(frozen=True, slots=True)
class Vertex:
    """One operation of the build graph; re-sent whole whenever it changes."""

    digest: str
    inputs: tuple[str, ...] = ()
    name: str = ""
    started: float | None = None  # seconds since the epoch
    completed: float | None = None
    cached: bool = False
    error: str = ""
    progress_group: ProgressGroup | None = None


@dataclass(frozen=True, slots=True)
class VertexStatus:
    """Sub-progress of a vertex: a layer pull, extraction, a push."""

    id: str
    vertex: str
    name: str = ""
    current: int = 0
    total: int = 0
    timestamp: float | None = None
    started: float | None = None
    completed: float | None = None


@dataclass(frozen=True, slots=True)
class VertexLog:
    vertex: str
    stream: int  # 1 stdout, 2 stderr
    data: bytes
    timestamp: float | None = None


@dataclass(frozen=True, slots=True)
class VertexWarning:
    vertex: str
    level: int = 0
    short: str = ""
    detail: tuple[str, ...] = ()
    url: str = ""


@dataclass(frozen=True, slots=True)
class SolveStatus:
    vertexes: tuple[Vertex, ...] = ()
    statuses: tuple[VertexStatus, ...] = ()
    logs: tuple[VertexLog, ...] = ()
    warnings: tuple[VertexWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class TextLine:
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


def _b64_text(value: object) -> str:
    return _b64(value).decode("utf-8", "replace")


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
    started = d.get("started")
    completed = d.get("completed")
    return Vertex(
        digest,
        inputs,
        _str(d.get("name")),
        None if started is None else parse_time(started),
        None if completed is None else parse_time(completed),
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
        parse_time(d.get("timestamp")),
        parse_time(d.get("started")),
        parse_time(d.get("completed")),
    )


def _log(d: dict[str, Any]) -> VertexLog | None:
    vertex = d.get("vertex")
    if not isinstance(vertex, str):
        return None
    stream = d.get("stream")
    return VertexLog(
        vertex, stream if stream == 2 else 1, _b64(d.get("data")), parse_time(d.get("timestamp"))
    )


def _warning(d: dict[str, Any]) -> VertexWarning:
    detail = d.get("detail")
    return VertexWarning(
        _str(d.get("vertex")),
        _int(d.get("level")),
        _b64_text(d.get("short")).strip(),
        tuple(_b64_text(x) for x in detail) if isinstance(detail, list) else (),
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


# ---------------------------------------------------------------------------------------------
# The scanner.

# Inside an object: everything up to the next brace, skipping whole strings; stops at a string
# that does not end in the buffer, and at a line that cannot continue an object: one starting
# with "{" (a new top-level object), a capital or "#" (buildx's text: `ERROR: ...`). The
# current object was cut short then. (Compact objects are one line; pretty ones indent.)
_BREAK = rb"\n[{A-Z#]"
_STRING = rb'"(?:[^"\\\n]++|\\[^\n])*+"'
_FILLER = rb'[^{}"\n]++|' + _STRING + rb"|\n(?![{A-Z#])"
_BREAKS = re.compile(_BREAK)
_OBJ_SPAN = re.compile(rb"(?:" + _FILLER + rb")*+")
_STR_SPAN = re.compile(rb'(?:[^"\\\n]++|\\[^\n])*+')

_TRAILING = b" \t\r"
# json.loads without its wrappers: one value from the start of a str, and where it ended.
_scan_value: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_BLANKS = re.compile(rb"[ \t\r]*+")

_LINE, _TEXT, _OBJ, _STR, _DROP_LINE = range(5)
_LBRACE, _RBRACE, _QUOTE, _NL = 0x7B, 0x7D, 0x22, 0x0A


class StreamDecoder:
    """Turns rawjson bytes, in chunks of any size, into events. Linear time, bounded memory."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._mode = _LINE
        self._start = 0  # where the pending object or text line begins
        self._pos = 0  # where scanning resumes
        self._depth = 0
        self._oversized = False
        self.stats = DecoderStats()

    def feed(self, data: bytes) -> list[Event]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Event] = []
        self._scan(out)
        self._compact()
        return out

    def close(self) -> list[Event]:
        out: list[Event] = []
        self._scan(out)
        rest = len(self._buf) - self._start
        if self._mode in (_LINE, _TEXT) and rest > 0:
            text = self._buf[self._start :].decode("utf-8", "replace").rstrip("\r")
            if text.strip():
                self._text(out, text)
        elif self._mode in (_OBJ, _STR):
            self.stats.skipped_objects += 1
            self.stats.skipped_bytes += rest
        self._buf = bytearray()
        self._start = self._pos = self._depth = 0
        self._mode = _LINE
        self._oversized = False
        return out

    def _compact(self) -> None:
        start = self._start
        if self._mode in (_OBJ, _STR) and self._pos - start > MAX_OBJECT_BYTES:
            # Keep scanning it to find its end, but stop keeping its bytes.
            self._oversized = True
            self.stats.skipped_bytes += self._pos - start
            start = self._start = self._pos
        if start:
            del self._buf[:start]
            self._pos -= start
            self._start = 0

    def _text(self, out: list[Event], text: str) -> None:
        if len(text) > MAX_TEXT_CHARS:
            self.stats.skipped_bytes += len(text) - MAX_TEXT_CHARS
            text = text[:MAX_TEXT_CHARS] + "…"
        self.stats.text_lines += 1
        out.append(TextLine(text))

    def _object(self, out: list[Event], end: int) -> None:
        stats = self.stats
        raw = self._buf[self._start : end]
        if self._oversized or len(raw) > MAX_OBJECT_BYTES:
            stats.skipped_objects += 1
            stats.skipped_bytes += len(raw)
            self._oversized = False
            return
        try:
            value = json.loads(raw.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            if bytes(raw[1:2]) in (b'"', b"\n") or len(raw) > MAX_TEXT_CHARS or b"\n" in raw:
                stats.skipped_objects += 1
                stats.skipped_bytes += len(raw)
            else:  # a line of text that happens to start with "{"
                self._text(out, raw.decode("utf-8", "replace"))
            return
        self._emit(out, to_event(value), len(raw))

    def _emit(self, out: list[Event], event: SolveStatus | None, size: int) -> None:
        if event is None:  # valid JSON, but not a SolveStatus
            self.stats.skipped_objects += 1
            self.stats.skipped_bytes += size
        else:
            self.stats.objects += 1
            out.append(event)

    def _whole(self, out: list[Event], end: int) -> bool:
        """Emit buf[start:end] if it is one valid JSON value; False to let the scanner decide."""
        try:
            text = self._buf[self._start : end].decode()
            value, stop = _scan_value(text, 0)
        except (ValueError, RecursionError, StopIteration):
            return False
        if stop != len(text):
            return False
        self._emit(out, to_event(value), end - self._start)
        return True

    def _scan(self, out: list[Event]) -> None:
        buf = self._buf
        n = len(buf)
        pos = self._pos
        mode = self._mode
        depth = self._depth
        obj_span = _OBJ_SPAN.match
        str_span = _STR_SPAN.match
        close_at = -2  # where the last search for a pretty object's end found it (-1: nowhere)
        while pos < n:
            if mode == _OBJ:
                e = obj_span(buf, pos).end()  # type: ignore[union-attr]
                if e >= n:
                    # A trailing newline is looked at again: "{" may follow in the next chunk.
                    pos = e - 1 if e > pos and buf[e - 1] == _NL else e
                    break
                c = buf[e]
                pos = e + 1
                if c == _LBRACE:
                    depth += 1
                elif c == _RBRACE:
                    depth -= 1
                    if depth == 0:
                        self._object(out, pos)
                        mode = _LINE
                        self._start = pos
                elif c == _QUOTE:
                    mode = _STR
                else:  # a newline that breaks the object (see _BREAK): it was cut short
                    self._broken(e)
                    mode = _LINE
                    pos = self._start = e + 1
            elif mode == _STR:
                e = str_span(buf, pos).end()  # type: ignore[union-attr]
                if e >= n or (e == n - 1 and buf[e] == 0x5C):
                    pos = e
                    break
                if buf[e] == _QUOTE:
                    mode = _OBJ
                    pos = e + 1
                else:  # a raw newline inside a string: the object is broken
                    self._broken(e)
                    mode = _LINE
                    pos = self._start = e + 1 if buf[e] == _NL else e + 2
            elif mode == _LINE:
                p = pos if buf[pos] == _LBRACE else _BLANKS.match(buf, pos).end()  # type: ignore[union-attr]
                if p >= n:
                    break  # wait: what follows the blanks decides
                c = buf[p]
                if c == _LBRACE:
                    if p + 1 >= n:
                        break  # wait: the next byte tells a compact object from a pretty one
                    # The common case first: a whole object on its line (compact) or up to a
                    # "}" that starts a line (pretty). Parsed whole if valid; if not, or if
                    # not all here yet, the brace scanner below decides.
                    self._start = p
                    if buf[p + 1] == _NL or buf[p + 1] == 0x0D:
                        if close_at < p and close_at != -1:
                            close_at = buf.find(b"\n}", p)
                        end = close_at + 2 if close_at >= 0 else -1
                        if end > 0 and _BREAKS.search(buf, p, end):
                            end = -1  # the scanner breaks the object there: let it
                    else:
                        end = buf.find(b"\n", p)
                        while end > p and buf[end - 1] in _TRAILING:
                            end -= 1
                    if end > 0 and buf[end - 1] == _RBRACE and self._whole(out, end):
                        pos = self._start = end
                        continue
                    mode = _OBJ
                    depth = 1
                    pos = p + 1
                elif c == _NL:
                    pos = self._start = p + 1
                else:
                    mode = _TEXT
                    self._start = pos
            elif mode == _TEXT:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    if n - self._start > 4 * MAX_TEXT_CHARS:
                        self._text(out, buf[self._start : n].decode("utf-8", "replace"))
                        mode = _DROP_LINE
                        self._start = n
                    pos = n
                    break
                line = buf[self._start : nl].decode("utf-8", "replace").rstrip("\r")
                self._text(out, line)
                mode = _LINE
                pos = self._start = nl + 1
            else:  # _DROP_LINE: the rest of an over-long text line
                nl = buf.find(b"\n", pos)
                end = n if nl < 0 else nl + 1
                self.stats.skipped_bytes += end - pos
                pos = self._start = end
                if nl >= 0:
                    mode = _LINE
        self._pos = pos
        self._mode = mode
        self._depth = depth

    def _broken(self, end: int) -> None:
        self.stats.skipped_objects += 1
        self.stats.skipped_bytes += end - self._start
        self._oversized = False
