"""The source abstraction the app runs builds through: each run is a `mab.run.BuildSession`
over a feed (a live buildx, a recording, a test's fake)."""

from __future__ import annotations

from typing import Protocol

from mab.run.options import RunOptions
from mab.run.session import BuildSession


class BuildSource(Protocol):
    """Starts runs of one build, the same options each time."""

    @property
    def title(self) -> str:
        """The image or target being built, for the header."""
        ...

    @property
    def builder(self) -> str: ...

    @property
    def options(self) -> RunOptions:
        """What every run does (its history path is what `h` reads)."""
        ...

    @property
    def supports_no_cache(self) -> bool: ...

    def start(self, *, no_cache: bool = False) -> BuildSession: ...
