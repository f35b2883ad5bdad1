"""The replayer, the live source's command line, and the numbers the views show."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mab.engine.buildcmd import BuildRequest
from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel, Progress, StepState
from mab.run.display import QuietDisplay
from mab.run.feed import ChunkSink, FeedEnd, LiveFeed
from mab.run.options import RunOptions
from mab.run.session import BuildSession
from mab.tui.render import badge, delta_text, gauge, seconds, size, step_row
from mab.tui.run_state import RunState
from mab.tui.source import LiveSource, ReplaySource
from mab.tui.source.replayer import ReplayRun, split_objects
from mab.tui.stats import ALL, Delta, column_platforms, platform_stats, steps_for
from tests.tui.fakes import STREAMS, stream


def model_of(name: str) -> BuildModel:
    decoder = StreamDecoder()
    model = BuildModel()
    for event in [*decoder.feed(stream(name)), *decoder.close()]:
        model.apply(event)
    return model


async def replay(source: ReplaySource) -> tuple[RunState, list[bytes]]:
    chunks: list[bytes] = []
    state = RunState(1, source.start())
    feed = state.session.feed
    run = feed.run

    async def keep(sink: ChunkSink) -> FeedEnd:
        def both(chunk: bytes) -> None:
            chunks.append(chunk)
            sink(chunk)

        return await run(both)

    feed.run = keep  # type: ignore[method-assign]
    state.close(await state.session.run(QuietDisplay()))
    return state, chunks


def test_split_objects_cuts_before_each_top_level_object_only() -> None:
    data = stream("fail")
    pieces = split_objects(data)
    assert b"".join(pieces) == data
    assert all(p.startswith(b"{") for p in pieces)
    assert len(pieces) == data.count(b"\n{") + 1
    assert pieces[-1].rstrip().endswith(b"exit code: 1")  # the text block stays attached


@pytest.mark.parametrize("speed", [0.0, 1000.0])
async def test_replay_delivers_every_byte_and_ends_like_the_recording(speed: float) -> None:
    source = ReplaySource("fail.rawjson", stream("fail"), speed)
    state, chunks = await replay(source)
    assert b"".join(chunks) == stream("fail")
    assert state.exit_code == 1
    assert str(state.model.status) == "failed"


async def test_replay_at_a_speed_keeps_a_clock_in_stream_time() -> None:
    source = ReplaySource("warm-multi.rawjson", stream("warm-multi"), 1000.0)
    run = source.start().feed
    seen: list[float | None] = []
    await run.run(lambda _chunk: seen.append(run.now()))
    first, last = model_of("warm-multi").span()
    assert first is not None and last is not None
    assert all(t is None or first - 1 <= t <= last + 1 for t in seen)


async def test_replay_holds_at_a_fixed_point_until_cancelled() -> None:
    source = ReplaySource("cold-multi.rawjson", stream("cold-multi"), 0, hold_at=10)
    run = source.start().feed
    assert isinstance(run, ReplayRun)
    pieces: list[bytes] = []
    task = asyncio.ensure_future(run.run(pieces.append))
    for _ in range(1000):
        if run.holding:
            break
        await asyncio.sleep(0)
    assert run.holding and len(pieces) == 10
    run.cancel()
    outcome = await task
    assert outcome.canceled and outcome.exit_code == 130


def test_replay_source_from_path_and_labels() -> None:
    source = ReplaySource.from_path(STREAMS / "single.rawjson", 2)
    assert source.title == "replay of single.rawjson at 2x"
    assert source.builder == ""  # the header says "on <builder>" only for a live build
    assert not source.supports_no_cache
    assert ReplaySource.from_path(STREAMS / "single.rawjson", 0).title == "replay of single.rawjson"


def _live(request: BuildRequest, **options: Any) -> LiveSource:
    return LiveSource(RunOptions(request=request, **options))


def _argv(session: BuildSession) -> list[str]:
    assert isinstance(session.feed, LiveFeed)
    return session.feed.argv


def test_live_source_builds_the_request_and_adds_no_cache_on_demand(tmp_path: Path) -> None:
    request = BuildRequest(context="ctx", platforms=("linux/amd64",), tags=("reg/app:1",))
    source = _live(request, record=tmp_path / "rec.rawjson")
    assert source.title == "reg/app:1"
    assert source.options.platforms == ("linux/amd64",)
    plain, bare = _argv(source.start()), _argv(source.start(no_cache=True))
    assert "--progress=rawjson" in plain and "--no-cache" not in plain
    assert "--no-cache" in bare
    assert plain[-1] == "ctx"


async def test_live_run_that_cannot_start_docker_reports_without_raising(tmp_path: Path) -> None:
    source = _live(BuildRequest(context=str(tmp_path)), docker="/nonexistent/docker")
    result = await source.start().run(QuietDisplay())
    assert result.exit_code == 3
    assert "not found" in result.error and "Traceback" not in result.error


async def test_live_run_with_an_unwritable_recording_says_where(tmp_path: Path) -> None:
    record = tmp_path / "missing" / "rec.rawjson"
    source = _live(BuildRequest(context=str(tmp_path)), record=record)
    result = await source.start().run(QuietDisplay())
    assert result.exit_code == 2 and str(record) in result.error


def test_platform_stats_per_column() -> None:
    model = model_of("warm-multi")
    stats = {p.platform: p for p in platform_stats(model)}
    assert set(stats) == {"linux/amd64", "linux/arm64"}
    assert all(p.hit_ratio == 1.0 and p.cached == p.steps == 8 for p in stats.values())
    single = model_of("single")
    assert column_platforms(single) == (ALL,)
    assert len(steps_for(single.steps(), ALL)) == len(single.steps())


def test_text_helpers() -> None:
    assert [seconds(x) for x in (None, 0.25, 59.9, 125, 3720)] == [
        "-",
        "0.2s",
        "59.9s",
        "2m05s",
        "1h02m",
    ]
    assert [size(x) for x in (512, 3400, 12_000_000)] == ["512B", "3.4kB", "12.0MB"]
    assert gauge(0.5, 10).plain == "█████░░░░░"
    assert gauge(None, 4).plain == "░░░░"
    assert delta_text(Delta(40.0, -12.3)).plain == " (+40pp, -12.3s)"
    assert delta_text(None).plain == ""


def test_every_state_has_a_word_so_no_colour_is_needed() -> None:
    words = {}
    for view in model_of("fail").steps():
        words[view.state] = badge(view, None, 0).plain.strip()
        assert step_row(view, None, 0, shared=False, slot=False).plain.startswith(words[view.state])
    assert words[StepState.ERROR] == "ERROR"
    assert words[StepState.CACHED] == "CACHED"
    assert words[StepState.DONE].startswith("DONE ")


def test_a_running_pull_shows_its_progress() -> None:
    pull = next(v for v in model_of("cold-multi").steps() if v.instruction.startswith("FROM"))
    layers = (
        Progress("l1", "sha256:aa", 4_000_000, 10_000_000, 1.0, None),
        Progress("l2", "sha256:bb", 1_000_000, 2_000_000, 1.0, None),
    )
    running = replace(pull, state=StepState.RUNNING, completed=None, progress=layers)
    row = step_row(running, running.started, 0, shared=False, slot=False).plain
    assert row.endswith("5.0MB/12.0MB")
    assert "@sha256:" not in row or "…" in row  # long digests are shortened


async def test_live_recordings_are_framed_like_mab_build_record(tmp_path: Path) -> None:
    """The TUI's recordings go through the one writer: platforms first, the outcome last. A
    stand-in `docker` (a shell script) writes a recorded stream and exits 1."""
    docker = tmp_path / "docker"
    docker.write_text(f"#!/bin/sh\ncat '{STREAMS / 'fail.rawjson'}' >&2\nexit 1\n")
    docker.chmod(0o755)
    record = tmp_path / "rec.rawjson"
    request = BuildRequest(context=str(tmp_path), platforms=("linux/arm64",))
    source = _live(request, record=record, docker=str(docker))
    result = await source.start().run(QuietDisplay())
    assert result.exit_code == 1
    data = record.read_bytes()
    assert data.startswith(b"# mab platforms: linux/arm64\n")
    assert data.endswith(b"\n# mab outcome: failed 1\n")
    assert stream("fail") in data
