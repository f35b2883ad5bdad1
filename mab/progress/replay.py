"""Playing a recording back: its bytes decoded, paced by its own timestamps, its outcome read.

`ReplayClock` maps stream time to wall time for a person watching; `replay()` feeds a
recording through a `StreamSession` (plain and `--json`), the TUI's replay source uses the
clock and the same outcome rule, so every view ends a recording the same way.
"""

from __future__ import annotations

import codecs
import gc
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from mab.errors import UserError
from mab.progress.decoder import DecoderStats, Event, SolveStatus, StreamDecoder, seconds
from mab.progress.model import BuildModel
from mab.progress.session import StreamSession
from mab.progress.steps import BuildStatus

__all__ = [
    "MAX_GAP",
    "READ_CHUNK",
    "Readable",
    "ReplayClock",
    "ReplayRequest",
    "check_speed",
    "collector_paused",
    "decode_recording",
    "event_time",
    "model_of_recording",
    "replay",
    "utf8_chunks",
]

# Idle stretches longer than this (in stream time) are shortened to it, so a replay of a build
# that waited minutes on a lock does not sit still for minutes.
MAX_GAP = 5.0
READ_CHUNK = 1024 * 1024  # a recording is decoded in pieces this big


class Readable(Protocol):
    """Where a recording is read from: a binary file or pipe."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ReplayRequest:
    """What the TUI's `run_replay_app(request)` receives: the recording and the pace.

    `stream`, when given, is read in pieces instead of `data` (plain, `--json` and `--ci`
    follow a recording of any length, from a file or a pipe, in bounded memory)."""

    name: str  # the file name, or "-" for stdin
    data: bytes
    speed: float = 1.0
    default_platform: str | None = None  # the platform of a stream that names none
    stream: Readable | None = field(default=None, compare=False)

    def chunks(self) -> Iterator[bytes]:
        """The recording's bytes in pieces of about READ_CHUNK, as UTF-8 (see `utf8_chunks`)."""
        if self.stream is not None:
            return utf8_chunks(self.stream)
        data = self.data
        return (data[start : start + READ_CHUNK] for start in range(0, len(data), READ_CHUNK))


def utf8_chunks(stream: Readable) -> Iterator[bytes]:
    """A recording read in pieces, as the UTF-8 buildx wrote: one that an editor or a shell
    saved with a byte order mark (UTF-8, or UTF-16 as Windows PowerShell's `2>` and `Out-File`
    write) loses the mark, or is converted."""
    chunk = stream.read(READ_CHUNK)
    if chunk.startswith(codecs.BOM_UTF8):
        chunk = chunk[len(codecs.BOM_UTF8) :]
    elif chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        utf16 = codecs.getincrementaldecoder("utf-16")("replace")
        while chunk:
            yield utf16.decode(chunk).encode("utf-8")
            chunk = stream.read(READ_CHUNK)
        yield utf16.decode(b"", final=True).encode("utf-8")
        return
    while chunk:
        yield chunk
        chunk = stream.read(READ_CHUNK)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a stream is followed: events and log chunks form
    no reference cycles, and the model's few live ones are kept anyway, so collecting finds
    nothing but costs a tenth of the time (it walks every young object, many times a second)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def check_speed(speed: float) -> float:
    if speed < 0:
        raise UserError(f"--speed {speed:g} is negative", hint="use 0 (no waiting) or more")
    if math.isnan(speed):
        raise UserError("--speed nan is not a number", hint="use 0 (no waiting) or more")
    return speed


def event_time(event: Event) -> float | None:
    """The latest moment an event speaks of (seconds since the epoch), if it has any."""
    if not isinstance(event, SolveStatus):
        return None
    stamps = [t for v in event.vertexes for t in (v.started, v.completed)]
    stamps += [s.timestamp for s in event.statuses]
    stamps += [log.timestamp for log in event.logs]
    times = [t for t in map(seconds, stamps) if t is not None]
    return max(times) if times else None


