"""mab's terminal UI: the live view of `mab build` and `mab replay`.

Imported lazily by the CLI, only when stdout is a terminal, through `ENTRY` (typed by
`mab.progress.session.TuiEntry`). Both entry points return the exit code of the last run shown
(130 when it was cancelled or the app was quit while it ran).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mab.errors import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from mab.engine.buildcmd import BuildRequest
    from mab.progress.entry import HistoryStart, TuiEntry
    from mab.progress.replay import ReplayRequest

__all__ = ["ENTRY", "run_build_app", "run_replay_app"]


def run_build_app(
    request: BuildRequest,
    record: str | None = None,
    history: HistoryStart | None = None,
    image: str | None = None,
) -> int:
    """Run `request` live in the app; `r` reruns it, `R` without cache. With `record`, the
    raw progress stream of the last run is saved there for `mab replay`. `history(request,
    notice)` starts a run's build history (`mab.history.session.BuildHistory`); `image` is
    whose history the `h` screen shows."""
    from mab.tui.app import MabApp
    from mab.tui.source import LiveSource

    path = Path(record) if record else None
    source = LiveSource(request, record=path, history=history, image=image)
    code = MabApp(source).run()
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

    def run_build_app(
        self,
        request: BuildRequest,
        record: str | None = None,
        history: HistoryStart | None = None,
        image: str | None = None,
    ) -> int:
        return run_build_app(request, record, history, image)

    def run_replay_app(self, request: ReplayRequest) -> int:
        return run_replay_app(request)


ENTRY: TuiEntry = _Entry()
