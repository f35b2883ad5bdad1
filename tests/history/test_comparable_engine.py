"""Why and history compare like with like, on the real engine (two platforms, arm64 under
QEMU): a failed build's canceled steps are never hits; two Dockerfiles sharing an image name
are never compared with each other; a cache ref that does not exist yet is no import failure
(nor counted in the metric); `history diff` names the one changed file.

Each build goes through `mab build --json` with its own history database; the project is
tests/history/project (cheap steps), salted per test so no other build shares its cache keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Engine
from tests.history.test_why_engine import PLATFORMS, TIMEOUT_S

pytestmark = pytest.mark.engine


def run(project: Path, history: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "mab", *args]
    env = {**os.environ, "MAB_HISTORY": str(history)}
    return subprocess.run(
        argv, cwd=project, capture_output=True, text=True, timeout=TIMEOUT_S, env=env
    )


def build(project: Path, history: Path, base: str, *args: str, ok: bool = True) -> Any:
    argv = ["build", "--no-tui", "--json", "--platform", ",".join(PLATFORMS)]
    done = run(project, history, *argv, "--build-arg", f"BASE={base}", *args, ".")
    assert (done.returncode == 0) == ok, done.stderr[-3000:]
    return json.loads(done.stdout)


def why(project: Path, history: Path) -> Any:
    done = run(project, history, "why", "--json", "--all")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_build_that_failed_on_arm64_says_what_did_not_finish(
    project: Path, base: str, tmp_path: Path
) -> None:
    final = project / "Dockerfile"
    final.write_text(
        final.read_text()
        + 'RUN sleep 2; [ "$(uname -m)" != aarch64 ] || { echo "no arm64 here" >&2; exit 3; }\n'
    )
    history = tmp_path / "h.sqlite3"
    summary = build(project, history, base, ok=False)
    assert summary["status"] == "failed"
    shown = why(project, history)
    assert shown["outcome"] == "failed"
    arm = shown["unfinished"]["linux/arm64"]
    assert [u["state"] for u in arm] == ["failed"]
    amd = shown["unfinished"]["linux/amd64"]
    for u in amd:  # amd64 finished, or its unfinished steps say so: never "from the cache"
        assert u["state"] in ("canceled", "pending")
        assert u["reason"].startswith(("canceled because linux/arm64 failed", "it never ran"))
    text = run(project, history, "why").stdout
    if amd:
        assert "every step came from the cache" not in text.split("linux/arm64")[0]


def test_two_dockerfiles_sharing_an_image_are_never_compared(
    engine: Engine, project: Path, base: str, tmp_path: Path
) -> None:
    (project / "Dockerfile.dev").write_text(
        "ARG BASE\nFROM ${BASE} AS dev\nWORKDIR /devwork\nCOPY src/ ./src/\nRUN ls src > listing\n"
    )
    history = tmp_path / "h.sqlite3"
    tag = f"{engine.unique_ref('shared-name')}:latest"
    build(project, history, base, "-t", tag)
    build(project, history, base, "-t", tag, "-f", "Dockerfile.dev")
    (project / "src" / "main.sh").write_text('echo "edited"\n')
    summary = build(project, history, base, "-t", tag)
    for platform in PLATFORMS:
        step = summary["first_miss"][platform]
        assert (step["stage"], step["index"]) == ("src", 1)
        assert step["why"][platform]["cause"] == "sources_changed"
        assert step["why"][platform]["detail"] == "src/main.sh changed"
    summary = build(project, history, base, "-t", tag, "-f", "Dockerfile.dev")
    for platform in PLATFORMS:  # compared with the first dev build, not the main Dockerfile's
        step = summary["first_miss"][platform]
        assert (step["stage"], step["index"]) == ("", 3)  # one stage: no stage name
        assert step["why"][platform]["detail"] == "src/main.sh changed"


def test_a_cache_ref_that_does_not_exist_yet_is_no_failure(
    engine: Engine, project: Path, base: str, tmp_path: Path
) -> None:
    never = engine.unique_ref("never-written")
    refused = engine.unique_ref("refused").replace(engine.registry, "127.0.0.1:5001")
    args = ["--metrics-file", str(tmp_path / "metrics.prom")]
    # amd64: a ref that does not exist yet; arm64: one on the registry that wants a login
    args += ["--cache-from", f"type=registry,ref={never}:buildcache-linux-amd64"]
    args += ["--cache-from", f"type=registry,ref={refused}:buildcache-linux-arm64"]
    history = tmp_path / "h.sqlite3"
    summary = build(project, history, base, *args)
    amd = summary["first_miss"]["linux/amd64"]["why"]["linux/amd64"]
    assert amd["cause"] == "unknown"
    assert amd["detail"].endswith(f"no cache yet at {never}:buildcache-linux-amd64 (a first build)")
    arm = summary["first_miss"]["linux/arm64"]["why"]["linux/arm64"]
    assert arm["cause"] == "cache_unavailable"
    assert "failed" in arm["detail"] and "not found" not in arm["detail"]
    metrics = (tmp_path / "metrics.prom").read_text()
    failures = {
        line.split('platform="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("mab_cache_import_failures{")
    }
    assert failures == {"linux/amd64": 0.0, "linux/arm64": 1.0}
    shown = run(project, history, "history", "show").stdout
    assert "no cache yet" in shown and "FAILED" in shown


def test_history_diff_names_the_one_changed_file(project: Path, base: str, tmp_path: Path) -> None:
    history = tmp_path / "h.sqlite3"
    build(project, history, base)
    (project / "src" / "main.sh").write_text('echo "changed"\n')
    build(project, history, base)
    done = run(project, history, "history", "diff", "1", "2", "--json")
    assert done.returncode == 0, done.stderr
    lines = json.loads(done.stdout)["steps"]
    inputs = {
        (line["platform"], line["step"].split(" COPY")[0]): c
        for line in lines
        for c in line["changes"]
        if not c.startswith("state ")
    }
    assert inputs == {(p, "src 1/2"): "sources: src/main.sh changed" for p in PLATFORMS}
