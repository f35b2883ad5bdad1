"""mab's terminal UI: the live view of `mab build` and `mab replay`.

Imported lazily by the CLI, only when stdout is a terminal. Both entry points return the exit
code of the last run shown (130 when it was cancelled or the app was quit while it ran).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mab.errors import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from mab.commands.replay import ReplayRequest
    from mab.engine.buildcmd import BuildRequest
    from mab.tui.source.live import HistoryStart

__all__ = ["run_build_app", "run_replay_app"]


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

    source = ReplaySource(request.name, request.data, request.speed)
    code = MabApp(source).run()
    return EXIT_INTERRUPTED if code is None else code
