"""The app when things go wrong or get busy: a failure leads with its exit code, a build that
never reached a step says why where the steps would be, quitting leaves the summary in the
terminal, rows line up across platforms, the slowdown and rerun comparisons are honest, and
messages and help cover nothing. Driven by Pilot over recorded streams (no engine)."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets._toast import ToastRack

from mab.errors import EnvironmentNotReady
from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel, StepState, StepView
from mab.tui.app import MabApp
from mab.tui.screens import ConfirmScreen, HelpScreen
from mab.tui.source import FeedEnd, ReplaySource
from mab.tui.stats import column_platforms, slowdowns
from mab.tui.widgets import (
    BuildHeader,
    HeaderInfo,
    PlatformColumns,
    PlatformLine,
    ProblemPanel,
    StepDetails,
    SummaryPanel,
)
from mab.tui.widgets.header import render_header
from mab.tui.widgets.notice import NoticeLine
from tests.tui.fakes import STREAMS, FakeSource, stream
from tests.tui.helpers import wait_finished, wait_until

SIZE = (80, 24)


def model_of(name: str) -> BuildModel:
    model = BuildModel()
    decoder = StreamDecoder()
    for event in [*decoder.feed(stream(name)), *decoder.close()]:
        model.apply(event)
    return model


def replay(name: str) -> MabApp:
    return MabApp(ReplaySource.from_path(STREAMS / f"{name}.rawjson", 0), animate=False)


def test_quitting_prints_the_plain_summary(capsys: pytest.CaptureFixture[str]) -> None:
    app = MabApp(FakeSource(stream("fail"), exit_code=1), animate=False)

    async def quit_when_done(pilot: Pilot[int]) -> None:
        await wait_finished(pilot, app)
        await pilot.press("q")

    code = app.run(headless=True, size=SIZE, auto_pilot=quit_when_done)
    assert code == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("mab: localhost:5000/ref/app:dev FAILED in ")
    assert out[1].split() == ["default", "hit", "67%", "cached", "2/3", "0.7s"]
    assert out[2].startswith("✗ exit code 1: 4/4 RUN set -e; echo")
    assert out[-1] == "  | FAIL: /app/vendor does not exist"
    assert all(len(line) <= 80 for line in out)


def test_quitting_a_running_build_prints_it_as_canceled(capsys: pytest.CaptureFixture[str]) -> None:
    source = FakeSource(stream("cold-multi"), pause_at=40)
    app = MabApp(source, animate=False)

    async def quit_while_running(pilot: Pilot[int]) -> None:
        await wait_until(pilot, lambda: bool(source.runs) and source.runs[0].paused, "pause")
        await pilot.press("q", "q")

    assert app.run(headless=True, size=SIZE, auto_pilot=quit_while_running) == 130
    out = capsys.readouterr().out
    assert "CANCELED in" in out.splitlines()[0]
    assert "linux/amd64" in out and "linux/arm64" in out


async def test_a_failed_step_leads_with_its_exit_code() -> None:
    app = replay("fail")
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        lines = app.query_one(StepDetails).render().plain.splitlines()
        assert lines[0].startswith("✗ exit code 1: 4/4 RUN set -e; echo")
        assert lines[1].startswith("ERROR 0.7s")
        assert lines[-1] == "! FAIL: /app/vendor does not exist"


async def test_a_parse_error_stays_where_the_steps_would_be() -> None:
    app = replay("parse-error")
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        await pilot.pause(0.2)
        panel = app.query_one(ProblemPanel)
        assert panel.display and not app.query_one(PlatformColumns).display
        assert panel.problem is not None
        assert (panel.problem.file, panel.problem.line) == ("Dockerfile.parse-error", 7)
        assert panel.problem.message == "unknown instruction: RUNN (did you mean RUN?)"
        assert '   7 | >>> RUNN echo "never built"' in panel.problem.excerpt
        assert panel.border_title == "dockerfile parse error"
        assert "No step ran" in app.query_one(StepDetails).render().plain
        await pilot.press("r")  # a rerun hides it until it fails again
        await wait_finished(pilot, app, runs=2)
        assert panel.display


async def test_a_cross_compiling_build_lines_up_its_columns() -> None:
    app = replay("cross")
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        amd64, arm64 = (s.views for s in app.query_one(PlatformColumns).lists.values())

        def row(view: StepView | None) -> tuple[str, int] | None:
            return (view.stage, view.index) if view is not None else None

        assert [row(v) for v in arm64] == [
            ("build", 1), ("build", 2), ("build", 3), ("build", 4),
            ("stage-1", 1), ("stage-1", 2), ("stage-1", 3),
        ]  # fmt: skip
        # amd64's final stage starts from the very image its build stage did: one vertex,
        # so a blank row where arm64 has its own FROM
        assert [row(v) for v in amd64] == [*map(row, arm64[:4]), None, *map(row, arm64[5:])]
        shared = [v for v in arm64 if v is not None and len(v.platforms) == 2]
        assert len(shared) == 3 and all(v in amd64 for v in shared)


async def test_a_run_and_its_rerun_list_steps_in_the_same_order() -> None:
    source = FakeSource(
        stream("cold-multi"), recordings=[stream("cold-multi"), stream("warm-multi")]
    )
    app = MabApp(source, animate=False)
    async with app.run_test(size=SIZE) as pilot:
        orders = []
        for run in (1, 2):
            if run == 2:
                await pilot.press("r")
            await wait_finished(pilot, app, runs=run)
            lists = app.query_one(PlatformColumns).lists.values()
            orders.append([[(v.stage, v.index) for v in s.views if v] for s in lists])
        assert orders[0] == orders[1]
        stages = list(dict.fromkeys(stage for stage, _ in orders[0][0]))
        assert stages == ["base", "deps", "src", "final"]  # the Dockerfile's order


def test_the_slowdown_counts_only_steps_every_platform_finished() -> None:
    canceled = model_of("cancel")  # arm64's emulated install was canceled midway
    slower = slowdowns(canceled.steps(), column_platforms(canceled))
    assert slower["linux/amd64"] == 1.0 and slower["linux/arm64"] > 1.0
    cold = model_of("cold-multi")
    slower = slowdowns(cold.steps(), column_platforms(cold))
    assert slower["linux/amd64"] == 1.0 and slower["linux/arm64"] > 2.0
    assert slowdowns(cold.steps(), ["linux/amd64"]) == {}


async def test_a_rerun_is_compared_with_the_run_before_only_once_it_ended() -> None:
    source = FakeSource(stream("warm-multi"), pause_at=40, recordings=[stream("warm-multi")])
    app = MabApp(source, animate=False)
    async with app.run_test(size=SIZE) as pilot:
        source.pause_at = None
        await wait_until(pilot, lambda: bool(source.runs) and source.runs[0].paused, "pause")
        source.runs[0].release.set()
        await wait_finished(pilot, app)
        source.pause_at = 40
        await pilot.press("r")
        await wait_until(pilot, lambda: len(source.runs) > 1 and source.runs[1].paused, "pause")
        app.redraw(force=True)
        info = app.query_one(BuildHeader).info
        assert info is not None and info.state == "running"
        assert all(p.change is None for p in info.platforms)  # no "(-1.0s)" against a run half done
        source.runs[1].release.set()
        await wait_finished(pilot, app, runs=2)
        info = app.query_one(BuildHeader).info
        assert info is not None and all(p.change is not None for p in info.platforms)


def test_the_status_leads_the_header_and_a_long_name_is_cut_instead() -> None:
    line = PlatformLine("linux/arm64", 3, 5, 0.6, 10.2, 2.04, None)
    info = HeaderInfo(
        "registry.example.com/" + "team/" * 20 + "app:1.0", "b", "failed", 3.0, 1, False, (line,)
    )
    text = render_header(info)
    top = text.plain.splitlines()[0]
    assert top.startswith(" FAILED ")
    assert "2.0x slower" in text.plain.splitlines()[1]
    fitted = Text(top)
    fitted.truncate(80, overflow="ellipsis")
    assert fitted.plain.startswith(" FAILED ")


async def test_messages_take_a_line_of_their_own_over_nothing() -> None:
    app = replay("warm-multi")
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        app.notify("summary exported", title="export")
        await pilot.pause()
        notice = app.query_one(NoticeLine)
        assert notice.display and notice.message == "summary exported"
        summary = app.query_one(SummaryPanel).region
        assert not notice.region.overlaps(summary)
        assert not app.query_one(PlatformColumns).region.overlaps(notice.region)
        assert all(not rack.display for rack in app.screen.query(ToastRack))


async def test_help_fits_80x24_without_scrolling() -> None:
    app = replay("warm-multi")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        text = screen.query_one("#help-text")
        box = screen.query_one("#help-box")
        lines = text.render().plain.splitlines()  # type: ignore[union-attr]
        assert text.size.height == len(lines)
        assert box.region.height <= 24
        assert all(len(line) <= text.size.width for line in lines)


async def test_q_during_a_build_asks_first_and_a_canceled_one_quits_at_once() -> None:
    source = FakeSource(stream("cold-multi"), pause_at=40)
    app = MabApp(source, animate=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: bool(source.runs) and source.runs[0].paused, "pause")
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and not source.runs[0].canceled
        await pilot.press("c")  # canceled already: q then quits without asking
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 130


async def test_a_build_that_could_not_start_says_why_where_the_steps_would_be() -> None:
    source = FakeSource(b"")
    app = MabApp(source, animate=False)

    async def no_docker(on_chunk: Any) -> FeedEnd:
        raise EnvironmentNotReady("docker was not found on PATH: install Docker")

    original = source.start

    def start(*, no_cache: bool = False) -> Any:
        session = original(no_cache=no_cache)
        session.feed.run = no_docker  # type: ignore[method-assign]
        return session

    source.start = start  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        panel = app.query_one(ProblemPanel)
        assert panel.display and panel.problem is not None
        assert panel.problem.message == "mab: error: docker was not found on PATH: install Docker"
        assert "failed before any step" in str(panel.render())


def _first_cut_with_a_running_step(data: bytes) -> int:
    """The end of the first whole object after which a Dockerfile step is running."""
    end = 0
    while (end := data.find(b"\n}\n", end) + 3) > 2:
        model = BuildModel()
        decoder = StreamDecoder()
        for event in [*decoder.feed(data[:end]), *decoder.close()]:
            model.apply(event)
        if any(v.state is StepState.RUNNING and v.is_instruction for v in model.steps()):
            return end
    raise AssertionError("no step ever runs in this recording")


async def test_a_step_of_a_stream_that_ended_early_is_unfinished_not_running(
    tmp_path: Any,
) -> None:
    """A recording cut while the deps step ran (a truncated file): the build is incomplete,
    and the step reads UNFINISHED, not a spinner stuck at 0.0s."""
    data = stream("cold-multi-linux-amd64")
    cut = _first_cut_with_a_running_step(data)
    path = tmp_path / "cut.rawjson"
    path.write_bytes(data[:cut])
    app = MabApp(ReplaySource.from_path(path, 0), animate=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_finished(pilot, app)
        rows = [
            text.plain
            for lst in app.query_one(PlatformColumns).lists.values()
            for text in lst._texts
        ]
        assert any(row.startswith("UNFINISHED") for row in rows), rows
        assert not any(row[:1] in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏" and row.strip() for row in rows), rows
