"""`mab replay -` follows its input as it comes and in bounded memory: a step's line is shown
while the writer still holds the pipe open, and input far larger than the memory the process
may use (here: NUL bytes and no newline, as a hostile or broken pipe sends) ends in the usual
clear message, not a MemoryError."""

from __future__ import annotations

import os
import resource
import select
import subprocess
import sys

from mab.errors import EXIT_USAGE
from tests.progress.progress_streams import Graph, encode

MB = 1024 * 1024


def _one_step_build() -> bytes:
    g = Graph()
    g.add("sha256:f", "[linux/amd64 1/2] FROM localhost:5000/base/busybox:1")
    g.add("sha256:r", "[linux/amd64 2/2] RUN make", "sha256:f")
    g.cached("sha256:f", 0.0)
    g.run("sha256:r", 0.5, 1.5)
    return encode(g.objects())


def test_a_step_is_shown_before_the_input_ends() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mab", "replay", "-", "--no-tui"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(_one_step_build() + b" " * (2 * MB))  # more than one read's worth
        proc.stdin.flush()
        shown = b""
        while b"RUN make" not in shown:
            # A guard against hanging forever, not a timing check: a replay that waits for
            # the end of its input never shows the line while the pipe stays open.
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, f"nothing shown while the input was still open: {shown!r}"
            piece = os.read(proc.stdout.fileno(), 65536)
            assert piece, "mab ended before its input did"
            shown += piece
    finally:
        proc.stdin.close()
        proc.wait()
    assert proc.returncode == 6  # the stream ended before the build did: `incomplete`


def _address_space(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_input_larger_than_memory_is_read_in_pieces() -> None:
    # The process may map at most 700 MB; the input is 1 GB of NULs without a newline.
    proc = subprocess.Popen(
        [sys.executable, "-m", "mab", "replay", "-", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: _address_space(700 * MB),
    )
    assert proc.stdin is not None and proc.stderr is not None
    piece = b"\0" * MB
    try:
        for _ in range(1024):
            proc.stdin.write(piece)
    except BrokenPipeError:
        pass  # it died early: the assertions below say how
    proc.stdin.close()
    err = proc.stderr.read().decode()
    proc.wait()
    assert "Traceback" not in err and "MemoryError" not in err
    assert "not a recorded build stream: no BuildKit progress objects" in err
    assert proc.returncode == EXIT_USAGE
