"""mab.engine.docker: the environment checks run (with fake `docker` executables and with the real
engine), and the streamed build runner (with small stand-in processes)."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mab.engine.docker import (
    BuilderInfo,
    BuildRunner,
    ProcessResult,
    preflight,
    run_build,
    run_checks,
)
from mab.errors import EXIT_ENVIRONMENT, EnvironmentNotReady

# --------------------------------------------------------------------------- fake engines


def fake_docker(tmp_path: Path, script: str) -> str:
    """A directory holding a `docker` executable (a shell script) and nothing else."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "docker"
    exe.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    exe.chmod(0o755)
    return str(bindir)


CLASSIC_ENGINE = """\
INFO='{"ServerVersion":"24.0.7","Driver":"overlay2",'
INFO="$INFO"'"DriverStatus":[["Backing Filesystem","extfs"]]}'
LS='{"Name":"default","Driver":"docker",'
LS="$LS"'"Nodes":[{"Name":"default","Platforms":["linux/amd64","linux/386"]}]}'
case "$*" in
  "buildx version") echo "github.com/docker/buildx v0.13.1 abc" ;;
  "system info --format {{json .}}") echo "$INFO" ;;
  "buildx inspect --bootstrap"|"buildx inspect")
    printf 'Name:   default\\nDriver: docker\\n\\nNodes:\\nName: default\\n'
    printf 'Platforms: linux/amd64, linux/386\\n' ;;
  "buildx ls --format {{json . }}") echo "$LS" ;;
  *) echo "unexpected: $*" >&2; exit 99 ;;
esac
"""


def test_docker_missing_from_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = run_checks(["linux/amd64"])
    assert [c.status for c in result.checks] == ["fail", "skip", "skip", "skip", "skip", "skip"]
    with pytest.raises(EnvironmentNotReady) as err:
        preflight(["linux/amd64"], False, [], None)
    assert err.value.exit_code == EXIT_ENVIRONMENT
    assert "`docker` is not on PATH" in err.value.render()
    assert "install" in (err.value.hint or "")


def test_buildx_too_old(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    old = CLASSIC_ENGINE.replace("v0.13.1", "v0.11.2")
    monkeypatch.setenv("PATH", fake_docker(tmp_path, old))
    with pytest.raises(EnvironmentNotReady) as err:
        preflight(["linux/amd64"], False, [], None)
    assert "buildx 0.11.2 is too old" in err.value.message
    assert "docker-buildx" in (err.value.hint or "")


def test_buildx_not_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = CLASSIC_ENGINE.replace(
        '"buildx version") echo "github.com/docker/buildx v0.13.1 abc" ;;',
        '"buildx version") echo "docker: unknown command: docker buildx" >&2; exit 1 ;;',
    )
    monkeypatch.setenv("PATH", fake_docker(tmp_path, script))
    result = run_checks(["linux/amd64"])
    assert result.checks[1].status == "fail"
    assert "unknown command: docker buildx" in result.checks[1].summary
    assert {c.name: c.status for c in result.checks}["builder"] == "skip"


def test_classic_store_multi_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", fake_docker(tmp_path, CLASSIC_ENGINE))
    result = run_checks(["linux/amd64", "linux/arm64"], True, ["type=registry,ref=r/a:c"])
    status = {c.name: c.status for c in result.checks}
    assert status == {
        "docker": "ok",
        "buildx": "ok",
        "daemon": "ok",
        "builder": "ok",
        "image-store": "fail",
        "platforms": "fail",
    }
    assert result.containerd_store is False
    with pytest.raises(EnvironmentNotReady) as err:
        result.raise_if_failed()
    text = err.value.render()
    assert "without the containerd image store" in text
    assert "also: builder 'default' cannot build linux/arm64" in text
    assert "containerd-snapshotter" in text


def test_single_platform_on_classic_store_is_fine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", fake_docker(tmp_path, CLASSIC_ENGINE))
    result = preflight(["linux/amd64"], False, [], None)
    assert result.builder == BuilderInfo("default", "docker", ("linux/amd64", "linux/386"))


@pytest.mark.parametrize(
    "ls_answer",
    [
        'echo "unknown flag: --format" >&2; exit 1',  # buildx 0.12 has no `ls --format`
        """echo '{"Name":"default","Driver":"docker","Nodes":[{"Platforms":[{"os":"linux"}]}]}'""",
    ],
    ids=["buildx-0.12", "other-json"],
)
def test_builder_read_from_inspect_text_when_ls_does_not_fit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ls_answer: str
) -> None:
    script = CLASSIC_ENGINE.replace('echo "$LS" ;;', f"{ls_answer} ;;")
    assert script != CLASSIC_ENGINE
    monkeypatch.setenv("PATH", fake_docker(tmp_path, script))
    result = preflight(["linux/amd64"], False, [], None)
    assert result.builder == BuilderInfo("default", "docker", ("linux/amd64", "linux/386"))


