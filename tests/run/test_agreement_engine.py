"""On the real engine, every display tells the same run: the same build (every step missed,
its cause 'cache disabled'; a registry cache export refused with 401 by the :5001 registry,
which wants credentials; recorded into `--history PATH`) run once per display — plain lines,
`--json`, `--ci` and the TUI (headless: its result, summary panel, after-quit text and `e`
export) — gives the same status, exit code, per-platform counts, cache-export verdict, first
miss and cause; and each display's duration is the one its history row holds."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mab.history.store import HistoryStore
from mab.run.options import RunOptions
from mab.tui.app import MabApp
from mab.tui.source import LiveSource
from mab.tui.widgets import SummaryPanel
from tests import engine_env
from tests.tui.helpers import wait_finished

RunMab = Callable[..., int]
PLATFORM = "linux/amd64"
DOCKERFILE = "FROM localhost:5000/base/busybox:1\nARG MARK\nRUN echo $MARK > /m\nRUN cat /m\n"


class HeadlessTui:
    """`mab build` in a terminal, its app driven headless: what it showed, kept."""

    def __init__(self, exports: Path) -> None:
        self.exports = exports
        self.seen: dict[str, Any] = {}

    def run_build_app(self, options: RunOptions) -> int:
        return asyncio.run(self._drive(options))

    def run_replay_app(self, request: object) -> int:
        raise AssertionError("a build replays nothing")

    async def _drive(self, options: RunOptions) -> int:
        app = MabApp(LiveSource(options), animate=False, export_dir=self.exports)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_finished(pilot, app)
            await pilot.press("e")
            await pilot.pause()
            assert app.state is not None and app.state.result is not None
            self.seen = {
                "result": app.state.result,
                "panel": str(app.query_one(SummaryPanel).render()),
                "farewell": app.farewell(),
            }
            await pilot.press("q")
        assert app.return_value is not None
        return app.return_value


def _agreed(summary: dict[str, Any]) -> dict[str, Any]:
    miss = summary["first_miss"][PLATFORM]
    return {
        "status": summary["status"],
        "platforms": {
            p: {k: v for k, v in n.items() if k != "duration_s"}
            for p, n in summary["platforms"].items()
        },
        "cache_export": {p: e["status"] for p, e in summary["cache_export"].items()},
        "first_miss": (miss["instruction"], miss["why"][PLATFORM]["cause"]),
    }


def _chars(text: str) -> str:
    return "".join(text.split())


@pytest.mark.engine
def test_every_display_tells_the_same_live_run(
    tmp_path: Path,
    engine_ready: None,
    run_mab: RunMab,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text(DOCKERFILE)
    monkeypatch.chdir(project)
    for key in ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    history = tmp_path / "chosen.sqlite3"
    refused = f"{engine_env.AUTH_REGISTRY}/test/agree-{uuid.uuid4().hex[:8]}:cache"
    common = [
        "build", "--platform", PLATFORM, "--history", str(history),
        "--build-arg", f"MARK={uuid.uuid4().hex}",
    ]  # fmt: skip
    assert run_mab(*common, "--no-tui", ".") == 0  # the build the others compare with
    again = [
        *common,
        "--no-cache",
        "--cache-to",
        f"type=registry,ref={refused},mode=max,ignore-error=true",
        ".",
    ]
    capfd.readouterr()

    def last_row() -> Any:
        with HistoryStore.open(history) as store:
            return store.builds(limit=1)[0]

    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    code = run_mab(*again, "--json")
    seen["--json"] = (code, json.loads(capfd.readouterr().out))
    assert last_row().duration_s == pytest.approx(seen["--json"][1]["duration_s"], abs=0.01)

    code = run_mab(*again, "--ci")
    capfd.readouterr()
    seen["--ci"] = (code, json.loads((project / "mab-report" / "summary.json").read_text()))
    assert last_row().duration_s == pytest.approx(seen["--ci"][1]["duration_s"], abs=0.01)

    code = run_mab(*again, "--no-tui")
    plain = capfd.readouterr().out
    row = last_row()
    assert f"Build {row.outcome} in {row.duration_s:.1f}s" in plain, "plain"
    assert "! linux/amd64: the cache export" in plain and "401" in plain
    assert "why: cache disabled" in plain

    import mab.commands.build as build

    tui = HeadlessTui(tmp_path / "exports")
    monkeypatch.setattr(build, "interactive", lambda: True)
    monkeypatch.setattr(build, "tui_entry", lambda: tui)
    code = run_mab(*again)
    result = tui.seen["result"]
    (exported,) = (tmp_path / "exports").glob("*.json")
    seen["TUI"] = (code, result.summary.to_json())
    seen["TUI e"] = (code, json.loads(exported.read_text()))
    assert last_row().duration_s == pytest.approx(result.summary.duration_s, abs=0.01)

    want = _agreed(seen["--json"][1])
    assert want["cache_export"] == {PLATFORM: "failed"}  # the 401
    assert want["first_miss"][1] == "cache_disabled"
    for view, (code, summary) in seen.items():
        assert code == 0, view  # a refused cache export does not fail the build
        assert _agreed(summary) == want, view
    message = next(e for e in result.summary.cache_exports if e.problem).message()
    assert _chars(message) in _chars(tui.seen["panel"]), "summary panel"
    assert _chars(message) in _chars(tui.seen["farewell"]), "after-quit text"
    assert _chars("why: cache disabled") in _chars(tui.seen["farewell"])
