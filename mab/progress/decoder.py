"""An incremental decoder for `docker buildx build --progress=rawjson` output.

BuildKit writes one SolveStatus object per update: compact on one line (newer buildx) or
pretty-printed over many lines (buildx 0.13), with plain text (the `ERROR: failed to solve:`
block, warnings) in between. `StreamDecoder.feed()` takes bytes in chunks of any size, split
anywhere, and returns the events that became complete; `close()` flushes the rest.

The common case goes at C speed: each run of compact objects (one per line, up to the next line
that starts no object: buildx's text) is decoded by msgspec in one call straight into the events
(`mab.progress.fastjson`), and so is each run of pretty-printed ones. Whatever does not fit goes
to the scanner, which keeps its state (brace depth, inside a string or not) between chunks, so
every byte is looked at once; its regular expressions skip over strings and everything but
braces in C, and each object it finds is decoded alone. Input that is not JSON becomes
`TextLine` events; broken objects are counted in `DecoderStats` and dropped. Nothing in here
raises on bad input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from mab.progress import events
from mab.progress.events import *  # noqa: F403 - the events are part of the decoder's interface
from mab.progress.events import DecoderStats, Event, SolveStatus, TextLine, to_event
from mab.progress.fastjson import fast_event, fast_events, fast_lines

__all__ = ["MAX_OBJECT_BYTES", "MAX_TEXT_CHARS", "StreamDecoder", *events.__all__]

MAX_OBJECT_BYTES = 64 * 1024 * 1024
"""A single object larger than this is skipped (BuildKit caps a step's logs at 2 MiB)."""

MAX_TEXT_CHARS = 64 * 1024
"""A text line is cut to this many characters; the rest of it is skipped."""


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
_NOT_OBJECT_LINE = re.compile(rb"\n(?!\{)")  # the end of a run of compact objects
_OBJ_SPAN = re.compile(rb"(?:" + _FILLER + rb")*+")
_STR_SPAN = re.compile(rb'(?:[^"\\\n]++|\\[^\n])*+')

_TRAILING = b" \t\r"
# json.loads without its wrappers: one value from the start of a str, and where it ended.
_scan_value: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_BLANKS = re.compile(rb"[ \t\r]*+")

_LINE, _TEXT, _OBJ, _STR, _DROP_LINE = range(5)
_LBRACE, _RBRACE, _QUOTE, _NL, _CR = 0x7B, 0x7D, 0x22, 0x0A, 0x0D


class StreamDecoder:
    """Turns rawjson bytes, in chunks of any size, into events. Linear time, bounded memory."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._mode = _LINE
        self._start = 0  # where the pending object or text line begins
        self._pos = 0  # where scanning resumes
        self._depth = 0
        self._oversized = False
        self._no_run_before = 0  # a run of compact objects failed up to here
        self.stats = DecoderStats()

    def feed(self, data: bytes) -> list[Event]:
        self.stats.bytes_in += len(data)
        out: list[Event] = []
        if self._mode != _LINE:
            # An object began in an earlier chunk: scan up to its likely end first, so the
            # whole objects after it can go the fast way (any split of the input is safe).
            buf = self._buf
            compact = self._start + 1 < len(buf) and buf[self._start + 1] not in (_NL, 0x0D)
            cut = -1 if compact else data.find(b"\n}\n")
            cut = cut + 3 if cut >= 0 else data.find(b"}\n") + 2
            if cut > 1:
                self._buf += data[:cut]
                self._scan(out)
                data = data[cut:]
        self._buf += data
        if self._mode == _LINE:
            self._batch(out)
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
        self._start = self._pos = self._depth = self._no_run_before = 0
        self._mode = _LINE
        self._oversized = False
        return out

    def _batch(self, out: list[Event]) -> None:
        """The common case at C speed: the whole objects in the buffer decoded in one call
        (`mab.progress.fastjson.fast_events`); whatever does not fit is left to the scanner."""
        buf, start = self._buf, self._pos
        if start >= len(buf) or buf[start] != _LBRACE:
            return
        if start + 1 < len(buf) and buf[start + 1] not in (_NL, 0x0D):  # compact: whole lines
            end = self._run(out, start)
            self._pos = self._start = end
            return
        last = buf.rfind(b"\n}\n", start)
        if last < 0:
            return  # a pretty object not whole yet
        end = last + 2  # pretty (buildx 0.13): the end of the last whole object
        raw = bytes(buf[start:end])
        if _BREAKS.search(raw.replace(b"}\n{", b"} {")):
            return  # a line that breaks an object (see _BREAK): the scanner's rules decide
        events = fast_events(raw)
        if events is None:
            return
        self.stats.objects += len(events)
        out += events
        self._pos = self._start = end + 1  # past the newline after the last "}"

    def _run(self, out: list[Event], start: int) -> int:
        """Decode the run of whole compact objects from `start` (each on its own line, up to
        the first line that starts no object) in one call; where the run ended (after its
        last newline), or `start` when there is none or anything in it does not fit (then its
        lines go one by one, and no run is tried again before its end: linear time)."""
        buf = self._buf
        if start < self._no_run_before:
            return start
        found = _NOT_OBJECT_LINE.search(buf, start)
        end = found.start() if found is not None else buf.rfind(b"\n", start)
        if end <= start or buf[end - 1 if buf[end - 1] != _CR else end - 2] != _RBRACE:
            return start
        with memoryview(buf) as view, view[start:end] as run:
            events = fast_lines(run)
        if events is None:
            self._no_run_before = end
            return start
        self.stats.objects += len(events)
        out += events
        return end + 1

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
            self._no_run_before = max(0, self._no_run_before - start)

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
        event = fast_event(memoryview(self._buf)[self._start : end])
        if event is not None:
            self.stats.objects += 1
            out.append(event)
            return True
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
                        run = self._run(out, p)
                        if run > p:
                            pos = self._start = run
                            continue
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
