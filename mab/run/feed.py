"""Where a run's bytes come from. A `Feed` hands every chunk of a rawjson progress stream to a
callback until the build (or the recording) ends, and can be cancelled; `LiveFeed` runs
`docker buildx build` through the engine's `BuildRunner`. Tests plug in fakes of the same shape;
the TUI's replay source is one too."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mab.engine.docker import BuildRunner, StdoutMode

__all__ = ["ChunkSink", "Feed", "FeedEnd", "LiveFeed"]

ChunkSink = Callable[[bytes], None]


@dataclass(frozen=True, slots=True)
class FeedEnd:
    """How a feed ended. `exit_code` None: the feed cannot know (a recording), and the stream's
    own outcome decides. `duration`: the build's wall time, when the feed measured it."""

    exit_code: int | None
    canceled: bool = False
    duration: float | None = None


class Feed(Protocol):
    """One build's stream in progress."""

    async def run(self, on_chunk: ChunkSink) -> FeedEnd:
        """Feed every chunk of the progress stream to `on_chunk` until the build ends."""
        ...

    def cancel(self) -> None:
        """Ask the build to stop; any number of calls (a later one insists), from any thread."""
        ...

    def now(self) -> float | None:
        """The build's current time in seconds since the epoch; None: the latest time the
        stream itself showed (a replay as fast as possible)."""
        ...


class LiveFeed:
    """One `docker buildx build`; buildx's own stdout goes where `stdout` says (the TUI keeps
    it away from the terminal it draws on)."""

    def __init__(self, argv: list[str], *, stdout: StdoutMode = "inherit", stdin: bool = False):
        self.argv = argv
        self._stdout: StdoutMode = stdout
        self._stdin = stdin
        self._runner: BuildRunner | None = None
        self._canceled = False

    async def run(self, on_chunk: ChunkSink) -> FeedEnd:
        if self._canceled:
            return FeedEnd(None, canceled=True, duration=0.0)
        runner = BuildRunner(self.argv, on_chunk, stdout=self._stdout, stdin=self._stdin)
        self._runner = runner
        result = await runner.run()
        return FeedEnd(result.exit_code, result.canceled, result.duration)

    def cancel(self) -> None:
        self._canceled = True
        if self._runner is not None:
            self._runner.cancel()

    def now(self) -> float | None:
        return time.time()
