"""A fake build runner: replays a recording piece by piece with a small delay, can stop at a
point until released or cancelled, and records how it was started."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mab.engine.buildcmd import BuildRequest
from mab.run.options import RunOptions
from mab.run.session import BuildSession
from mab.tui.source import ChunkSink, FeedEnd
from mab.tui.source.replayer import split_objects

STREAMS = Path(__file__).resolve().parent.parent / "fixtures" / "streams"


def stream(name: str) -> bytes:
    return (STREAMS / f"{name}.rawjson").read_bytes()


class FakeRun:
    def __init__(self, data: bytes, *, delay: float, pause_at: int | None, exit_code: int) -> None:
        self.pieces = split_objects(data)
        self.delay = delay
        self.pause_at = pause_at
        self.exit_code = exit_code
        self.fed = 0
        self.paused = False
        self.canceled = False
        self.release = asyncio.Event()
        self._stop = asyncio.Event()

    async def run(self, on_chunk: ChunkSink) -> FeedEnd:
        for index, piece in enumerate(self.pieces):
            if index == self.pause_at:
                self.paused = True
                stop = asyncio.ensure_future(self._stop.wait())
                go = asyncio.ensure_future(self.release.wait())
                await asyncio.wait([stop, go], return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                go.cancel()
                self.paused = False
            if self.canceled:
                return FeedEnd(130, canceled=True)
            on_chunk(piece)
            self.fed += 1
            await asyncio.sleep(self.delay)
        return FeedEnd(self.exit_code)

    def cancel(self) -> None:
        self.canceled = True
        self._stop.set()

    def now(self) -> float | None:
        return None


class FakeSource:
    """Starts `FakeRun`s over one recording; `starts` lists each run's `no_cache`."""

    def __init__(
        self,
        data: bytes,
        *,
        delay: float = 0.0005,
        pause_at: int | None = None,
        exit_code: int = 0,
        platforms: tuple[str, ...] = (),
        recordings: list[bytes] | None = None,
        title: str = "localhost:5000/ref/app:dev",
        options: RunOptions | None = None,
    ) -> None:
        self.data = data
        self._title = title
        self.delay = delay
        self.pause_at = pause_at
        self.exit_code = exit_code
        self._platforms = platforms
        self._options = options
        self.recordings = recordings or []
        self.starts: list[bool] = []
        self.runs: list[FakeRun] = []

    @property
    def title(self) -> str:
        return self._title

    @property
    def builder(self) -> str:
        return "fake builder"

    @property
    def options(self) -> RunOptions:
        if self._options is not None:
            return self._options
        return RunOptions(request=BuildRequest(platforms=self._platforms))

    @property
    def supports_no_cache(self) -> bool:
        return True

    def start(self, *, no_cache: bool = False) -> BuildSession:
        data = self.recordings[len(self.runs)] if len(self.runs) < len(self.recordings) else None
        run = FakeRun(
            data or self.data, delay=self.delay, pause_at=self.pause_at, exit_code=self.exit_code
        )
        self.starts.append(no_cache)
        self.runs.append(run)
        return BuildSession(self.options, run)
