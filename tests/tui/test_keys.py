"""Every key binding, and rerun/cancel, driven by Pilot against a fake runner that replays a
recording with delays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from mab.progress.model import BuildStatus, StepState
from mab.tui.app import MabApp
from mab.tui.screens import ConfirmScreen, HelpScreen, LogScreen
from mab.tui.source import ReplaySource
from mab.tui.widgets import PlatformColumns, StepDetails, StepList
from mab.tui.widgets.log_pane import LogPane
from tests.tui.fakes import STREAMS, FakeSource, stream
from tests.tui.helpers import wait_finished, wait_until

SIZE = (120, 40)


def app_for(source: FakeSource, tmp_path: Path | None = None) -> MabApp:
    return MabApp(source, animate=False, export_dir=tmp_path)


def paused(at: int, **kwargs: Any) -> tuple[FakeSource, MabApp]:
    """An app whose first build stops after `at` pieces, until released or cancelled."""
    source = FakeSource(stream("cold-multi"), pause_at=at, **kwargs)
    return source, app_for(source)


async def at_pause(pilot: Pilot[int], source: FakeSource, run: int = 0) -> None:
    await wait_until(
        pilot, lambda: len(source.runs) > run and source.runs[run].paused, "the pause point"
    )


async def test_build_runs_to_the_end_and_shows_every_platform() -> None:
    source = FakeSource(stream("cold-multi"))
    app = app_for(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        assert app.state is not None
        assert app.state.model.status is BuildStatus.SUCCEEDED
        columns = app.query_one(PlatformColumns)
        assert sorted(columns.lists) == ["linux/amd64", "linux/arm64"]
        assert all(len(s.keys) >= 8 for s in columns.lists.values())


async def test_r_reruns_with_the_same_arguments_and_compares_with_the_previous_run() -> None:
    source = FakeSource(
        stream("cold-multi"), recordings=[stream("cold-multi"), stream("warm-multi")]
    )
    app = app_for(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        await pilot.press("r")
        await wait_finished(pilot, app, runs=2)
        assert source.starts == [False, False]
        assert app.previous is not None and app.previous.number == 1
        header = app.query_one("#header").info  # type: ignore[attr-defined]
        changes = [p.change for p in header.platforms]
        assert all(c is not None and c.hit_points is not None and c.hit_points > 0 for c in changes)
        assert "pp" in str(app.query_one("#header").render())
        assert any("0% -> 100%" in n.message for n in app._notifications)
        await pilot.press("down")  # the new run's lists took the focus
        await pilot.pause()
        assert app.selected is not None


async def test_r_while_running_does_not_start_a_second_build() -> None:
    source, app = paused(40)
    async with app.run_test(size=SIZE) as pilot:
        await at_pause(pilot, source)
        await pilot.press("r")
        await pilot.pause()
        assert len(source.starts) == 1
        source.runs[0].release.set()
        await wait_finished(pilot, app)


@pytest.mark.parametrize(("answer", "starts"), [("y", [False, True]), ("n", [False])])
async def test_capital_r_asks_then_reruns_without_cache(answer: str, starts: list[bool]) -> None:
    source = FakeSource(stream("warm-multi"))
    app = app_for(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(answer)
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        if answer == "y":
            await wait_finished(pilot, app, runs=2)
            assert app.state is not None and app.state.no_cache
        assert source.starts == starts


async def test_c_cancels_the_running_build_cleanly() -> None:
    source, app = paused(60, exit_code=1)
    async with app.run_test(size=SIZE) as pilot:
        await at_pause(pilot, source)
        await pilot.press("c")
        await wait_finished(pilot, app)
        assert source.runs[0].canceled
        assert app.state is not None
        assert app.state.model.status is BuildStatus.CANCELED
        states = {v.state for v in app.state.model.steps()}
        assert StepState.RUNNING not in states
        assert app.is_running  # cancelling does not quit
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 130  # the exit code of a cancelled build


def offered(app: MabApp) -> set[str]:
    """The keys the footer shows now."""
    return {b.binding.key for b in app.active_bindings.values() if b.binding.show and b.enabled}


async def test_the_footer_offers_cancel_only_while_a_build_runs() -> None:
    source, app = paused(60)
    async with app.run_test(size=SIZE) as pilot:
        await at_pause(pilot, source)
        assert {"c", "R"} <= offered(app)
        source.runs[0].release.set()
        await wait_finished(pilot, app)
        assert "c" not in offered(app) and "R" in offered(app)
        await pilot.press("c")  # not offered: nothing happens, no notice either
        await pilot.pause()
        assert not app._notifications


async def test_a_replay_does_not_offer_a_rerun_without_the_cache() -> None:
    app = MabApp(ReplaySource.from_path(STREAMS / "cold-multi.rawjson", 0), animate=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        assert "R" not in offered(app) and "r" in offered(app)


async def test_ctrl_c_cancels_then_a_second_ctrl_c_quits() -> None:
    source, app = paused(60)
    async with app.run_test(size=SIZE) as pilot:
        await at_pause(pilot, source)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert source.runs[0].canceled
        assert app.is_running
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_value == 130


async def test_rerun_after_cancel_starts_again() -> None:
    source, app = paused(60)
    async with app.run_test(size=SIZE) as pilot:
        await at_pause(pilot, source)
        await pilot.press("c")
        await wait_finished(pilot, app)
        await pilot.press("r")
        await at_pause(pilot, source, run=1)
        source.runs[1].release.set()
        await wait_finished(pilot, app, runs=2)
        assert app.state is not None and app.state.model.status is BuildStatus.SUCCEEDED


async def test_p_cycles_the_platforms_shown() -> None:
    app = app_for(FakeSource(stream("warm-multi")))
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        columns = app.query_one(PlatformColumns)
        shown = []
        for _ in range(3):
            await pilot.press("p")
            await pilot.pause()
            shown.append([s.platform for s in columns.shown_lists()])
        first, second = columns.lists
        assert {first, second} == {"linux/amd64", "linux/arm64"}
        assert shown == [[first], [second], [first, second]]


async def test_l_opens_the_full_log_of_the_selected_step_and_searches_it() -> None:
    app = app_for(FakeSource(stream("fail"), exit_code=1))
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        failed = app.selected
        assert failed is not None
        await pilot.press("l")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LogScreen)
        assert screen.key == failed and not screen.all
        pane = screen.query_one(LogPane)
        text = [line.plain for line in pane.lines]
        assert "! FAIL: /app/vendor does not exist" in text  # stderr marked
        assert "  running 3 checks" in text
        await pilot.press("slash", *"vendor", "enter")
        await pilot.pause()
        assert len(pane.matches) == 3 and pane.current == pane.matches[0]
        await pilot.press("n")
        assert pane.current == pane.matches[1]
        await pilot.press("a")  # the whole build: every step's output, then buildx's
        await pilot.pause()
        whole = [line.plain for line in pane.lines]
        assert any(line.startswith("── buildx") for line in whole)
        assert any("ERROR: failed to solve" in line for line in whole)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LogScreen)
        assert app.query_one(StepDetails).display


async def test_the_log_view_follows_the_running_step_until_one_is_chosen() -> None:
    source, app = paused(60)
    async with app.run_test(size=SIZE) as pilot:
        await at_pause(pilot, source)
        assert app.selected is None
        await pilot.press("l")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LogScreen) and app.state is not None
        running = app.state.model.view(screen.key or "")
        assert running is not None and running.state is StepState.RUNNING
        source.runs[0].release.set()
        await wait_finished(pilot, app)
        screen.refresh_log(force=True)
        assert screen.follow is not None  # still following what the details pane shows
        await pilot.press("right")
        assert screen.follow is None and screen.key is not None


async def test_e_exports_the_summary_as_json_and_markdown(tmp_path: Path) -> None:
    app = app_for(FakeSource(stream("warm-multi")), tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        await pilot.press("e")
        await pilot.press("e")
        await pilot.pause()
    names = sorted(p.name for p in tmp_path.iterdir())
    stem = "mab-summary-localhost-5000-ref-app-dev-run1"  # what was built, which run
    assert names == [f"{stem}-2.json", f"{stem}-2.md", f"{stem}.json", f"{stem}.md"]
    summary = json.loads((tmp_path / f"{stem}.json").read_text())
    assert summary["status"] == "succeeded"
    assert set(summary["platforms"]) == {"linux/amd64", "linux/arm64"}
    assert "| Platform |" in (tmp_path / f"{stem}.md").read_text()


async def test_e_exports_outside_the_build_context_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --export-dir, exports go to mab's state folder, never into the current one
    (usually the build context: the next build's `COPY . .` would miss)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = MabApp(FakeSource(stream("warm-multi")), animate=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        await pilot.press("e")
        await pilot.pause()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]
    exported = sorted((tmp_path / "state" / "mab" / "exports").iterdir())
    assert [p.suffix for p in exported] == [".json", ".md"]


async def test_e_into_an_unwritable_place_says_so_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    app = app_for(FakeSource(stream("warm-multi")), tmp_path / "a-file" / "exports")
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        await pilot.press("e")
        await pilot.pause()
        assert any("export failed" in n.message for n in app._notifications)
        assert app.is_running


async def test_question_mark_opens_help_and_escape_closes_it() -> None:
    app = app_for(FakeSource(stream("warm-multi")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_q_quits_with_the_build_exit_code() -> None:
    app = app_for(FakeSource(stream("warm-multi")))
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_q_on_a_failed_build_returns_its_exit_code() -> None:
    app = app_for(FakeSource(stream("fail"), exit_code=1))
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        await pilot.press("q")
    assert app.return_value == 1


async def test_q_while_running_asks_and_a_second_q_cancels_and_quits() -> None:
    source, app = paused(30)
    async with app.run_test(size=SIZE) as pilot:
        await at_pause(pilot, source)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)  # asked first, as R does
        assert not source.runs[0].canceled
        assert app.is_running
        await pilot.press("q")
        await pilot.pause()
    assert source.runs[0].canceled
    assert app.return_value == 130


async def test_q_while_running_then_no_keeps_the_build_going() -> None:
    source, app = paused(30)
    async with app.run_test(size=SIZE) as pilot:
        await at_pause(pilot, source)
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert not source.runs[0].canceled
        source.runs[0].release.set()
        await wait_finished(pilot, app)
        assert app.state is not None
        assert app.state.model.status is BuildStatus.SUCCEEDED
        await pilot.press("q")  # a finished build quits at once
        await pilot.pause()
    assert app.return_value == 0


async def test_a_failed_build_selects_the_failed_step() -> None:
    app = app_for(FakeSource(stream("fail"), exit_code=1))
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        details = app.query_one(StepDetails)
        assert details.detail is not None
        assert details.detail.step.state is StepState.ERROR
        assert details.detail.log.lines  # the last lines of its output
        focused = app.focused
        assert isinstance(focused, StepList)
        assert focused.selected_key == details.detail.step.key


async def test_clicking_a_step_selects_it() -> None:
    app = app_for(FakeSource(stream("warm-multi")))
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        step_list = next(iter(app.query_one(PlatformColumns).lists.values()))
        await pilot.click(step_list, offset=(5, 3))
        await pilot.pause()
        assert step_list.highlighted is not None
        key = step_list.keys[step_list.highlighted]
        assert app.selected == key
        details = app.query_one(StepDetails)
        assert details.detail is not None and details.detail.step.key == key


async def test_arrow_keys_move_the_selection() -> None:
    app = app_for(FakeSource(stream("warm-multi")))
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        step_list = next(iter(app.query_one(PlatformColumns).lists.values()))
        step_list.focus()
        await pilot.press("down", "down")
        await pilot.pause()
        assert app.selected == step_list.keys[1]
