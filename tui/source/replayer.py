"""A recorded rawjson stream played back, with its original timing scaled by `speed`.

`speed` 0 plays as fast as possible, in 64 KiB chunks, giving the event loop a turn between
chunks so the view keeps drawing. Otherwise the recording is cut before each top-level object
and each piece is delivered when `mab.progress.replay.ReplayClock` says it is due. The
outcome is not decided here: the run's model reads it from the stream, as every view does.
`hold_at` stops after that many objects and waits until cancelled: a fixed point for tests and
snapshots.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from mab.errors import EXIT_INTERRUPTED
from mab.progress.decoder import StreamDecoder
from mab.progress.replay import ReplayClock, event_time
from mab.run.feed import ChunkSink, FeedEnd
from mab.run.options import RunOptions
from mab.run.session import BuildSession

CHUNK = 64 * 1024
_OBJECT_START = re.compile(rb"(?m)^\{")


def split_objects(data: bytes) -> list[bytes]:
    """The stream cut before each top-level object (text lines stay with the one before)."""
    starts = [m.start() for m in _OBJECT_START.finditer(data)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    ends = [*starts[1:], len(data)]
    return [data[a:b] for a, b in zip(starts, ends, strict=True)]


class ReplayRun:
    def __init__(
        self, data: bytes, speed: float, hold_at: int | None, default_platform: str | None = None
    ) -> None:
        self.data = data
        self.default_platform = default_platform  # for a stream that names no platform
        self.speed = speed
        self.hold_at = hold_at
        self._canceled = asyncio.Event()
        self.holding = False  # stopped at `hold_at`, waiting to be cancelled
        self._shown: tuple[float, float] | None = None  # (stream time, monotonic) last fed
        self._next: float | None = None  # stream time of the next piece

    def cancel(self) -> None:
        self._canceled.set()

    def now(self) -> float | None:
        """Stream time: what was shown last plus the time since, never past the next piece."""
        if self._shown is None or self.speed <= 0:
            return None
        stream_t, fed_at = self._shown
        t = stream_t + (time.monotonic() - fed_at) * self.speed
        return min(t, self._next) if self._next is not None else t

    async def run(self, on_chunk: ChunkSink) -> FeedEnd:
        if self.speed <= 0 and self.hold_at is None:
            await self._fast(on_chunk)
        else:
            await self._paced(on_chunk)
        if self.hold_at is not None and not self._canceled.is_set():
            self.holding = True
            await self._canceled.wait()
            self.holding = False
        if self._canceled.is_set():
            return FeedEnd(EXIT_INTERRUPTED, canceled=True)
        return FeedEnd(None)  # the outcome is the recording's: `recorded_outcome()`

    async def _fast(self, on_chunk: ChunkSink) -> None:
        data = memoryview(self.data)
        for start in range(0, len(data), CHUNK):
            if self._canceled.is_set():
                return
            on_chunk(bytes(data[start : start + CHUNK]))
            await asyncio.sleep(0)

    async def _paced(self, on_chunk: ChunkSink) -> None:
        pieces = split_objects(self.data)
        if self.hold_at is not None:
            pieces = pieces[: self.hold_at]
        clock = ReplayClock(max(self.speed, 0.0))
        decoder = StreamDecoder()
        for piece in pieces:
            if self._canceled.is_set():
                return
            events = decoder.feed(piece)
            waits = [clock.delay(e) for e in events]
            times = [t for e in events if (t := event_time(e)) is not None]
            self._next = max(times) if times else self._next
            wait = max(waits, default=0.0)
            if wait > 0.002:
                try:
                    await asyncio.wait_for(self._canceled.wait(), wait)
                    return
                except TimeoutError:
                    pass
            on_chunk(piece)
            if times:
                self._shown = (max(times), time.monotonic())
            if self.speed <= 0:
                await asyncio.sleep(0)


class ReplaySource:
    """Replays one recording each run (a rerun plays it again; `--no-cache` cannot apply)."""

    def __init__(
        self,
        name: str,
        data: bytes,
        speed: float = 1.0,
        *,
        hold_at: int | None = None,
        default_platform: str | None = None,
    ) -> None:
        self.name = name
        self.data = data
        self.speed = speed
        self.hold_at = hold_at
        self.default_platform = default_platform

    @classmethod
    def from_path(
        cls, path: Path, speed: float = 1.0, *, hold_at: int | None = None
    ) -> ReplaySource:
        return cls(path.name, path.read_bytes(), speed, hold_at=hold_at)

    @property
    def title(self) -> str:
        pace = "" if self.speed in (0, 1) else f" at {self.speed:g}x"
        return f"replay of {Path(self.name).name}{pace}"

    @property
    def builder(self) -> str:
        return ""  # a recording names no builder

    @property
    def options(self) -> RunOptions:
        return RunOptions(default_platform=self.default_platform)

    @property
    def supports_no_cache(self) -> bool:
        return False

    def start(self, *, no_cache: bool = False) -> BuildSession:
        run = ReplayRun(self.data, self.speed, self.hold_at, self.default_platform)
        return BuildSession(self.options, run)
