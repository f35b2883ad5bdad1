"""Where a build's bytes come from: a live `docker buildx build`, or a recorded stream.

The app only knows `BuildSource` (start a run, maybe without cache) and `BuildRun` (feed its
bytes to a callback until it ends, cancel it). Tests plug in fakes with the same shape.
"""

from mab.tui.source.base import BuildRun, BuildSource, ChunkSink, RunOutcome
from mab.tui.source.live import LiveSource
from mab.tui.source.replayer import ReplaySource

__all__ = [
    "BuildRun",
    "BuildSource",
    "ChunkSink",
    "LiveSource",
    "ReplaySource",
    "RunOutcome",
]
