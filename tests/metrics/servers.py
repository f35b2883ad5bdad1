"""Debian's real Prometheus and Pushgateway, started by the tests themselves on loopback ports,
stopped after. Skipped with the reason when the packages are not installed."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PUSHGATEWAY = "prometheus-pushgateway"
PROMETHEUS = "prometheus"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed (apt-get install {binary}; .ci/run does)")
    return path


def get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as reply:  # loopback only
        body: bytes = reply.read()
        return body


def wait_until_up(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            get(url, timeout=1.0)
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {deadline_s}s")


@contextlib.contextmanager
def running(argv: list[str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(ready_url, proc)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def pushgateway(tmp: Path) -> Iterator[str]:
    binary = need(PUSHGATEWAY)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Its own persistence file: Debian's build otherwise keeps pushes in /var/lib across runs.
    argv = [
        binary,
        f"--web.listen-address=127.0.0.1:{port}",
        f"--persistence.file={tmp / 'pushgateway.data'}",
    ]
    with running(argv, f"{url}/-/ready", tmp / "pushgateway.log"):
        yield url


@contextlib.contextmanager
def prometheus(tmp: Path, targets: list[str], interval: str = "1s") -> Iterator[str]:
    binary = need(PROMETHEUS)
    port = free_port()
    config = tmp / "prometheus.yml"
    scrape = {
        "job_name": "mab",
        "scrape_interval": interval,
        "static_configs": [{"targets": targets}],
    }
    config.write_text(
        json.dumps({"global": {"scrape_interval": interval}, "scrape_configs": [scrape]})
    )
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    with running(argv, f"{url}/-/ready", tmp / "prometheus.log"):
        yield url


def query(prometheus_url: str, promql: str) -> list[dict[str, Any]]:
    q = urllib.parse.urlencode({"query": promql})
    data = json.loads(get(f"{prometheus_url}/api/v1/query?{q}"))
    assert data["status"] == "success", data
    result: list[dict[str, Any]] = data["data"]["result"]
    return result


def query_until(prometheus_url: str, promql: str, deadline_s: float = 60.0) -> list[dict[str, Any]]:
    """Poll until the query returns something (Prometheus scrapes on its own schedule)."""
    end = time.monotonic() + deadline_s
    while True:
        result = query(prometheus_url, promql)
        if result or time.monotonic() > end:
            return result
        time.sleep(0.5)
