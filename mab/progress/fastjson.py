"""The fast path of the decoder: rawjson objects straight from bytes into `SolveStatus` events.

msgspec decodes and checks each object against the events' own types (`mab.progress.events`)
in C, base64 log data included, so no Python runs per object or per log chunk. Anything that
does not fit the shape exactly (a field of another type, an object that is no SolveStatus)
returns None, and the decoder takes its careful path, which gives the same events.
"""

from __future__ import annotations

import msgspec

from mab.progress.events import SolveStatus

__all__ = ["fast_event", "fast_events", "fast_lines"]

_DECODER = msgspec.json.Decoder(SolveStatus)
_decode = _DECODER.decode
_decode_lines = _DECODER.decode_lines
_decode_many = msgspec.json.Decoder(list[SolveStatus]).decode
_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, ValueError)
# What an object with none of a SolveStatus's fields decodes to (`{}`, or another kind of
# object): the careful path counts it as skipped. One with empty lists is the same here, and
# the careful path gives it its event; it is rare enough.
_NOTHING = SolveStatus()


def fast_event(raw: bytes | bytearray | memoryview) -> SolveStatus | None:
    """The event of one whole object, or None when the careful path must decide."""
    try:
        event = _decode(raw)
    except _ERRORS:
        return None
    return None if event == _NOTHING else event


def fast_events(raw: bytes) -> list[SolveStatus] | None:
    """The events of a run of whole pretty-printed top-level objects, one after another
    (`}` ending one line, `{` starting the next: no other place in a rawjson stream has a raw
    newline between them), decoded as one array in one call. None when anything in the run
    does not fit: text between objects, a broken object, one that is no SolveStatus."""
    try:
        events = _decode_many(b"[" + raw.replace(b"}\n{", b"},{") + b"]")
    except _ERRORS:
        return None
    return None if _NOTHING in events else events


def fast_lines(raw: bytes | memoryview) -> list[SolveStatus] | None:
    """The events of a run of compact objects, one per line, decoded in one call; None when
    anything in the run does not fit (as `fast_events`)."""
    try:
        events = _decode_lines(raw)
    except _ERRORS:
        return None
    return None if _NOTHING in events else events
