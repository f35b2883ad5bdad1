"""The TUI owns no signal handling of its own: the run does. Closing its terminal (SIGHUP to
mab, the pty gone) cancels the build (a stand-in `docker` that would run for a minute) and mab
exits 129 at once, leaving no build process behind."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

from tests.commands.test_build import FAKE_DOCKER

SLOW_DOCKER = FAKE_DOCKER.replace(
    '    cat "$MAB_FAKE_STREAM" >&2\n',
    '    echo $$ > "$MAB_FAKE_PID"\n    head -c 3000 "$MAB_FAKE_STREAM" >&2\n    sleep 60\n',
)
STREAM = Path(__file__).resolve().parents[1] / "fixtures" / "streams" / "cold-multi.rawjson"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _drain(fd: int, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                os.read(fd, 65536)
            except OSError:
                return


def test_closing_the_tui_terminal_cancels_the_build(tmp_path: Path) -> None:
    assert SLOW_DOCKER != FAKE_DOCKER
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "docker").write_text(SLOW_DOCKER)
    (tmp_path / "bin" / "docker").chmod(0o755)
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM scratch\n")
    env = dict(
        os.environ,
        PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        MAB_FAKE_STREAM=str(STREAM),
        MAB_FAKE_ARGV=str(tmp_path / "argv"),
        MAB_FAKE_PID=str(tmp_path / "pid"),
        TERM="xterm-256color",
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: mab in a terminal of its own
        os.chdir(project)
        os.execve(sys.executable, [sys.executable, "-m", "mab", "build"], env)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "pid").is_file() or not (tmp_path / "pid").read_text().strip():
            assert time.monotonic() < deadline, "the build never started"
            _drain(fd, 0.2)
        build = int((tmp_path / "pid").read_text())
        _drain(fd, 1.0)
        os.kill(pid, signal.SIGHUP)
    finally:
        os.close(fd)  # the terminal goes away
    deadline = time.monotonic() + 60
    while not (ended := os.waitpid(pid, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError("mab went on after its terminal closed")
        time.sleep(0.1)
    assert os.waitstatus_to_exitcode(ended[1]) == 128 + signal.SIGHUP
    assert not _alive(build), "the build mab started is still running"