def test_daemon_down_names_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    if not _has_docker():
        pytest.skip("no docker client on PATH")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    result = run_checks(["linux/amd64"])
    daemon = result.checks[2]
    assert daemon.name == "daemon"
    assert daemon.status == "fail"
    assert "not reachable" in daemon.summary
    assert daemon.fix is not None
    assert "DOCKER_HOST=unix:///nonexistent.sock" in daemon.fix
    assert [c.status for c in result.checks[3:]] == ["skip", "skip", "skip"]


def _has_docker() -> bool:
    return subprocess.run(["sh", "-c", "command -v docker"], capture_output=True).returncode == 0


# --------------------------------------------------------------------------- the real engine


@pytest.mark.engine
def test_real_engine_can_build_amd64_and_arm64(engine_ready: None) -> None:
    result = preflight(["linux/amd64", "linux/arm64"], True, [], None)
    assert result.ok
    assert result.buildx_version is not None
    assert result.buildx_version[:2] >= (0, 12)
    assert result.builder is not None
    assert {"linux/amd64", "linux/arm64"} <= set(result.builder.platforms)


@pytest.mark.engine
def test_real_engine_lacks_s390x(engine_ready: None) -> None:
    probe = run_checks(["linux/s390x"])
    if probe.ok:
        pytest.skip("this engine has an s390x emulator registered")
    with pytest.raises(EnvironmentNotReady) as err:
        preflight(["linux/amd64", "linux/s390x"], True, [], None)
    assert "cannot build linux/s390x" in err.value.message
    assert "tonistiigi/binfmt --install s390x" in (err.value.hint or "")


@pytest.mark.engine
def test_real_engine_unknown_builder(engine_ready: None) -> None:
    with pytest.raises(EnvironmentNotReady) as err:
        preflight(["linux/amd64"], False, [], "no-such-builder-mab")
    assert "no-such-builder-mab" in err.value.message
    assert "docker buildx ls" in (err.value.hint or "")


# --------------------------------------------------------------------------- the runner


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


async def test_big_chunks_without_newlines_reach_callback_and_record() -> None:
    size = 300_000  # far above asyncio's 64 KiB line limit, and no newline at all
    argv = py(
        f"""
        import sys
        sys.stderr.buffer.write(b"x" * {size})
        sys.stdout.write("image-id\\n")
        sys.exit(3)
        """
    )
    got = bytearray()
    sizes: list[int] = []
    record = io.BytesIO()

    def on_chunk(chunk: bytes) -> None:
        sizes.append(len(chunk))
        got.extend(chunk)

    result = await BuildRunner(argv, on_chunk, record, stdout="capture").run()
    assert result.exit_code == 3
    assert result.mab_exit_code == 3
    assert not result.canceled
    assert bytes(got) == b"x" * size
    assert record.getvalue() == bytes(got)
    assert max(sizes) <= 65536
    assert result.stdout == b"image-id\n"


async def test_a_failing_recording_does_not_stop_the_build() -> None:
    class Full(io.BytesIO):
        def write(self, data: object) -> int:
            raise OSError(28, "No space left on device")

    got = bytearray()
    argv = py("import sys; sys.stderr.write('x' * 1000)")
    result = await BuildRunner(argv, got.extend, Full()).run()
    assert result.exit_code == 0
    assert len(got) == 1000
    assert result.record_error is not None
    assert "No space left" in result.record_error


async def test_run_build_returns_exit_code() -> None:
    result = await run_build(py("import sys; sys.exit(0)"), lambda _c: None)
    assert result.exit_code == 0
    assert result.duration >= 0


