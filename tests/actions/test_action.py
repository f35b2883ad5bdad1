"""The composite action, run step by step as a runner runs it, against the real engine.

`harness.run_action` executes the `run:` steps with bash, with the runner's file commands,
and stands in for the `uses:` steps that need GitHub by checking their effect is already on
this machine (see `harness`); each test prints which steps ran, were emulated or skipped.
Builds the reference project for linux/amd64 and linux/arm64 (QEMU) and pushes it to the
local registry.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.actions.harness import (
    ActionRun,
    CacheStore,
    HarnessError,
    active_commands,
    checkout,
    read_file_commands,
    run_action,
)
from tests.e2e.conftest import Engine

pytestmark = pytest.mark.engine

PLATFORMS = "linux/amd64,linux/arm64"
_ROW = re.compile(r"^\| `(?P<platform>[^`]+)` \|(?P<cells>.*)\|$")
FAILING_DOCKERFILE = """\
ARG BASE=localhost:5000/base/busybox:1
FROM ${BASE}
RUN echo "checking the toolchain on $(uname -m)"; \\
    echo "::add-mask::not-a-secret"; echo "::set-output name=digest::sha256:forged"; \\
    echo "error: no compiler for this target" >&2; exit 3
"""


@pytest.fixture(scope="module")
def action_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return checkout(tmp_path_factory.mktemp("action-checkout"))


@pytest.fixture(scope="module")
def cache_store(tmp_path_factory: pytest.TempPathFactory) -> CacheStore:
    """One actions/cache store for the module: the second run restores the first's mab."""
    return CacheStore(tmp_path_factory.mktemp("actions-cache"))


def _show(run: ActionRun) -> None:
    for step in run.steps:
        print(f"{step.id:<12} {step.outcome:<8} {step.note}")


def _summary_json(run: ActionRun) -> dict[str, Any]:
    path = Path(run.outputs["summary-path"])
    assert path.is_file(), f"summary-path {path} does not exist"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _table(markdown: str) -> dict[str, list[str]]:
    """The per-platform rows of the job summary's first table."""
    rows = {}
    for line in markdown.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match["platform"]] = [c.strip() for c in match["cells"].split("|")]
    return rows


def _check_summary_numbers(run: ActionRun, data: dict[str, Any]) -> None:
    rows = _table(run.summary)
    assert set(rows) == set(data["platforms"]), run.summary
    for platform, p in data["platforms"].items():
        steps, cached, executed, failed, canceled, hits, duration = rows[platform]
        assert [int(steps), int(cached), int(executed), int(failed), int(canceled)] == [
            p["steps"],
            p["cached"],
            p["executed"],
            p["failed"],
            p["canceled"],
        ]
        assert hits == f"{p['cached'] / p['steps'] * 100:.0f}%"
        # The JSON keeps 2 decimals, the table 1: the same figure within rounding.
        assert abs(float(duration.rstrip("s")) - p["duration_s"]) <= 0.051


