"""Why did it miss, on the real engine: two platforms (linux/arm64 under QEMU), one scripted
change per cause, each build through `mab build --json`; the first miss of each platform must
name the right cause. Then the fresh-runner path: a `--ci` build explains its misses with only
the record it fetched from the registry.

The project is tests/history/project (cheap steps). Each test builds on its own copy of the
engine's base image (a label salted per run, pushed to the local registry), so no other build
on the shared engine shares its cache keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Engine
from tests.history.conftest import push_base

pytestmark = pytest.mark.engine

PLATFORMS = ("linux/amd64", "linux/arm64")
TIMEOUT_S = 240


def mab(project: Path, history: Path, *args: str, buildx: tuple[str, ...] = ()) -> Any:
    argv = [sys.executable, "-m", "mab", "build", "--no-tui", "--json", *args]
    argv += ["--platform", ",".join(PLATFORMS), ".", "--", *buildx]
    done = subprocess.run(
        argv,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        env={**os.environ, "MAB_HISTORY": str(history)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def first_causes(summary: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """Per platform: (step label, cause, detail) of its first miss."""
    out = {}
    for platform, step in summary["first_miss"].items():
        assert step is not None, f"{platform}: no miss"
        why = step["why"][platform]
        label = f"{step['stage']} {step['index']}/{step['total']}"
        out[platform] = (label, why["cause"], why["detail"])
    return out


def whys(summary: dict[str, Any], platform: str) -> dict[str, dict[str, str]]:
    return {
        f"{s['stage']} {s['index']}/{s['total']}": s["why"][platform]
        for s in summary["steps"]
        if platform in s.get("why", {})
    }


def twice(
    project: Path, tmp_path: Path, base: str, change: Any, *later: str, buildx: tuple[str, ...] = ()
) -> Any:
    history = tmp_path / "history.sqlite3"
    mab(project, history, "--build-arg", f"BASE={base}")
    change()
    return mab(project, history, "--build-arg", f"BASE={base}", *later, buildx=buildx)


def test_a_source_file_edit(project: Path, base: str, tmp_path: Path) -> None:
    def edit() -> None:
        (project / "src" / "main.sh").write_text('echo "changed"\n')
        (project / "src" / "scratch.tmp").write_text("ignored by .dockerignore\n")

    summary = twice(project, tmp_path, base, edit)
    for platform in PLATFORMS:
        assert first_causes(summary)[platform] == (
            "src 1/2",
            "sources_changed",
            "src/main.sh changed",
        )


def test_a_build_arg_change(project: Path, base: str, tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    mab(project, history, "--build-arg", f"BASE={base}")
    summary = mab(project, history, "--build-arg", f"BASE={base}", "--build-arg", "LEVEL=2")
    for platform in PLATFORMS:
        assert first_causes(summary)[platform] == ("deps 2/2", "arg_changed", "LEVEL: 1 → 2")


def test_the_base_image_retagged_to_a_new_digest(
    engine: Engine, project: Path, base: str, tmp_path: Path
) -> None:
    # --pull: the docker driver would otherwise use the copy of the old base in its image store
    retag = lambda: push_base(engine, base, uuid.uuid4().hex)  # noqa: E731
    summary = twice(project, tmp_path, base, retag, buildx=("--pull",))
    for platform in PLATFORMS:
        label, cause, detail = first_causes(summary)[platform]
        assert (label, cause) == ("base 2/2", "base_moved")
        assert detail.startswith(f"{base} moved: sha256:")
        assert whys(summary, platform)["src 2/2"]["root"].startswith("base 2/2")


def test_an_instruction_edit(project: Path, base: str, tmp_path: Path) -> None:
    def edit() -> None:
        dockerfile = project / "Dockerfile"
        text = dockerfile.read_text().replace("cat src/*.sh > app.sh", "cat src/*.sh >> app.sh")
        dockerfile.write_text(text)

    summary = twice(project, tmp_path, base, edit)
    for platform in PLATFORMS:
        label, cause, detail = first_causes(summary)[platform]
        assert (label, cause) == ("src 2/2", "instruction_changed")
        assert "cat src/*.sh > app.sh" in detail


def test_a_lockfile_change_cascades(project: Path, base: str, tmp_path: Path) -> None:
    def edit() -> None:
        (project / "deps.lock").write_text((project / "deps.lock").read_text() + "is-odd 3.0\n")

    summary = twice(project, tmp_path, base, edit)
    for platform in PLATFORMS:
        assert first_causes(summary)[platform] == (
            "deps 1/2",
            "sources_changed",
            "deps.lock changed",
        )
        later = whys(summary, platform)
        assert later["deps 2/2"]["cause"] == "parent_missed"
        assert later["deps 2/2"]["root"].startswith("deps 1/2 COPY deps.lock")
        assert later["final 1/3"]["root"].startswith("deps 1/2 COPY deps.lock")


def test_a_missing_cache_ref(engine: Engine, project: Path, base: str, tmp_path: Path) -> None:
    missing = engine.unique_ref("never-written")
    specs = [f"type=registry,ref={missing}:buildcache-{p.replace('/', '-')}" for p in PLATFORMS]
    args = [a for spec in specs for a in ("--cache-from", spec)]
    summary = mab(project, tmp_path / "h.sqlite3", "--build-arg", f"BASE={base}", *args)
    for platform in PLATFORMS:
        _, cause, detail = first_causes(summary)[platform]
        assert cause == "unknown"  # a first build: nothing to compare with, no cache to blame
        mine = f"{missing}:buildcache-{platform.replace('/', '-')}"
        assert detail.endswith(f"no cache yet at {mine} (a first build)")


def test_no_cache(project: Path, base: str, tmp_path: Path) -> None:
    summary = twice(project, tmp_path, base, lambda: None, "--no-cache")
    for platform in PLATFORMS:
        assert first_causes(summary)[platform][1:] == (
            "cache_disabled",
            "the build ran with --no-cache",
        )
        assert {w["cause"] for w in whys(summary, platform).values()} == {"cache_disabled"}


def prune() -> None:
    subprocess.run(["docker", "builder", "prune", "-af"], capture_output=True, check=True)


def test_a_pruned_builder_with_a_registry_cache_that_hits(
    engine: Engine, project: Path, base: str, tmp_path: Path
) -> None:
    image = engine.unique_ref("why-pruned")
    history = tmp_path / "history.sqlite3"
    for platform in PLATFORMS:  # one cache per platform, as mab init-ci writes them
        ref = f"{image}:buildcache-{platform.replace('/', '-')}"
        argv = [sys.executable, "-m", "mab", "build", "--no-tui", "--json", "--platform", platform]
        argv += ["--build-arg", f"BASE={base}", "--cache-to", f"type=registry,ref={ref},mode=max"]
        argv += ["--cache-from", f"type=registry,ref={ref}", "."]
        env = {**os.environ, "MAB_HISTORY": str(history)}
        done = subprocess.run(argv, cwd=project, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
    prune()
    refs = [f"{image}:buildcache-{p.replace('/', '-')}" for p in PLATFORMS]
    args = [a for ref in refs for a in ("--cache-from", f"type=registry,ref={ref}")]
    summary = mab(project, history, "--build-arg", f"BASE={base}", *args)
    for platform in PLATFORMS:
        assert summary["platforms"][platform]["hit_ratio"] == 1.0
        assert summary["first_miss"][platform] is None
        assert whys(summary, platform) == {}


FRESH_ATTEMPTS = 3


def test_a_fresh_runner_explains_its_misses_from_the_registry_record(
    engine: Engine, project: Path, base: str, tmp_path: Path
) -> None:
    source = project / "src" / "main.sh"
    original = source.read_text()

    def ci(prefix: str, history: Path, report: Path) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "mab", "build", "--ci", "--cache-prefix", prefix]
        argv += ["--platform", ",".join(PLATFORMS), "--build-arg", f"BASE={base}", "."]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_"))}
        env.update(
            MAB_HISTORY=str(history),
            GITHUB_ACTIONS="true",
            GITHUB_STEP_SUMMARY=str(report / "step-summary.md"),
            MAB_REPORT_DIR=str(report),
        )
        report.mkdir(parents=True, exist_ok=True)
        return subprocess.run(argv, cwd=project, capture_output=True, text=True, env=env)

    expected = ("src 1/2", "sources_changed", "src/main.sh changed")
    faults = []
    for attempt in range(FRESH_ATTEMPTS):
        prefix = engine.unique_ref(f"why-fresh-{attempt}")
        work = tmp_path / str(attempt)
        source.write_text(original)
        first = ci(prefix, work / "runner-a.sqlite3", work / "a")
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
        assert "build record pushed to" in first.stderr
        prune()  # a fresh runner: nothing in the builder, and (below) an empty history
        source.write_text('echo "changed on a branch"\n')
        second = ci(prefix, work / "runner-b.sqlite3", work / "b")
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
        assert "build record read from" in second.stderr
        summary = json.loads((work / "b" / "summary.json").read_text())
        causes = first_causes(summary)
        if causes == dict.fromkeys(PLATFORMS, expected):
            break
        # An engine fault, not mab's: BuildKit's export said DONE but the cache did not hold
        # steps the record says it wrote (seen about once in four runs, see the README's
        # cache health). mab must then say `unknown`, never guess; the job runs again.
        wrong = {p: c for p, c in causes.items() if c != expected}
        assert all(c[1] == "unknown" for c in wrong.values()), causes
        faults.append(wrong)
    else:
        pytest.xfail(f"BuildKit's cache export came out short {FRESH_ATTEMPTS} times: {faults}")
    markdown = (work / "b" / "step-summary.md").read_text()
    assert markdown.count("sources changed: src/main.sh changed") == len(PLATFORMS)
