"""Redraws follow the timer, not the events: a stream of 13k log events as fast as possible
is drawn a handful of times, and the view ends up showing the last of it."""

from __future__ import annotations

from mab.progress.model import LOG_LINES
from mab.tui.app import MabApp
from mab.tui.source import ReplaySource
from mab.tui.widgets import StepDetails
from tests.tui.fakes import STREAMS
from tests.tui.helpers import wait_finished


async def test_redraws_are_batched_whatever_the_event_rate() -> None:
    app = MabApp(ReplaySource.from_path(STREAMS / "loglines.rawjson", 0), animate=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_finished(pilot, app)
        assert app.state is not None
        events = app.state.model.events
        assert events > 10_000
        assert app.redraws * 10 < events
        noisy = max(app.state.model.steps(), key=lambda v: v.log_lines)
        app.selected = noisy.key
        app.redraw(force=True)
        detail = app.query_one(StepDetails).detail
        assert detail is not None and detail.log.lines  # the tail, bounded by the model
        assert len(detail.log.lines) <= 2 * LOG_LINES
