"""`NO_COLOR` turns the app monochrome (Textual honours it); states still read as words."""

from __future__ import annotations

import pytest

from mab.tui.app import MabApp
from mab.tui.widgets import StepList
from tests.tui.fakes import FakeSource, stream
from tests.tui.helpers import wait_finished


async def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = MabApp(FakeSource(stream("fail"), exit_code=1), animate=False)
    assert app.no_color
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_finished(pilot, app)
        rows = [
            strip.text
            for step_list in app.query(StepList)
            for strip in (step_list.render_line(y) for y in range(len(step_list.keys)))
        ]
        assert any(r.startswith("ERROR") for r in rows)
        assert any(r.startswith("CACHED") for r in rows)
