"""The HTML report in a real headless Chromium at desktop and phone sizes: screenshots kept
under tests/artifacts/report (ignored by git), no console error, no request but the page
itself, each platform's timeline bars all drawn, and axe-core finding no serious violation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mab.progress.replay import model_of_recording
from mab.progress.summary import Summary
from mab.progress.timeline import timeline_of
from mab.report.data import report_of_model
from mab.report.html import render
from tests.report.chromium import Browser, Page, axe_source, browser, chromium_binary

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "report"
SIZES = ((1280, 800), (390, 844))
CASES = ("cold-multi", "fail", "cancel", "cross")
BARS = """JSON.stringify(Object.fromEntries([...document.querySelectorAll('g.track')].map(
  g => [g.dataset.platform, g.querySelectorAll('g.bar > rect').length])))"""
AXE = """axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(
  r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))))"""
OVERFLOW = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if chromium_binary() is None:
        print("SKIP reason: no chromium on PATH (.ci/run installs Debian's chromium)")
        pytest.skip("no chromium on PATH (.ci/run installs Debian's chromium package)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nreport screenshots in {ARTIFACTS}")
    with browser() as b:
        yield b


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_report_in_chromium(
    chromium: Browser, tmp_path: Path, name: str, width: int, height: int
) -> None:
    model = model_of_recording(name, (STREAMS / f"{name}.rawjson").read_bytes(), "linux/amd64")
    summary = Summary.from_model(model)
    timeline = timeline_of(model, summary)
    page_file = tmp_path / f"{name}.html"
    page_file.write_text(render(report_of_model(name, f"recording {name}", model, summary)))
    page = Page(chromium, width, height)
    page.open(page_file.as_uri())
    shot = ARTIFACTS / f"{name}-{width}x{height}.png"
    page.screenshot(shot)
    page.screenshot(ARTIFACTS / f"{name}-{width}x{height}-first-screen.png", full=False)
    assert shot.stat().st_size > 1000
    drawn = json.loads(page.evaluate(BARS))
    assert drawn == {t.name: len(t.bars) for t in timeline.tracks}
    assert all(drawn[t.platform] for t in timeline.platform_tracks if t.bars)
    assert page.evaluate(OVERFLOW) is False  # wide parts scroll inside their own region
    source = axe_source()
    if source is None:
        print("SKIP axe: axe-core not installed (`npm install -g axe-core`, as .ci/run does)")
    else:
        page.evaluate(source)
        violations = json.loads(page.evaluate(AXE, wait=True))
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not serious, serious
    log = page.log()
    assert log.errors == []
    assert log.requests == [page_file.as_uri()]
    if source is None:
        pytest.skip("axe-core not installed: the accessibility check did not run")
