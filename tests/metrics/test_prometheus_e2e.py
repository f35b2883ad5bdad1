"""The loop the README describes, for real: two builds on the real engine (two platforms,
the second one all from the local cache), each recorded in a history database and pushed to
Debian's Pushgateway; `mab metrics serve` exposes the history; Debian's Prometheus scrapes both
(started and stopped here, loopback only); its HTTP API answers with the hit ratios expected."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import engine_env
from tests.metrics import servers

pytestmark = pytest.mark.engine
PLATFORMS = "linux/amd64,linux/arm64"


def _mab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@contextmanager
def _serving(history: Path, tmp: Path) -> Iterator[str]:
    port = servers.free_port()
    argv = [sys.executable, "-m", "mab", "metrics", "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with servers.running([*argv, "--history", str(history)], f"{url}/metrics", tmp / "serve.log"):
        yield f"127.0.0.1:{port}"


def test_prometheus_sees_per_platform_hit_ratios(engine_ready: None, tmp_path: Path) -> None:
    servers.need(servers.PROMETHEUS)
    servers.need(servers.PUSHGATEWAY)
    project = engine_env.own_project(tmp_path / "project", "cat /token /app.txt > /both")
    history = tmp_path / "history.sqlite3"
    image = f"{engine_env.REGISTRY}/metrics-e2e/app"
    with servers.pushgateway(tmp_path) as gateway:
        summaries = []
        for _ in range(2):
            done = _mab(
                "build",
                ".",
                "--json",
                "--platform",
                PLATFORMS,
                "-t",
                f"{image}:e2e",
                "--history",
                str(history),
                "--pushgateway",
                gateway,
                cwd=project,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            summaries.append(json.loads(done.stdout))
        cold, warm = (s["platforms"] for s in summaries)
        with _serving(history, tmp_path) as target:
            gateway_target = gateway.removeprefix("http://")
            with servers.prometheus(tmp_path, [target, gateway_target]) as prom:
                for platform in PLATFORMS.split(","):
                    steps = cold[platform]["steps"] + warm[platform]["steps"]
                    cached = cold[platform]["cached"] + warm[platform]["cached"]
                    assert warm[platform]["cached"] == warm[platform]["steps"] > 0
                    q = f'mab_history_cache_hit_ratio{{platform="{platform}",window="1h"}}'
                    found = servers.query_until(prom, q)
                    assert found, f"Prometheus has no {q}"
                    assert float(found[0]["value"][1]) == pytest.approx(cached / steps, abs=1e-3)
                    labels = f'platform="{platform}",exported_job="mab",image="{image}"'
                    q = f"mab_cache_hit_ratio{{{labels}}}"
                    pushed = servers.query_until(prom, q)
                    assert pushed, f"Prometheus has no {q} (from the Pushgateway)"
                    assert float(pushed[0]["value"][1]) == 1.0  # the last push: the warm build
                builds = servers.query_until(prom, 'mab_history_builds_total{outcome="succeeded"}')
                assert {r["metric"]["platform"] for r in builds} == set(PLATFORMS.split(","))
                assert all(float(r["value"][1]) == 2 for r in builds)