def _registry_digest(ref: str) -> str:
    done = subprocess.run(
        ["docker", "buildx", "imagetools", "inspect", ref, "--format", "{{json .Manifest}}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    manifest = json.loads(done.stdout)
    platforms = {
        f"{m['platform']['os']}/{m['platform']['architecture']}"
        for m in manifest.get("manifests", [])
        if m.get("platform", {}).get("os") != "unknown"
    }
    assert platforms == set(PLATFORMS.split(","))
    digest: str = manifest["digest"]
    return digest


def test_builds_pushes_and_reports_then_rebuilds_from_caches(
    engine: Engine,
    reference_project: Path,
    tmp_path: Path,
    action_path: Path,
    cache_store: CacheStore,
) -> None:
    image = f"{engine.registry}/test/mab-action"
    inputs = {
        "platforms": PLATFORMS,
        "image": image,
        "push": "true",
        # A stable prefix: per-platform registry caches that later runs read.
        "cache-ref-prefix": f"{engine.registry}/test/mab-action-cache",
    }
    runs = []
    for attempt in ("first", "second"):
        tag = f"{image}:{attempt}-{uuid.uuid4().hex[:8]}"
        run = run_action(
            {**inputs, "tags": tag},
            workspace=reference_project,
            temp=tmp_path / "runner-temp",
            cache=cache_store,
            action_dir=action_path,
        )
        print(f"--- {attempt} run")
        _show(run)
        assert run.exit_code == 0, run.log[-6000:]
        data = _summary_json(run)
        assert data["status"] == "succeeded"
        assert set(data["platforms"]) == set(PLATFORMS.split(","))
        assert json.loads(run.outputs["hit-ratio"]) == {
            p: v["hit_ratio"] for p, v in data["platforms"].items()
        }
        digest = run.outputs["digest"]
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
        assert run.outputs["image"] == f"{image}@{digest}"
        assert _registry_digest(tag) == digest
        _check_summary_numbers(run, data)
        assert "### ✅ Build succeeded" in run.summary
        # The local engine has QEMU and a builder for both platforms (the `engine` fixture
        # checked): the action's own check finds them, and skips the steps that need GitHub.
        assert run.step_outputs["mab-builder"] == {"qemu": "false", "builder": "false"}
        assert run.step("mab-qemu").outcome == "skipped"
        assert run.step("mab-buildx").outcome == "skipped"
        assert "::group::Build linux/amd64, linux/arm64" in run.log
        assert "::stop-commands::" in run.log
        runs.append((run, data))
    (first, _), (second, data) = runs
    assert "missed" in first.step("mab-cache").note
    assert "restored" in second.step("mab-cache").note
    assert "mab is installed" in second.log
    # Nothing changed between the runs: the second build reuses layers on every platform.
    # (How many steps count as cached is the progress model's call, and the engine is shared
    # with other builds, so only "some" is asserted here; the numbers are checked above.)
    assert all(v["cached"] > 0 for v in data["platforms"].values()), data["platforms"]


def test_push_by_digest_asks_for_a_builder_on_the_docker_driver(
    engine: Engine,
    reference_project: Path,
    tmp_path: Path,
    action_path: Path,
    cache_store: CacheStore,
) -> None:
    """What a job of `mab init-ci --use-action`'s native matrix does: one platform, no tags,
    pushed by digest. The `docker` driver cannot push by digest, so the action's check asks
    for a buildx builder (setup-buildx-action on GitHub, whose default builder is that driver
    too). This engine has only the `docker` driver and no image to start another builder
    from: the harness, which stands in for nothing that needs GitHub, stops there, as this
    test expects."""
    inputs = {
        "platforms": "linux/arm64",
        "image": f"{engine.registry}/test/mab-action-digest",
        "push": "true",
    }
    with pytest.raises(HarnessError, match="docker/setup-buildx-action"):
        run_action(
            inputs,
            workspace=reference_project,
            temp=tmp_path / "runner-temp",
            cache=cache_store,
            action_dir=action_path,
        )
    outputs = read_file_commands(_last_output(tmp_path / "runner-temp", "builder="))
    assert outputs == {"qemu": "false", "builder": "true"}


def _last_output(temp: Path, containing: str) -> str:
    files = sorted((temp / "_runner_file_commands").glob("set_output_*"))
    return next(t for f in reversed(files) if containing in (t := f.read_text(encoding="utf-8")))


def _buildx_exit_code(context: Path) -> int:
    done = subprocess.run(
        ["docker", "buildx", "build", "--progress=quiet", "--platform", PLATFORMS, str(context)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    return done.returncode


def test_a_failed_build_fails_the_step_with_buildx_exit_code_after_the_summary(
    engine: Engine, tmp_path: Path, action_path: Path, cache_store: CacheStore
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text(FAILING_DOCKERFILE, encoding="utf-8")
    run = run_action(
        {"platforms": PLATFORMS, "cache-backend": "none"},
        workspace=project,
        temp=tmp_path / "runner-temp",
        cache=cache_store,
        action_dir=action_path,
    )
    _show(run)
    expected = _buildx_exit_code(project)
    assert expected != 0
    assert run.step("mab-build").outcome == "failure"
    assert run.exit_code == expected
    assert run.outputs["status"] == "failed"
    data = _summary_json(run)
    assert data["status"] == "failed"
    assert data["error"]["step"]
    _check_summary_numbers(run, data)
    assert "### ❌ Build failed" in run.summary
    assert "**Failed step:**" in run.summary
    assert "error: no compiler for this target" in run.summary
    # The build's own lines are quoted: of the workflow commands in the log, the runner
    # would act on mab's groups and its one error annotation only.
    commands = active_commands(run.log)
    assert "::add-mask::not-a-secret" in run.log
    assert not [c for c in commands if not c.startswith(("::group::", "::endgroup::", "::error"))]
    assert [c for c in commands if c.startswith("::error")] == [
        next(c for c in commands if c.startswith("::error title=mab build failed::"))
    ]
    assert run.outputs["digest"] == ""