# A stand-in for buildx: a parent that starts a child in the same process group, both of which
# ignore some signals. Each prints its pid; the parent exits when the child does.
STUBBORN = """
import os, signal, subprocess, sys, time
ignore = sys.argv[1].split(",") if len(sys.argv) > 1 and sys.argv[1] else []
for name in ignore:
    signal.signal(getattr(signal, name), signal.SIG_IGN)
if os.environ.get("MAB_TEST_CHILD"):
    sys.stderr.write(f"child {os.getpid()}\\n"); sys.stderr.flush()
    try:
        time.sleep(600)
    except KeyboardInterrupt:
        sys.exit(1)
    sys.exit(0)
env = dict(os.environ, MAB_TEST_CHILD="1")
child = subprocess.Popen([sys.executable, __file__, *sys.argv[1:]], env=env)
sys.stderr.write(f"parent {os.getpid()}\\n"); sys.stderr.flush()
try:
    child.wait()
except KeyboardInterrupt:
    child.wait()
    sys.exit(1)
"""


def _stubborn(tmp_path: Path, ignore: str) -> list[str]:
    script = tmp_path / "stub.py"
    script.write_text(STUBBORN)
    return [sys.executable, str(script), ignore]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def _all_gone(pids: list[int]) -> bool:
    """True once none of the pids runs (a signalled process takes a moment to die)."""
    deadline = time.monotonic() + 3
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _pids(seen: bytearray) -> list[int]:
    lines = [line.split() for line in seen.decode().splitlines()]
    return [int(w[1]) for w in lines if len(w) == 2 and w[0] in ("parent", "child")]


async def _start_stub(runner: BuildRunner, seen: bytearray) -> asyncio.Task[ProcessResult]:
    """Start the runner and wait until both stand-in processes have said their pids."""
    task = asyncio.create_task(runner.run())
    deadline = time.monotonic() + 10
    while len(_pids(seen)) < 2:
        assert time.monotonic() < deadline, seen
        await asyncio.sleep(0.05)
    return task


@pytest.mark.parametrize(
    ("ignores", "grace", "presses", "exit_code", "within"),
    [
        pytest.param("", (5.0, 5.0), 1, 1, 4.0, id="sigint-is-enough"),
        pytest.param("SIGINT,SIGTERM", (0.3, 0.3), 1, 128 + 9, 5.0, id="escalates-to-sigkill"),
        pytest.param("SIGINT", (60.0, 60.0), 2, 128 + 15, 5.0, id="second-press-sigterm-now"),
    ],
)
async def test_cancel_stops_the_whole_group(
    tmp_path: Path,
    ignores: str,
    grace: tuple[float, float],
    presses: int,
    exit_code: int,
    within: float,
) -> None:
    seen = bytearray()
    runner = BuildRunner(_stubborn(tmp_path, ignores), seen.extend, grace=grace)
    task = await _start_stub(runner, seen)
    started = time.monotonic()
    for _ in range(presses):
        runner.cancel()
    result = await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < within
    assert result.canceled
    assert result.exit_code == exit_code
    assert result.mab_exit_code == 130
    assert _all_gone(_pids(seen))


async def test_cancel_before_start_never_starts() -> None:
    calls: list[bytes] = []
    runner = BuildRunner(py("print('should not run')"), calls.append)
    runner.cancel()
    result = await runner.run()
    assert result.canceled
    assert result.mab_exit_code == 130
    assert runner.pid is None
    assert calls == []


async def test_failing_consumer_stops_the_build(tmp_path: Path) -> None:
    seen = bytearray()

    def on_chunk(chunk: bytes) -> None:
        seen.extend(chunk)
        if seen.count(b"\n") >= 2:
            raise ValueError("decoder broke")

    runner = BuildRunner(_stubborn(tmp_path, ""), on_chunk, grace=(1.0, 1.0))
    with pytest.raises(ValueError, match="decoder broke"):
        await asyncio.wait_for(runner.run(), 10)
    assert _all_gone(_pids(seen))


async def test_task_cancellation_leaves_no_process(tmp_path: Path) -> None:
    seen = bytearray()
    runner = BuildRunner(_stubborn(tmp_path, ""), seen.extend, grace=(1.0, 1.0))
    task = await _start_stub(runner, seen)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _all_gone(_pids(seen))


async def test_missing_executable_is_an_environment_error() -> None:
    runner = BuildRunner(["/nonexistent/docker", "buildx"], lambda _c: None)
    with pytest.raises(EnvironmentNotReady, match="not found"):
        await runner.run()
