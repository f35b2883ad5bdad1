"""`mab build --ci` in a GitLab job (`GITLAB_CI=true`), against the real engine: plain progress
in the log, and the JSON summary, the Markdown summary and the metrics report as files for
`artifacts:` and `artifacts:reports:metrics`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mab.progress import ci
from tests.e2e.conftest import Engine

pytestmark = pytest.mark.engine

DOCKERFILE = """\
ARG BASE=localhost:5000/base/busybox:1
FROM ${BASE}
WORKDIR /app
COPY hello.txt ./
RUN wc -c hello.txt > size.txt
"""


def test_gitlab_job_writes_the_summaries_and_the_metrics(engine: Engine, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    (project / "hello.txt").write_text("hello from a GitLab job\n", encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "RUNNER_", "CI_")) and k != "MAB_REPORT_DIR"
    }
    env.update({"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": str(project)})
    argv = [sys.executable, "-m", "mab", "build", "--ci", "--platform", "linux/amd64,linux/arm64"]
    done = subprocess.run(
        [*argv, "--cache-backend", "none", "."],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    print(done.stdout[-3000:], done.stderr[-3000:])
    assert done.returncode == 0
    assert "::group::" not in done.stdout
    assert "section_start:" in done.stdout and "section_end:" in done.stdout
    report = project / ci.REPORT_DIR
    data = json.loads((report / ci.SUMMARY_JSON).read_text(encoding="utf-8"))
    assert data["status"] == "succeeded"
    assert "### ✅ Build succeeded" in (report / ci.SUMMARY_MARKDOWN).read_text(encoding="utf-8")
    metrics = (report / ci.METRICS_FILE).read_text(encoding="utf-8").splitlines()
    assert metrics[-1] == "# EOF"
    values = {}
    for line in metrics[:-1]:
        if line.startswith("# "):  # HELP and TYPE
            continue
        name, value = line.rsplit(" ", 1)
        assert re.fullmatch(r'[a-z_]+(\{platform="[a-z0-9/]+"\})?', name), line
        values[name] = float(value)
    assert values["mab_build_succeeded"] == 1
    assert set(data["platforms"]) == {"linux/amd64", "linux/arm64"}
    for platform, p in data["platforms"].items():
        label = f'{{platform="{platform}"}}'
        assert values[f"mab_steps{label}"] == p["steps"] == 3
        assert values[f"mab_steps_cached{label}"] == p["cached"]
        assert values[f"mab_steps_executed{label}"] == p["executed"]
        assert values[f"mab_cache_hit_ratio{label}"] == p["hit_ratio"]
        assert abs(values[f"mab_duration_seconds{label}"] - p["duration_s"]) <= 0.006
