"""`mab replay`: recorded streams (hand-written and recorded from the real engine) through the
same decoder and model as a live build; pacing from the stream's timestamps; clear errors."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mab.errors import EXIT_USAGE
from mab.progress.decoder import SolveStatus, TextLine, Vertex
from mab.progress.replay import MAX_GAP, ReplayClock, ReplayRequest, decode_recording, replay
from mab.progress.session import StreamSession
from tests.progress.progress_streams import T0, multi_platform_stream, stamp

RunMab = Callable[..., int]  # the `run_mab` fixture of tests/conftest.py

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "build.rawjson"
    path.write_bytes(multi_platform_stream(pretty=True))
    return path


def recorded(name: str) -> Path:
    path = STREAMS / name
    if not path.is_file():
        pytest.skip(f"recorded stream {name} not in tests/fixtures/streams yet")
    return path


# --------------------------------------------------------------------------- the command


def test_json_replay(recording: Path, capfd: pytest.CaptureFixture[str], run_mab: RunMab) -> None:
    assert run_mab("replay", str(recording), "--speed", "0", "--json") == 0
    out, err = capfd.readouterr()
    summary = json.loads(out)
    assert summary["status"] == "succeeded"
    assert summary["platforms"]["linux/amd64"]["cached"] >= 3
    assert err == ""  # unpaced, nobody reads progress lines: only the document


def test_json_replay_at_a_pace_shows_progress_on_stderr(
    recording: Path, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    assert run_mab("replay", str(recording), "--speed", "1000", "--json") == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["status"] == "succeeded"
    assert "[linux/arm64] deps 4/4 RUN ./install.sh DONE 4.0s" in err


def test_plain_replay_prints_lines_and_table(
    recording: Path, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    assert run_mab("replay", str(recording), "--speed", "0", "--no-tui") == 0
    out = capfd.readouterr().out
    assert "[linux/amd64] deps 4/4 RUN ./install.sh CACHED" in out
    assert "PLATFORM" in out


def test_replay_from_stdin(
    recording: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    run_mab: RunMab,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(recording.read_bytes())))
    assert run_mab("replay", "-", "--speed", "0", "--json") == 0
    assert json.loads(capfd.readouterr().out)["status"] == "succeeded"


def test_failed_build_replays_as_failed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    path = tmp_path / "failed.rawjson"
    path.write_bytes(multi_platform_stream(fail=True))
    assert run_mab("replay", str(path), "--json") == 1  # the recorded outcome
    out, _ = capfd.readouterr()
    summary = json.loads(out)
    assert summary["status"] == "failed"
    assert "tool --check" in summary["error"]["step"]
    assert run_mab("replay", str(path), "--no-tui") == 1
    assert "Build failed" in capfd.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "not a recorded build stream"),
        (b"\x00\xff garbage\nnot json at all\n", "not a recorded build stream"),
        (b"#0 building with default instance\n#1 DONE 0.1s\n", "no BuildKit progress objects"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    content: bytes | None,
    message: str,
    run_mab: RunMab,
) -> None:
    path = tmp_path / "stream.rawjson"
    if content is not None:
        path.write_bytes(content)
    assert run_mab("replay", str(path)) == EXIT_USAGE
    out, err = capfd.readouterr()
    assert f"mab: error: {path}: " in err
    assert message in err
    assert "hint:" in err
    assert "Traceback" not in out + err
    assert out == ""


def test_directory_and_negative_speed(
    tmp_path: Path, recording: Path, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    assert run_mab("replay", str(tmp_path)) == EXIT_USAGE
    assert "is a directory" in capfd.readouterr().err
    assert run_mab("replay", str(recording), "--speed", "-1") == EXIT_USAGE
    assert "--speed -1 is negative" in capfd.readouterr().err


def test_damaged_objects_are_skipped_with_a_warning(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    lines = multi_platform_stream().splitlines(keepends=True)
    lines[3] = lines[3][: len(lines[3]) // 2] + b"\n"  # an object cut in half
    path = tmp_path / "damaged.rawjson"
    path.write_bytes(b"".join(lines))
    assert run_mab("replay", str(path), "--speed", "0", "--json") == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["status"] in ("succeeded", "failed")
    assert "damaged progress object(s) skipped" in err


def test_tui_hook_gets_a_replay_request(
    recording: Path, monkeypatch: pytest.MonkeyPatch, run_mab: RunMab
) -> None:
    import mab.commands.replay as replay_module

    seen: list[ReplayRequest] = []

    class App:
        def run_build_app(self, options: object) -> int:
            raise AssertionError("a replay runs no build")

        def run_replay_app(self, request: ReplayRequest) -> int:
            seen.append(request)
            return 0

    monkeypatch.setattr(replay_module, "interactive", lambda: True)
    monkeypatch.setattr(replay_module, "tui_entry", App)
    assert run_mab("replay", str(recording), "--speed", "3", "--platform", "linux/arm64") == 0
    expected = ReplayRequest(str(recording), recording.read_bytes(), 3.0, "linux/arm64")
    assert seen == [expected]


# --------------------------------------------------------------------------- pacing


def at(t: float) -> SolveStatus:
    return SolveStatus(vertexes=(Vertex("sha256:x", started=stamp(T0 + t)),))


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(("speed", "expected"), [(1.0, [0.0, 1.0, 2.0]), (4.0, [0.0, 0.25, 0.5])])
def test_clock_follows_stream_time(speed: float, expected: list[float]) -> None:
    clock = FakeTime()
    pace = ReplayClock(speed, now=lambda: clock.now)
    waits = []
    for t in (0.0, 1.0, 3.0):
        waits.append(pace.delay(at(t)))
        clock.now += waits[-1]
    assert waits == pytest.approx(expected)


def test_clock_speed_zero_never_waits_and_text_is_immediate() -> None:
    assert ReplayClock(0).delay(at(50.0)) == 0.0
    pace = ReplayClock(1.0, now=lambda: 0.0)
    pace.delay(at(0.0))
    assert pace.delay(TextLine("ERROR: x")) == 0.0


def test_clock_caps_long_idle_gaps_and_never_goes_back() -> None:
    clock = FakeTime()
    pace = ReplayClock(1.0, now=lambda: clock.now)
    pace.delay(at(0.0))
    assert pace.delay(at(600.0)) == pytest.approx(MAX_GAP)
    clock.now += MAX_GAP
    assert pace.delay(at(10.0)) == 0.0  # an older timestamp re-sent: shown at once


def test_replay_paces_the_whole_build(recording: Path) -> None:
    fake = FakeTime()
    session = StreamSession((), "json")
    request = ReplayRequest("build", recording.read_bytes(), speed=2.0)
    status = replay(request, session, sleep=fake.sleep, now=lambda: fake.now)
    assert status == "succeeded"
    assert sum(fake.slept) == pytest.approx(7.5 / 2.0, abs=0.6)  # the stream spans 7.5 s


# --------------------------------------------------------------------------- recorded streams


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("cold-multi.rawjson", "succeeded", 0),
        ("warm-multi.rawjson", "succeeded", 0),
        ("fail.rawjson", "failed", 1),
        ("cancel.rawjson", "canceled", 130),
    ],
)
def test_recorded_outcome_of_real_streams(name: str, status: str, code: int) -> None:
    path = recorded(name)
    events, stats = decode_recording(name, path.read_bytes())
    assert stats.objects > 0
    session = StreamSession((), "json")
    for event in events:
        session.model.apply(event)
    outcome = session.model.recorded_outcome()
    assert (outcome.exit_code, outcome.canceled) == (code, code == 130)
    session.finish(outcome=outcome)
    assert session.model.status == status


def test_real_stream_replays_through_the_cli(
    capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    path = recorded("cold-multi.rawjson")
    assert run_mab("replay", str(path), "--speed", "0", "--json") == 0
    summary = json.loads(capfd.readouterr().out)
    assert summary["status"] == "succeeded"
    assert {"linux/amd64", "linux/arm64"} <= set(summary["platforms"])


# --------------------------------------------------------------------------- not paced, truthful


def test_json_replay_of_a_long_recording_is_not_paced(
    capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    """cold-multi spans 65 s of build (about 30 s paced, idle gaps cut to 5 s): `--json`
    without `--speed` computes it as fast as it can. The budget allows for a loaded machine."""
    import time

    path = recorded("cold-multi.rawjson")
    started = time.monotonic()
    assert run_mab("replay", str(path), "--json") == 0
    assert time.monotonic() - started < 5.0
    assert json.loads(capfd.readouterr().out)["status"] == "succeeded"


def test_a_raw_single_platform_stream_names_one_inferred_platform(
    capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    from mab.commands.replay import machine_platform

    path = recorded("raw-single.rawjson")
    assert run_mab("replay", str(path), "--json") == 0
    summary = json.loads(capfd.readouterr().out)
    assert list(summary["platforms"]) == [machine_platform()]
    assert summary["platform_inferred"] is True
    assert summary["platforms"][machine_platform()]["steps"] == 4
    assert set(summary["first_miss"]) == {machine_platform()}
    assert run_mab("replay", str(path), "--no-tui", "--platform", "linux/arm64") == 0
    out = capfd.readouterr().out
    assert "linux/arm64      4" in out and "inferred" in out


def test_a_header_names_the_platform_and_nothing_is_inferred(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    from mab.progress.recording import record_header

    path = tmp_path / "framed.rawjson"
    path.write_bytes(record_header(("linux/arm64",)) + recorded("raw-single.rawjson").read_bytes())
    assert run_mab("replay", str(path), "--json", "--platform", "linux/amd64") == 0
    summary = json.loads(capfd.readouterr().out)
    assert list(summary["platforms"]) == ["linux/arm64"]
    assert summary["platform_inferred"] is False


def test_replay_platform_must_be_one(run_mab: RunMab, capfd: pytest.CaptureFixture[str]) -> None:
    path = recorded("raw-single.rawjson")
    assert run_mab("replay", str(path), "--platform", "linux/amd64,linux/arm64") == EXIT_USAGE
    assert "name one platform" in capfd.readouterr().err


QA = Path(__file__).resolve().parents[1] / "fixtures" / "qa"


@pytest.mark.parametrize("saved_as", ["single-raw.bom.rawjson", "single-raw.utf16.rawjson"])
def test_a_recording_saved_with_a_byte_order_mark_replays_as_recorded(
    saved_as: str, capfd: pytest.CaptureFixture[str], run_mab: RunMab
) -> None:
    """The same stream behind a UTF-8 BOM (its first object was 'damaged' and the BOM printed)
    or as UTF-16 (rejected: 'not a recorded build stream'): the very same summary, no warning."""
    assert run_mab("replay", str(QA / "single-raw.rawjson"), "--json") == 0
    expected = json.loads(capfd.readouterr().out)
    assert run_mab("replay", str(QA / saved_as), "--json") == 0
    out, err = capfd.readouterr()
    assert json.loads(out) == expected
    assert err == ""
    assert expected["platforms"]["linux/amd64"]["executed"] == 2  # RUN and COPY


def test_speed_nan_is_a_usage_error(capfd: pytest.CaptureFixture[str], run_mab: RunMab) -> None:
    assert run_mab("replay", str(QA / "single-raw.rawjson"), "--speed", "nan") == EXIT_USAGE
    assert "--speed nan is not a number" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("name", "trailer", "code"), [("fail", "failed 256", 1), ("single", "succeeded 1", 0)]
)
def test_a_contradicting_outcome_line_does_not_decide_the_exit_code(
    name: str,
    trailer: str,
    code: int,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    run_mab: RunMab,
) -> None:
    """`failed 256` would exit 0 (256 & 0xff), `succeeded 1` 1: the stream decides instead."""
    path = tmp_path / "edited.rawjson"
    data = (STREAMS / f"{name}.rawjson").read_bytes()
    path.write_bytes(data + f"\n# mab outcome: {trailer}\n".encode())
    assert run_mab("replay", str(path), "--no-tui", "--platform", "linux/amd64") == code
    out, err = capfd.readouterr()
    assert "the recording's outcome line is ignored" in out + err
