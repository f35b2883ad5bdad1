"""Playing a recording back: its bytes decoded, paced by its own timestamps, its outcome read.

`ReplayClock` maps stream time to wall time for a person watching; `replay()` feeds a
recording through a `StreamSession` (plain and `--json`), the TUI's replay source uses the
clock and the same outcome rule, so every view ends a recording the same way.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from mab.errors import UserError
from mab.progress.decoder import DecoderStats, Event, SolveStatus, StreamDecoder
from mab.progress.model import BuildModel
from mab.progress.session import StreamSession
from mab.progress.steps import BuildStatus

__all__ = [
    "MAX_GAP",
    "READ_CHUNK",
    "ReplayClock",
    "ReplayRequest",
    "check_speed",
    "decode_recording",
    "event_time",
    "model_of_recording",
    "replay",
]

# Idle stretches longer than this (in stream time) are shortened to it, so a replay of a build
# that waited minutes on a lock does not sit still for minutes.
MAX_GAP = 5.0
READ_CHUNK = 1024 * 1024  # a recording is decoded in pieces this big


@dataclass(frozen=True)
class ReplayRequest:
    """What the TUI's `run_replay_app(request)` receives: the recording and the pace."""

    name: str  # the file name, or "-" for stdin
    data: bytes
    speed: float = 1.0
    default_platform: str | None = None  # the platform of a stream that names none


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
    times = [t for v in event.vertexes for t in (v.started, v.completed) if t is not None]
    times += [s.timestamp for s in event.statuses if s.timestamp is not None]
    times += [log.timestamp for log in event.logs if log.timestamp is not None]
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


def not_a_recording(name: str, data: bytes, stats: DecoderStats) -> UserError | None:
    """The error for input that holds no BuildKit progress at all, else None."""
    if stats.objects:
        return None
    what = "it is empty" if not data.strip() else f"none in {len(data)} bytes"
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
    error = not_a_recording(name, data, decoder.stats)
    if error is not None:
        raise error
    return events, decoder.stats


def model_of_recording(name: str, data: bytes, default_platform: str | None = None) -> BuildModel:
    """A recording's whole build model, settled with its recorded outcome (no output)."""
    events, _ = decode_recording(name, data)
    model = BuildModel(default_platform=default_platform)
    for event in events:
        model.apply(event)
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

    Speed 0 streams the bytes straight through the session's decoder in big pieces (nothing
    waits, nothing is kept per event); otherwise each event is shown when its time comes."""
    check_speed(request.speed)
    if request.speed == 0:
        data = request.data
        stats = session.decoder.stats
        shown, session.progress = session.progress, False  # no lines before it is a stream
        for start in range(0, len(data), READ_CHUNK):
            session.feed(data[start : start + READ_CHUNK])
            if shown and not session.progress and stats.objects:
                session.progress = True
                session.printer.update()
        session.flush()
        error = not_a_recording(request.name, request.data, stats)
        if error is not None:
            raise error
    else:
        clock = ReplayClock(request.speed, now)
        events, stats = decode_recording(request.name, request.data)
        for event in events:
            wait = clock.delay(event)
            if wait > 0:
                sleep(wait)
            session.apply(event)
    _warn_damaged(request.name, stats)
    session.finish(outcome=session.model.recorded_outcome())
    return session.model.status
