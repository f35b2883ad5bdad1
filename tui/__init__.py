"""mab's terminal UI: the live view of `mab build` and `mab replay`.

Imported lazily by the CLI, only when stdout is a terminal, through `ENTRY` (typed by
`mab.run.entry.TuiEntry`). Both entry points return the exit code of the last run shown
(130 when it was cancelled or the app was quit while it ran).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mab.errors import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from mab.progress.replay import ReplayRequest
    from mab.run.entry import TuiEntry
    from mab.run.options import RunOptions

__all__ = ["ENTRY", "run_build_app", "run_replay_app"]


def run_build_app(options: RunOptions) -> int:
    """Run `options` live in the app; `r` reruns it, `R` without cache. Each run is a
    `mab.run` session: recorded, verified, explained and stored as `options` say, as in every
    other display; `h` shows the history it records into."""
    from mab.tui.app import MabApp
    from mab.tui.source import LiveSource

    code = MabApp(LiveSource(options), export_dir=options.export_dir).run()
    return EXIT_INTERRUPTED if code is None else code


def run_replay_app(request: ReplayRequest) -> int:
    """Replay a recording in the app at `request.speed` (0: as fast as possible)."""
    from mab.tui.app import MabApp
    from mab.tui.source import ReplaySource

    source = ReplaySource(
        request.name, request.data, request.speed, default_platform=request.default_platform
    )
    code = MabApp(source).run()
    return EXIT_INTERRUPTED if code is None else code


class _Entry:
    """The app's two doors, as the commands see them."""

    def run_build_app(self, options: RunOptions) -> int:
        return run_build_app(options)

    def run_replay_app(self, request: ReplayRequest) -> int:
        return run_replay_app(request)


ENTRY: TuiEntry = _Entry()
