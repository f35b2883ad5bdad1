"""Every view ends a recording the same way: plain lines, `--json`, `--ci` and the TUI (headless,
through its replay source) give the same status and exit code for every recording in
tests/fixtures/streams and for the same recordings cut short at many byte offsets (a stream that
stops before the build did is `incomplete`, exit 6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mab.errors import EXIT_INCOMPLETE, EXIT_USAGE, UserError
from mab.progress.replay import model_of_recording
from mab.tui.app import MabApp
from mab.tui.source import ReplaySource
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


async def _tui(name: str, data: bytes) -> tuple[str, int]:
    app = MabApp(ReplaySource(name, data, 0.0, default_platform=PLATFORM), animate=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_finished(pilot, app)
        assert app.state is not None
        status = str(app.state.model.status)
        await pilot.press("q")
    assert app.return_value is not None  # what `app.run()` returns: mab's exit code
    return status, app.return_value


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
    assert (_status_of_plain(capfd.readouterr().out), code) == want, "plain"

    code = run_mab("replay", str(path), "--json", *platform)
    assert (json.loads(capfd.readouterr().out)["status"], code) == want, "--json"

    monkeypatch.chdir(tmp_path)
    for key in ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    code = run_mab("replay", str(path), "--ci", *platform)
    capfd.readouterr()
    summary = json.loads((tmp_path / "mab-report" / "summary.json").read_text())
    assert (summary["status"], code) == want, "--ci"

    assert await _tui(name, data) == want, "TUI"
