"""The typed door to the TUI: what `mab.tui.ENTRY` offers the commands, which import the TUI
only when a terminal is there to show it (so no import contract sees the call otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from mab.engine.buildcmd import BuildRequest
from mab.progress.replay import ReplayRequest

__all__ = ["HistoryStart", "TuiEntry"]

# Starts the build history of one run (given where its notices go): a
# `mab.history.session.BuildHistory`, which this layer does not know.
HistoryStart = Callable[[BuildRequest, Callable[[str], None]], Any]


@runtime_checkable
class TuiEntry(Protocol):
    """Both return mab's exit code (130 when the app was quit while a run went on)."""

    def run_build_app(
        self,
        request: BuildRequest,
        record: str | None = None,
        history: HistoryStart | None = None,
        image: str | None = None,
    ) -> int: ...

    def run_replay_app(self, request: ReplayRequest) -> int: ...
