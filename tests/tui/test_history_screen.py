"""The history screen (`h`) and the details pane's cause of a miss."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from mab.history.record import BuildRecord, StepRecord
from mab.history.store import HistoryStore
from mab.history.why import Why
from mab.progress.model import StepState
from mab.run.display import Display
from mab.run.options import HistoryOptions, RunOptions
from mab.run.result import BuildResult
from mab.run.session import BuildSession
from mab.tui.app import MabApp
from mab.tui.screens.history import HistoryScreen, sparkline, trends
from mab.tui.widgets import StepDetails
from tests.tui.fakes import FakeSource, stream
from tests.tui.helpers import wait_finished


def test_sparklines_scale_to_the_top_and_leave_gaps() -> None:
    assert sparkline([0.0, 0.5, 1.0], 1.0) == "▁▅█"
    assert sparkline([2.0, None, 4.0]) == "▅ █"
    assert sparkline([]) == ""


def record(uid: str, at: float, cached: int) -> BuildRecord:
    steps = tuple(
        StepRecord(p, "s", i, 4, f"RUN {i}", "cached" if i <= cached else "ran", float(i))
        for p in ("linux/amd64", "linux/arm64")
        for i in (1, 2, 3, 4)
    )
    return BuildRecord(uid, at, 5.0, "succeeded", "app", ("linux/amd64", "linux/arm64"), steps)


def test_trends_go_oldest_first_per_platform(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.db") as store:
        for n, cached in enumerate((0, 2, 4)):
            store.add(record(f"u{n}", float(n), cached))
        text = trends(store.builds(image="app")).plain
    assert "linux/amd64" in text and "linux/arm64" in text
    assert "hit ratio  ▁▅█  100%" in text  # 0%, 50%, 100% of the four steps


WHYS = {"linux/arm64": {"src#1": Why("sources_changed", "src/main.sh changed")}}


class _ExplainedSession(BuildSession):
    """A run whose result carries a cause for one miss, as the history would have given it
    (the details pane only reads the result's causes; the history is tested on its own)."""

    async def run(self, display: Display) -> BuildResult:
        result = await super().run(display)
        return replace(result, whys=WHYS)


async def test_a_missed_step_shows_why_and_h_opens_the_trends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAB_HISTORY", str(tmp_path / "h.db"))
    with HistoryStore.open(tmp_path / "h.db") as store:
        store.add(record("u1", 1.0, 2))
    source = FakeSource(stream("cold-multi"))
    start = source.start

    def explained(**options: Any) -> BuildSession:
        session = start(**options)
        return _ExplainedSession(session.options, session.feed)

    source.start = explained  # type: ignore[method-assign]
    app = MabApp(source, animate=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_finished(pilot, app)
        step = next(
            v
            for v in app.state.model.steps()  # type: ignore[union-attr]
            if v.stage == "src" and v.index == 1 and "linux/arm64" in v.platforms
        )
        assert step.state is StepState.DONE
        app.select_step(step)
        await pilot.pause()
        shown = app.query_one(StepDetails).render().plain
        assert "why: sources changed: src/main.sh changed" in shown
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen)


async def test_h_reads_the_history_the_build_records_into(tmp_path: Path) -> None:
    """`mab build --history PATH`: the `h` screen reads PATH, not the default database."""
    chosen = tmp_path / "chosen.db"
    with HistoryStore.open(chosen) as store:
        for n, cached in enumerate((0, 4)):
            store.add(record(f"u{n}", float(n), cached))
    options = RunOptions(history=HistoryOptions(path=str(chosen), image="app"), image="app")
    app = MabApp(FakeSource(stream("warm-multi"), options=options), animate=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_finished(pilot, app)
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        shown = str(app.screen.query_one("#history", Static).render())
    assert "Build history: app" in shown
    assert "hit ratio  ▁█  100%" in shown  # the two builds of PATH, oldest first
