"""The `shell` profile's pipeline, run for real by `gitlab-ci-local` on the real engine.

The reference project (tests/e2e/project, its lockfile salted so that nothing built before can
make the first run warm) in a git repository with a GitLab remote; `mab init-ci --gitlab
--gitlab-runner shell` writes the pipeline; gitlab-ci-local runs every job with the host's shell
and Docker, as a self-hosted shell runner would, for a push to the default branch:

1. a cold run builds linux/amd64 and linux/arm64 (emulated) in one job each, pushes each
   platform, writes each platform's registry cache, and the merge job pushes the manifest list;
2. after a source-only change and `docker builder prune -af` (a fresh runner), a second run
   reports, through mab's own reading of each build's `--progress=rawjson` stream, every step
   of the `deps` stage cached on both platforms, and the source stage built again (another
   source-only change where the engine's native-platform build missed everything: see the
   note in the test).

The engine here has only buildx's `docker` driver (no BuildKit image to pull for a
`docker-container` builder), so this runs the profile's fallback: the current builder, and a
pushed tag of the pipeline's own per platform instead of a push by digest.

Skipped, with the reason printed, where there is no engine or no gitlab-ci-local. No timing is
asserted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import engine_env as engine_check
from tests.e2e.cachebuilds import (
    CACHE_CONFIG,
    DEPS_STAGE,
    SRC_STAGE,
    cache_manifest,
    change_source,
    copy_project,
    private_base,
    prune,
)
from tests.gitlab.cilocal import (
    PipelineRun,
    build_summary,
    commit,
    git,
    git_repo,
    gitlab_ci_local,
    run_pipeline,
)
from tests.gitlab.wheel import build_wheel

PLATFORMS = ("linux/amd64", "linux/arm64")
STATE = ".gitlab-ci-local"  # gitlab-ci-local's state directory in the project
# What mab_build prints just before its build on a `docker` driver builder.
PUSHED = re.compile(r"^mab: the docker driver cannot push by digest; pushing (\S+)$", re.M)


def builds(run: PipelineRun, image: str) -> dict[str, str]:
    """platform -> the rawjson stream of its build job's build (what follows PUSHED)."""
    found: dict[str, str] = {}
    for text in run.logs("mab-build-"):
        match = PUSHED.search(text)
        assert match, text[-3000:]
        tag = match.group(1)
        assert tag.startswith(f"{image}:mab-"), tag
        platform = next(p for p in PLATFORMS if tag.endswith("-" + p.replace("/", "-")))
        found[platform] = text[match.end() :]
    return found


def states(summary: dict[str, Any], stage: str) -> dict[str, str]:
    """`{"2/2 RUN set -e; ...": "cached"}` for the stage's instructions other than FROM."""
    steps = [
        s
        for s in summary["steps"]
        if s["stage"] == stage and not s["instruction"].upper().startswith("FROM ")
    ]
    return {f"{s['index']}/{s['total']} {s['instruction'][:40]}": s["state"] for s in steps}


