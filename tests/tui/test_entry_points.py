"""`mab.tui.run_build_app` / `run_replay_app`, as `mab build` and `mab replay` call them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import mab.tui
from mab.engine.buildcmd import BuildRequest
from mab.progress.replay import ReplayRequest
from mab.run.options import RunOptions
from mab.tui.app import MabApp
from mab.tui.source import LiveSource, ReplaySource
from tests.tui.fakes import stream


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[MabApp]:
    apps: list[MabApp] = []

    def run(self: MabApp, *args: Any, **kwargs: Any) -> int | None:
        apps.append(self)
        return None  # as when the app is closed before a run ended

    monkeypatch.setattr(MabApp, "run", run)
    return apps


def test_run_replay_app_replays_the_request_at_its_speed(started: list[MabApp]) -> None:
    code = mab.tui.run_replay_app(ReplayRequest("fail.rawjson", stream("fail"), 0.5))
    assert code == 130
    source = started[0].source
    assert isinstance(source, ReplaySource)
    assert source.speed == 0.5 and source.data == stream("fail")


def test_run_build_app_runs_the_request_live(started: list[MabApp], tmp_path: Path) -> None:
    request = BuildRequest(context=str(tmp_path), platforms=("linux/amd64", "linux/arm64"))
    options = RunOptions(request=request, live=True, record=tmp_path / "rec.rawjson")
    mab.tui.run_build_app(options)
    source = started[0].source
    assert isinstance(source, LiveSource)
    assert source.options.request == request and source.options.record == tmp_path / "rec.rawjson"
    assert source.options.buildx_stdout == "capture"  # never onto the terminal the app draws
