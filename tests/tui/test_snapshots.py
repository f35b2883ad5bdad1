"""SVG snapshots of the app, replay-driven (no engine): recordings replayed as fast as possible
to a fixed point, with spinners frozen and the clock taken from the stream itself."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from mab.history.store import HistoryStore
from mab.run.options import HistoryOptions, RunOptions
from mab.tui.app import MabApp
from mab.tui.source import ReplaySource
from mab.tui.source.replayer import ReplayRun
from mab.tui.widgets import BuildHeader
from tests.tui.fakes import STREAMS, FakeSource, stream
from tests.tui.helpers import wait_until
from tests.tui.test_history_screen import record

# name: (recording, objects to replay before holding; None: to the end)
CASES = {
    "in-progress": ("cold-multi", 95),  # amd64 done, arm64 still in its emulated install
    "mostly-cached": ("warm-multi", None),
    "failed": ("fail", None),
    "canceled": ("cancel", None),
    "single-platform": ("single", None),
    "cross-compile": ("cross", None),  # a step keeps its row in both columns
    "parse-error": ("parse-error", None),  # file, line and message where the steps would be
    "export-refused": ("export-refused", None),  # the 401 in the summary, not a silent success
}
SIZES = [(80, 24), (160, 48)]


def replay_app(recording: str, hold_at: int | None) -> MabApp:
    source = ReplaySource.from_path(STREAMS / f"{recording}.rawjson", 0, hold_at=hold_at)
    return MabApp(source, animate=False)


async def settle(pilot: Pilot[int]) -> None:
    app = pilot.app
    assert isinstance(app, MabApp)

    def settled() -> bool:
        state = app.state
        if state is None:
            return False
        run = state.run
        return not state.running or (isinstance(run, ReplayRun) and run.holding)

    await wait_until(pilot, settled, "the replay to reach its fixed point")
    app.redraw(force=True)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("case", list(CASES))
def test_snapshot(snap_compare: Any, case: str, size: tuple[int, int]) -> None:
    recording, hold_at = CASES[case]
    assert snap_compare(replay_app(recording, hold_at), run_before=settle, terminal_size=size)


def test_help_at_80x24(snap_compare: Any) -> None:
    async def open_help(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    app = replay_app("warm-multi", None)
    assert snap_compare(app, run_before=open_help, terminal_size=(80, 24))


def test_no_cache_confirmation_at_80x24(snap_compare: Any) -> None:
    async def ask(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await pilot.press("R")
        await pilot.pause()

    app = MabApp(FakeSource(stream("warm-multi")), animate=False)
    assert snap_compare(app, run_before=ask, terminal_size=(80, 24))


def test_a_log_with_escape_codes_at_80x24(snap_compare: Any) -> None:
    """A RUN that printed a clear screen, colours, cursor moves, a title, a bell: colours
    shown, the rest dropped; the UI and the details pane's border stay in place."""

    async def select_the_run(pilot: Pilot[int]) -> None:
        await settle(pilot)
        app = pilot.app
        assert isinstance(app, MabApp) and app.state is not None
        run = next(v for v in app.state.model.steps() if v.instruction.startswith("RUN"))
        app.select_step(run)
        await pilot.pause()

    app = replay_app("ansi", None)
    assert snap_compare(app, run_before=select_the_run, terminal_size=(80, 24))


def test_log_view_at_80x24(snap_compare: Any) -> None:
    async def open_log(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await pilot.press("l")
        await pilot.pause()

    app = replay_app("fail", None)
    assert snap_compare(app, run_before=open_log, terminal_size=(80, 24))


def test_long_image_name_keeps_the_status_at_80x24(snap_compare: Any) -> None:
    title = (
        "registry.example.com/platform-team/services/payments-gateway-reconciler:2026.11.30-rc.7"
    )
    app = MabApp(FakeSource(stream("fail"), exit_code=1, title=title), animate=False)
    assert snap_compare(app, run_before=settle, terminal_size=(80, 24))


def test_quit_during_a_build_asks_at_80x24(snap_compare: Any) -> None:
    async def ask(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()

    assert snap_compare(replay_app("cold-multi", 95), run_before=ask, terminal_size=(80, 24))


def test_log_view_with_colours_at_80x24(snap_compare: Any) -> None:
    """The full log of the RUN that wrote control sequences: its colours shown (the red `X`,
    green `Compiling`), the clear screen, cursor moves, title and bell gone."""

    async def open_log(pilot: Pilot[int]) -> None:
        await settle(pilot)
        app = pilot.app
        assert isinstance(app, MabApp) and app.state is not None
        run = next(v for v in app.state.model.steps() if v.instruction.startswith("RUN"))
        app.select_step(run)
        await pilot.press("l")
        await pilot.pause()

    assert snap_compare(replay_app("ansi", None), run_before=open_log, terminal_size=(80, 24))


class EmulatedReplay(ReplaySource):
    """A replay whose options say the builder emulates arm64 (as `mab build` finds it)."""

    @property
    def options(self) -> RunOptions:
        return replace(super().options, emulated=("linux/arm64",))


def test_an_emulated_platform_still_running_is_labelled_and_behind_at_80x24(
    snap_compare: Any,
) -> None:
    """amd64 is done, arm64 still in its emulated install (11.7s so far; amd64 took 11.1s):
    the running step counts the time it has taken, so arm64 is the slower one (it was amd64,
    "1.1x slower", when running steps were left out), and arm64 is labelled emulated."""

    async def check(pilot: Pilot[int]) -> None:
        await settle(pilot)
        app = pilot.app
        assert isinstance(app, MabApp)
        header = app.query_one(BuildHeader).info
        assert header is not None
        arm = next(p for p in header.platforms if p.name == "linux/arm64")
        amd = next(p for p in header.platforms if p.name == "linux/amd64")
        assert arm.emulated and not amd.emulated
        assert arm.slowdown is not None and amd.slowdown is not None
        assert arm.slowdown > amd.slowdown == 1.0

    source = EmulatedReplay.from_path(STREAMS / "cold-multi.rawjson", 0, hold_at=95)
    app = MabApp(source, animate=False)
    assert snap_compare(app, run_before=check, terminal_size=(80, 24))


def test_h_with_a_history_path_at_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """`--history PATH`: `h` shows PATH's builds of this image."""
    chosen = tmp_path / "chosen.db"
    with HistoryStore.open(chosen) as store:
        for n, cached in enumerate((0, 2, 4)):
            store.add(record(f"u{n}", float(n), cached))
    options = RunOptions(history=HistoryOptions(path=str(chosen), image="app"), image="app")

    async def open_history(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await pilot.press("h")
        await pilot.pause()

    app = MabApp(FakeSource(stream("warm-multi"), options=options), animate=False)
    assert snap_compare(app, run_before=open_history, terminal_size=(80, 24))
