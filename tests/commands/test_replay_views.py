"""Every view ends a recording the same way: plain lines, `--json`, `--ci` and the TUI (headless,
through its replay source: its result, its `e` export, its summary panel and the text it leaves
after quitting) give the same status, exit code, per-platform counts, cache-export verdicts,
first misses and duration for every recording in tests/fixtures/streams and for the same
recordings cut short at many byte offsets (a stream that stops before the build did is
`incomplete`, exit 6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mab.errors import EXIT_INCOMPLETE, EXIT_USAGE, UserError
from mab.progress.replay import model_of_recording
from mab.progress.summary import render_table
from mab.run.result import BuildResult
from mab.tui.app import MabApp
from mab.tui.render import seconds
from mab.tui.source import ReplaySource
from mab.tui.widgets import SummaryPanel
from tests.tui.helpers import wait_finished

RunMab = Callable[..., int]
STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"
NAMES = sorted(p.stem for p in STREAMS.glob("*.rawjson"))
CUTS = 6  # cut points per recording, spread over its length (and one inside its first object)
PLATFORM = "linux/amd64"  # of a stream that names none: the same in every view


def _cases() -> list[tuple[str, int | None]]:
    cases: list[tuple[str, int | None]] = []
    for name in NAMES:
        size = (STREAMS / f"{name}.rawjson").stat().st_size
        cuts = {size * k // CUTS + 17 for k in range(1, CUTS)} | {100}
        cases += [(name, None)] + [(name, cut) for cut in sorted(cuts) if cut < size]
    return cases


CASES = _cases()


def _data(name: str, cut: int | None) -> bytes:
    data = (STREAMS / f"{name}.rawjson").read_bytes()
    return data if cut is None else data[:cut]


def _status_of_plain(out: str) -> str:
    line = next(line for line in out.splitlines() if line.startswith("Build "))
    return line.split()[1]


AGREED = ("status", "duration_s", "platforms", "first_miss", "cache_export")


def _agreed(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: summary[key] for key in AGREED}


@dataclass
class TuiSaw:
    status: str
    exit_code: int
    result: BuildResult
    exported: dict[str, Any]
    panel: str
    farewell: str


async def _tui(name: str, data: bytes, exports: Path) -> TuiSaw:
    source = ReplaySource(name, data, 0.0, default_platform=PLATFORM)
    app = MabApp(source, animate=False, export_dir=exports)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_finished(pilot, app)
        assert app.state is not None and app.state.result is not None
        status = str(app.state.model.status)
        await pilot.press("e")
        await pilot.pause()
        panel = app.query_one(SummaryPanel).render()
        farewell = app.farewell()
        await pilot.press("q")
    assert app.return_value is not None  # what `app.run()` returns: mab's exit code
    (exported,) = exports.glob("*.json")
    return TuiSaw(
        status,
        app.return_value,
        app.state.result,
        json.loads(exported.read_text()),
        str(panel),
        farewell,
    )


def _said(text: str) -> str:
    """Every character, whatever the wrapping (a long word may be broken over two lines)."""
    return "".join(text.split())


@pytest.mark.parametrize(("name", "cut"), CASES, ids=[f"{n}@{c or 'end'}" for n, c in CASES])
async def test_every_view_ends_a_recording_the_same_way(
    name: str,
    cut: int | None,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    run_mab: RunMab,
) -> None:
    data = _data(name, cut)
    path = tmp_path / f"{name}.rawjson"
    path.write_bytes(data)
    try:
        expected = model_of_recording(name, data, PLATFORM).recorded_outcome()
    except UserError:  # not one whole progress object yet: every view refuses it
        for view in ("--no-tui", "--json", "--ci"):
            assert run_mab("replay", str(path), view) == EXIT_USAGE
        return
    want = (str(expected.status), expected.exit_code)
    if cut is not None and cut < 1000:
        assert want == ("incomplete", EXIT_INCOMPLETE)
    if cut is None:
        assert want[0] != "incomplete", "a whole recording ends with its build"
    platform = ("--platform", PLATFORM)
    capfd.readouterr()

    code = run_mab("replay", str(path), "--no-tui", *platform)
    plain = capfd.readouterr().out
    assert (_status_of_plain(plain), code) == want, "plain"

    code = run_mab("replay", str(path), "--json", *platform)
    as_json = json.loads(capfd.readouterr().out)
    assert (as_json["status"], code) == want, "--json"

    monkeypatch.chdir(tmp_path)
    for key in ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    code = run_mab("replay", str(path), "--ci", *platform)
    capfd.readouterr()
    summary = json.loads((tmp_path / "mab-report" / "summary.json").read_text())
    assert (summary["status"], code) == want, "--ci"

    tui = await _tui(name, data, tmp_path / "exports")
    assert (tui.status, tui.exit_code) == want, "TUI"
    assert tui.result.exit_code == tui.exit_code
    # The whole result, not only how it ended: every view shows the same one.
    whole = _agreed(as_json)
    assert _agreed(summary) == whole, "--ci"
    assert _agreed(tui.result.summary.to_json()) == whole, "TUI result"
    assert _agreed(tui.exported) == whole, "TUI export (e)"
    assert render_table(tui.result.summary) in plain, "plain"
    said = _said(tui.farewell)  # wrapped to the terminal, never cut
    took = seconds(tui.result.summary.duration_s)  # the JSON's, before rounding
    assert _said(f"{whole['status'].upper()} in {took}") in said
    for platform, numbers in whole["platforms"].items():
        assert _said(f"{platform} hit") in said, "after-quit text"
        assert _said(f"cached {numbers['cached']}/{numbers['steps']}") in said, "after-quit text"
    for export in tui.result.summary.cache_exports:
        if export.problem:
            assert _said(export.message()) in said, "after-quit text"
            assert _said(export.message()) in _said(tui.panel), "summary panel"
    assert tui.result.summary.status.upper() in tui.panel
