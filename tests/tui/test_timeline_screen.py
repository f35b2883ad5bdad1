"""The timeline screen (`t`): the same lanes as the report at terminal resolution, a character
per state so it reads without colour, opened and closed by key, and its 80x24 snapshot."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from mab.progress.model import BuildModel
from mab.progress.replay import model_of_recording
from mab.progress.timeline import timeline_of
from mab.tui.app import MabApp
from mab.tui.screens.timeline import CHARS, TimelineScreen, timeline_lines
from tests.tui.fakes import STREAMS
from tests.tui.helpers import wait_finished
from tests.tui.test_snapshots import replay_app, settle


def model(name: str) -> BuildModel:
    return model_of_recording(name, (STREAMS / f"{name}.rawjson").read_bytes(), "linux/amd64")


def plain(name: str, width: int = 80) -> list[str]:
    console = Console(width=width, no_color=True, record=True)
    for line in timeline_lines(timeline_of(model(name)), width - 1):
        console.print(line)
    return console.export_text().splitlines()


def test_each_platform_has_its_lanes_and_longest_step() -> None:
    text = plain("cold-multi")
    heads = [line for line in text if line.startswith(("linux/", "build-wide"))]
    assert [h.split()[0] for h in heads] == ["linux/amd64", "linux/arm64", "build-wide"]
    timeline = timeline_of(model("cold-multi"))
    lanes = [line for line in text if line[:4].strip().isdigit()]
    assert len(lanes) == sum(t.lanes for t in timeline.tracks)
    assert all(len(line) <= 79 for line in text)
    longest = [line for line in text if "longest:" in line]
    assert len(longest) == 3 and "deps 2/2 RUN" in longest[1]


def test_states_read_without_colour() -> None:
    failed = "\n".join(plain("fail"))
    assert "X" in failed and CHARS["cached"] in failed  # type: ignore[index]
    canceled = "\n".join(plain("cancel"))
    assert "/" in canceled


def shown_model(app: MabApp) -> BuildModel | None:
    return app.state.model if app.state is not None else None


async def test_the_screen_follows_the_build_and_escape_closes_it() -> None:
    app = replay_app("warm-multi", None)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_finished(pilot, app)
        app.push_screen(TimelineScreen(lambda: shown_model(app)))
        await pilot.pause()
        assert isinstance(app.screen, TimelineScreen)
        drawn = str(app.screen.query_one("#timeline-lines", Static).render())
        assert "linux/amd64" in drawn and "linux/arm64" in drawn and "longest:" in drawn
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TimelineScreen)


def test_timeline_at_80x24(snap_compare: Any) -> None:
    async def open_timeline(pilot: Pilot[int]) -> None:
        await settle(pilot)
        app = pilot.app
        assert isinstance(app, MabApp)
        app.push_screen(TimelineScreen(lambda: shown_model(app)))
        await pilot.pause()

    app: MabApp = replay_app("cold-multi", None)
    assert snap_compare(app, run_before=open_timeline, terminal_size=(80, 24))