def manifest_platforms(ref: str) -> set[str]:
    done = subprocess.run(
        ["docker", "buildx", "imagetools", "inspect", "--raw", ref],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    index = json.loads(done.stdout)
    return {
        f"{m['platform']['os']}/{m['platform']['architecture']}"
        for m in index.get("manifests", [])
        if m.get("platform", {}).get("os") != "unknown"
    }


def engine_platform() -> str:
    done = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def assert_passed(run: PipelineRun, jobs: int) -> None:
    assert run.exit_code == 0, run.output[-6000:]
    passed = re.findall(r"^\s*PASS\s+(\S.*?)\s*$", run.output, re.M)
    assert len(passed) == jobs, run.output[-3000:]


@pytest.mark.engine
@pytest.mark.usefixtures("engine_ready")  # skips, with the reason, where there is no engine
def default_branch_pipeline(image: str, salt: str) -> dict[str, str]:
    """The variables of a pipeline on the default branch pushing `image` to the local registry."""
    return {
        # The reference Dockerfile's base image, a copy of this run's own: no other build on
        # the shared engine has its cache keys (see tests/e2e/cachebuilds.py).
        "MAB_BUILD_ARGS": f"BASE={private_base(image, salt)}",
        "CI_REGISTRY": engine_check.REGISTRY,
        "CI_REGISTRY_IMAGE": image,
        "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": "job-token",  # the local registry is open: any login works
        "CI_DEFAULT_BRANCH": "main",
        "CI_COMMIT_BRANCH": "main",  # the default branch writes the layer caches
        # BuildKit's SBOM scanner image is on Docker Hub, out of reach here; keyless signing
        # needs GitLab's OIDC issuer (the sign job is checked by the schema and shellcheck)
        "MAB_SBOM": "false",
        "MAB_SIGN": "false",
    }


def test_the_shell_pipeline_builds_pushes_and_keeps_the_deps_cached(tmp_path: Path) -> None:
    gitlab_ci_local()  # skips, with the reason, when it is not installed
    repo = git_repo(copy_project(tmp_path / "app", uuid.uuid4().hex))  # a salted lockfile
    init = [sys.executable, "-m", "mab", "init-ci", "--gitlab", "--gitlab-runner", "shell"]
    done = subprocess.run(init, cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    commit(repo, "mab init-ci")
    salt = uuid.uuid4().hex
    image = f"{engine_check.REGISTRY}/test/gitlab-shell-{salt[:12]}"
    variables = {
        **default_branch_pipeline(image, salt),
        "BUILDKIT_PROGRESS": "rawjson",  # buildx's stream, for mab to read from the job logs
        "MAB_PIP_SPEC": str(build_wheel(tmp_path / "mab")),  # what the verify job installs
    }

    prune()  # a fresh runner for the cold run too
    cold = run_pipeline(repo, variables, STATE)
    assert_passed(cold, jobs=4)  # two builds, the merge, and `mab verify` of what it published
    (verified,) = cold.logs("mab-verify-")
    assert "verdict: OK, no findings" in verified, verified[-3000:]
    assert "provenance: SLSA" in verified
    assert manifest_platforms(f"{image}:main") == set(PLATFORMS)
    assert manifest_platforms(f"{image}:sha-{git(repo, 'rev-parse', '--short=8', 'HEAD').strip()}")
    for platform in PLATFORMS:
        cache = cache_manifest(f"{image}:buildcache-{platform.replace('/', '-')}")
        assert cache is not None and cache["config"]["mediaType"] == CACHE_CONFIG, platform
    cold_builds = builds(cold, image)
    assert set(cold_builds) == set(PLATFORMS)
    for platform, text in cold_builds.items():
        deps = states(build_summary(text, platform), DEPS_STAGE)
        assert "done" in deps.values(), (platform, deps)  # the salted lockfile: really cold

    # Seen on this engine (Docker 26's BuildKit, `docker` driver, shared with other builds)
    # before the private base image, with mab's job and with hand-typed `docker buildx build`
    # commands alike: now and then the native platform's build (here linux/amd64) missed every
    # step of its registry cache, even WORKDIR, the cold export having lost most records'
    # layers; the emulated platform's never did. So another source-only change gets another
    # try (up to three, the misses printed), and where the native platform missed on all of
    # them while the emulated one hit, the test is marked xfail with that reason rather than
    # failed. Any miss on the emulated platform fails it.
    native = engine_platform()
    misses: dict[str, dict[str, str]] = {}
    for attempt in (1, 2, 3):
        change_source(repo, f"source-only change {attempt}")
        commit(repo, f"source-only change {attempt}", "src")
        prune()  # a fresh runner: only the registry caches are left
        warm = run_pipeline(repo, variables, STATE)
        assert_passed(warm, jobs=4)
        assert manifest_platforms(f"{image}:main") == set(PLATFORMS)
        warm_builds = builds(warm, image)
        assert set(warm_builds) == set(PLATFORMS)
        misses = {}
        for platform, text in warm_builds.items():
            summary = build_summary(text, platform)
            deps, src = states(summary, DEPS_STAGE), states(summary, SRC_STAGE)
            print(f"source-only change {attempt}, {platform}: deps {deps}; src {src}")
            assert "done" in src.values(), (platform, src)  # the change was built
            if not deps or set(deps.values()) != {"cached"}:
                misses[platform] = deps
        assert set(misses) <= {native}, misses  # the emulated platform never misses
        if not misses:
            return
        print(f"deps-stage steps not all cached after source-only change {attempt}: {misses}")
    reason = f"the engine's own platform's build ({native}) missed its registry cache 3 times"
    print(f"xfail: {reason}")
    pytest.xfail(reason)


# --- the `mab` profile: build jobs that run `mab build --ci` --------------------------------


def summaries(repo: Path) -> dict[str, dict[str, Any]]:
    """platform -> the summary.json each build job kept as an artifact."""
    found: dict[str, dict[str, Any]] = {}
    for path in (repo / STATE / "artifacts").rglob("report/summary.json"):
        summary = json.loads(path.read_text(encoding="utf-8"))
        (platform,) = summary["platforms"]  # one platform per build job
        found[platform] = summary
    return found


def without_docker_images(repo: Path) -> None:
    """gitlab-ci-local runs a job with an `image:` in Docker, with its own helper image and
    the dind service from Docker Hub, which is not reachable here: the profile's jobs run in
    the shell executor with the host's Docker and Python instead (what they run is unchanged)."""
    path = repo / ".gitlab/ci/mab.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for job in doc.values():  # the hidden job, and the sign and verify jobs' own images
        if isinstance(job, dict):
            job.pop("services", None)
            job.pop("image", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@pytest.mark.engine
@pytest.mark.usefixtures("engine_ready")  # skips, with the reason, where there is no engine
def test_the_mab_pipeline_reports_each_platform_and_keeps_the_deps_cached(
    tmp_path: Path,
) -> None:
    gitlab_ci_local()  # skips, with the reason, when it is not installed
    wheel = build_wheel(tmp_path / "mab")  # what the jobs pip install
    repo = git_repo(copy_project(tmp_path / "app", uuid.uuid4().hex))  # a salted lockfile
    # The remote is a self-managed GitLab (gitlab.example.com): runner tags are required.
    tags = ["--gitlab-tag", "linux/amd64=local", "--gitlab-tag", "linux/arm64=local"]
    init = [sys.executable, "-m", "mab", "init-ci", "--gitlab", "--gitlab-runner", "mab", *tags]
    done = subprocess.run(init, cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    without_docker_images(repo)
    commit(repo, "mab init-ci")
    salt = uuid.uuid4().hex
    image = f"{engine_check.REGISTRY}/test/gitlab-mab-{salt[:12]}"
    variables = {**default_branch_pipeline(image, salt), "MAB_PIP_SPEC": str(wheel)}

    prune()
    cold = run_pipeline(repo, variables, STATE)
    assert_passed(cold, jobs=4)  # two builds, the merge, and `mab verify` of what it published
    assert manifest_platforms(f"{image}:main") == set(PLATFORMS)
    for platform in PLATFORMS:
        cache = cache_manifest(f"{image}:buildcache-{platform.replace('/', '-')}")
        assert cache is not None and cache["config"]["mediaType"] == CACHE_CONFIG, platform
    reports = list((repo / STATE / "artifacts").rglob("report/*"))
    for name in ("summary.json", "summary.md", "metrics.txt"):
        assert len([p for p in reports if p.name == name]) == 2, (name, reports)
    for metrics in (p for p in reports if p.name == "metrics.txt"):
        lines = metrics.read_text().splitlines()  # OpenMetrics, through prometheus-client
        assert lines[-1] == "# EOF" and any(
            line.startswith("mab_build_duration_seconds ") for line in lines
        ), lines
    cold_summaries = summaries(repo)
    assert set(cold_summaries) == set(PLATFORMS)
    for platform, summary in cold_summaries.items():
        assert "done" in states(summary, DEPS_STAGE).values(), platform  # really cold

    # As in the shell pipeline's test: where only the engine's own platform missed its cache
    # on three source-only changes (a known hiccup of this shared engine), xfail with why.
    native = engine_platform()
    misses: dict[str, dict[str, str]] = {}
    for attempt in (1, 2, 3):
        change_source(repo, f"source-only change {attempt}")
        commit(repo, f"source-only change {attempt}", "src")
        prune()  # a fresh runner: only the registry caches are left
        shutil.rmtree(repo / STATE / "artifacts", ignore_errors=True)
        warm = run_pipeline(repo, variables, STATE)
        assert_passed(warm, jobs=4)
        warm_summaries = summaries(repo)
        assert set(warm_summaries) == set(PLATFORMS)
        misses = {}
        for platform, summary in warm_summaries.items():
            deps, src = states(summary, DEPS_STAGE), states(summary, SRC_STAGE)
            print(f"source-only change {attempt}, {platform}: deps {deps}; src {src}")
            assert "done" in src.values(), (platform, src)
            if not deps or set(deps.values()) != {"cached"}:
                misses[platform] = deps
        assert set(misses) <= {native}, misses
        if not misses:
            return
    reason = f"the engine's own platform's build ({native}) missed its registry cache 3 times"
    print(f"xfail: {reason}")
    pytest.xfail(reason)
