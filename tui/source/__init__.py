"""Where a build's bytes come from: a live `docker buildx build`, or a recorded stream.

The app only knows `BuildSource` (start a run, maybe without cache), which hands it a
`mab.run.session.BuildSession` over a feed (`mab.run.feed.Feed`). Tests plug in fakes with the
same shape.
"""

from mab.run.feed import ChunkSink, Feed, FeedEnd
from mab.tui.source.base import BuildSource
from mab.tui.source.live import LiveSource
from mab.tui.source.replayer import ReplaySource

__all__ = ["BuildSource", "ChunkSink", "Feed", "FeedEnd", "LiveSource", "ReplaySource"]
