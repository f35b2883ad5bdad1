"""A signal that ends mab ends the build it started: closing the terminal (SIGHUP) or SIGTERM
during a `--push` build leaves no `docker buildx build` behind and pushes nothing (buildx runs
in its own session, so only mab hears the signal; the run passes it on)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests import engine_env

SLOW = "FROM localhost:5000/base/busybox:1\nARG MARK\nRUN echo $MARK && sleep 60\n"


@pytest.mark.engine
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_a_signal_that_ends_mab_ends_its_push_build(
    sig: signal.Signals, tmp_path: Path, engine_ready: None
) -> None:
    (tmp_path / "Dockerfile").write_text(SLOW)
    mark = f"mab-signal-{uuid.uuid4().hex}"
    repository = f"test/signal-{uuid.uuid4().hex[:12]}"
    tag = f"{engine_env.REGISTRY}/{repository}:pushed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mab", "build", "--no-tui", "--platform", "linux/amd64",
         "-t", tag, "--push", "--build-arg", f"MARK={mark}", "."],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    engine_env.wait_for_buildx(proc, mark)
    time.sleep(3)  # let the RUN step start
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    assert "Build canceled" in out or "CANCELED" in out.upper(), out
    time.sleep(0.5)
    assert not engine_env.buildx_running(mark), "a docker buildx build process was left behind"
    tags = f"http://{engine_env.REGISTRY}/v2/{repository}/tags/list"
    assert engine_env.http_status(tags) == 404, "the canceled build pushed its image"