class ReplayClock:
    """Maps stream time to wall time: `delay(event)` is how long to wait before showing it."""

    def __init__(self, speed: float, now: Callable[[], float] = time.monotonic) -> None:
        self.speed = check_speed(speed)
        self._now = now
        self._stream: float | None = None  # latest stream time seen
        self._due: float | None = None  # wall time at which that stream time is shown

    def delay(self, event: Event) -> float:
        if self.speed == 0:
            return 0.0
        t = event_time(event)
        if t is None:
            return 0.0
        now = self._now()
        if self._stream is None or self._due is None:
            self._stream, self._due = t, now
            return 0.0
        if t <= self._stream:
            return max(0.0, self._due - now)
        gap = min(t - self._stream, MAX_GAP)
        self._stream = t
        self._due = max(self._due, now - 0.5) + gap / self.speed
        return max(0.0, self._due - now)


def not_a_recording(name: str, stats: DecoderStats) -> UserError | None:
    """The error for input that holds no BuildKit progress at all, else None."""
    if stats.objects:
        return None
    blank = not (stats.text_lines or stats.skipped_objects or stats.skipped_bytes)
    what = "it is empty" if blank else f"none in {stats.bytes_in} bytes"
    return UserError(
        f"{name}: not a recorded build stream: no BuildKit progress objects ({what})",
        hint="replay a file written by `mab build --record FILE` or by "
        "`docker buildx build --progress=rawjson . 2> FILE`",
    )


def decode_recording(name: str, data: bytes) -> tuple[list[Event], DecoderStats]:
    """Every event of a recording, in order; a UserError when it holds no BuildKit progress."""
    decoder = StreamDecoder()
    events: list[Event] = []
    for start in range(0, len(data), READ_CHUNK):
        events += decoder.feed(data[start : start + READ_CHUNK])
    events += decoder.close()
    error = not_a_recording(name, decoder.stats)
    if error is not None:
        raise error
    return events, decoder.stats


def model_of_recording(name: str, data: bytes, default_platform: str | None = None) -> BuildModel:
    """A recording's whole build model, settled with its recorded outcome (no output)."""
    decoder = StreamDecoder()
    model = BuildModel(default_platform=default_platform)
    for start in range(0, len(data), READ_CHUNK):
        model.apply_all(decoder.feed(data[start : start + READ_CHUNK]))
    model.apply_all(decoder.close())
    error = not_a_recording(name, decoder.stats)
    if error is not None:
        raise error
    model.finish(0, outcome=model.recorded_outcome())
    return model


def _warn_damaged(name: str, stats: DecoderStats) -> None:
    if stats.skipped_objects:
        sys.stderr.write(
            f"mab: warning: {name}: {stats.skipped_objects} damaged progress "
            f"object(s) skipped ({stats.skipped_bytes} bytes)\n"
        )


def replay(
    request: ReplayRequest,
    session: StreamSession,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.monotonic,
) -> BuildStatus:
    """Feed the recording through `session` at the requested pace; the recorded outcome.

    The bytes go through the session's decoder in big pieces as they are read, and nothing is
    kept per event: at speed 0 each piece's events go to the model at once, otherwise each
    event is shown when its time comes. No line is shown before the input is known to be a
    stream (the error for one that is not comes alone)."""
    check_speed(request.speed)
    clock = ReplayClock(request.speed, now) if request.speed > 0 else None
    stats = session.decoder.stats
    shown, session.progress = session.progress, False
    with collector_paused():
        for chunk in request.chunks():
            if clock is None:
                session.feed(chunk)
            events = session.decoder.feed(chunk) if clock is not None else ()
            if shown and not session.progress and stats.objects:
                session.progress = True
                session.printer.update()
            for event in events:
                wait = clock.delay(event) if clock is not None else 0.0
                if wait > 0:
                    sleep(wait)
                session.apply(event)
        session.flush()
    error = not_a_recording(request.name, stats)
    if error is not None:
        raise error
    _warn_damaged(request.name, stats)
    session.finish(outcome=session.model.recorded_outcome())
    return session.model.status
