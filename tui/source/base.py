"""The source abstraction the app runs builds through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

ChunkSink = Callable[[bytes], None]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended. `exit_code` None: the source cannot know (a recording); the app infers
    it from what the stream showed. `error`: a message for the user (no traceback)."""

    exit_code: int | None
    canceled: bool = False
    error: str = ""


class BuildRun(Protocol):
    """One build in progress."""

    async def run(self, on_chunk: ChunkSink) -> RunOutcome:
        """Feed every chunk of the progress stream to `on_chunk` until the build ends."""
        ...

    def cancel(self) -> None:
        """Ask the build to stop; any number of calls, from the UI thread."""
        ...

    def now(self) -> float | None:
        """The build's current time in seconds since the epoch; None: the latest time the
        stream itself showed (a replay as fast as possible)."""
        ...


class BuildSource(Protocol):
    """Starts runs of one build, the same arguments each time."""

    @property
    def title(self) -> str:
        """The image or target being built, for the header."""
        ...

    @property
    def builder(self) -> str: ...

    @property
    def platforms(self) -> tuple[str, ...]:
        """The requested platforms, in order (may be empty: the builder's default)."""
        ...

    @property
    def supports_no_cache(self) -> bool: ...

    def start(self, *, no_cache: bool = False) -> BuildRun: ...
