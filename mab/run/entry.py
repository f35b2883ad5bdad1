"""The typed door to the TUI: what `mab.tui.ENTRY` offers the commands, which import the TUI
only when a terminal is there to show it (so no import contract sees the call otherwise)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mab.progress.replay import ReplayRequest
from mab.run.options import RunOptions

__all__ = ["TuiEntry"]


@runtime_checkable
class TuiEntry(Protocol):
    """Both return mab's exit code (130 when the app was quit while a run went on)."""

    def run_build_app(self, options: RunOptions) -> int: ...

    def run_replay_app(self, request: ReplayRequest) -> int: ...
