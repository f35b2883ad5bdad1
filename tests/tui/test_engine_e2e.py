"""End to end on the real engine: `mab build`'s app runs a two-platform build of the reference
project to its end, `r` reruns it, and the rerun shows the dependency steps cached on every
platform. Skipped, with the reason printed, where no engine can be provisioned."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from mab.engine.buildcmd import BuildRequest
from mab.progress.model import BuildModel, BuildStatus, StepState, StepView
from mab.run.options import RunOptions
from mab.tui.app import MabApp
from mab.tui.source import LiveSource
from tests import engine_env as engine_check
from tests.e2e.cachebuilds import BUILD_TIMEOUT_S, DEPS_STAGE, copy_project


@pytest.fixture
def engine_platforms() -> tuple[str, ...]:
    ok, reason = engine_check.engine_available()
    if not ok:
        print(f"skipping: real engine not available: {reason}")
        pytest.skip(f"real engine not available: {reason}")
    return engine_check.PLATFORMS


def deps_steps(model: BuildModel, platform: str) -> list[StepView]:
    steps = [
        v
        for v in model.steps()
        if v.stage == DEPS_STAGE and v.is_instruction and platform in v.platforms
    ]
    assert steps, f"no {DEPS_STAGE} steps listed for {platform}"
    return steps


async def wait_for_run(app: MabApp, number: int) -> None:
    deadline = time.monotonic() + BUILD_TIMEOUT_S
    while time.monotonic() < deadline:
        state = app.state
        if state is not None and state.number == number and not state.running:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"run {number} did not finish in {BUILD_TIMEOUT_S}s")


@pytest.mark.engine
async def test_rerun_shows_the_dependency_steps_cached_on_every_platform(
    engine_platforms: tuple[str, ...], tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project", uuid.uuid4().hex)  # cold: a new lockfile
    tag = f"{engine_check.REGISTRY}/test/tui-e2e-{uuid.uuid4().hex[:12]}:latest"
    request = BuildRequest(context=str(project), platforms=engine_platforms, tags=(tag,), push=True)
    app = MabApp(
        LiveSource(RunOptions(request=request, live=True)), animate=False, export_dir=tmp_path
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_run(app, 1)
        first = app.state
        assert first is not None
        # Every step ran. (This engine may still end a cold multi-platform build with
        # "ERROR: failed to solve: not found" after the last step; the app shows it as is.)
        for platform in engine_platforms:
            assert {v.state for v in deps_steps(first.model, platform)} == {StepState.DONE}
        await pilot.press("r")
        await wait_for_run(app, 2)
        second = app.state
        assert second is not None and second is not first
        assert second.model.status is not BuildStatus.RUNNING
        for platform in engine_platforms:
            deps = deps_steps(second.model, platform)
            assert {v.state for v in deps} == {StepState.CACHED}, (platform, deps)
            column = app.query_one("#columns").lists[platform]  # type: ignore[attr-defined]
            assert all(v.key in column.keys for v in deps)
        header = app.query_one("#header").info  # type: ignore[attr-defined]
        assert all(p.change is not None for p in header.platforms)  # compared with run 1
