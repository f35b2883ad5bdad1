"""What a generated GitLab pipeline means, beyond what GitLab's schema can check.

Caches are written by the default branch only (tags only read them, as in the GitHub
workflow); `latest` follows release tags on both providers; a self-managed GitLab gets no
GitLab.com runner tags; choices the GitLab pipeline cannot honour are refused, never changed;
shell-runner jobs starting together share one builder; Docker Hub images can come through a
mirror. Jobs run against the fake `docker` of `tests/gitlab/fakejob.py`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from mab.config.settings import GitlabSettings, Settings
from mab.config.types import GitlabRunner
from mab.detection.detect import detect
from mab.detection.project import Project, Remote
from mab.errors import UserError
from mab.files.yamlio import dump_roundtrip
from mab.generators import gitlab
from mab.registry.cacherefs import registry_specs
from tests.fixture_repos import copy_fixture_repo
from tests.gitlab.fakejob import JobRunner, builds, job_env

IMAGE = "registry.example.com/acme/app"
TAG_PIPELINE = {"CI_COMMIT_BRANCH": "", "CI_COMMIT_TAG": "v1.2.0", "CI_COMMIT_REF_SLUG": "v1-2-0"}
SHELL = Settings(gitlab=GitlabSettings(runner="shell"))


def project(tmp: Path, repo: str = "node", remote: str | None = None) -> Project:
    found = detect(copy_fixture_repo(repo, tmp))
    if remote is None:
        return found
    return replace(found, remote=Remote(remote, "acme/app", "gitlab"))


def pipeline(found: Project, settings: Settings | None = None) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        dump_roundtrip(gitlab.pipeline(found, settings or Settings()))
    )
    return data


@pytest.fixture
def jobs(tmp_path: Path) -> JobRunner:
    return JobRunner(tmp_path)


# --- caches: written by the default branch only ---------------------------------------------


def test_tag_pipelines_read_the_layer_cache_but_never_write_it(
    jobs: JobRunner, tmp_path: Path
) -> None:
    doc = pipeline(project(tmp_path / "repo", "go"))
    (build,) = builds(jobs.run(doc, "mab-build-go", **TAG_PIPELINE))
    assert f"--cache-from type=registry,ref={IMAGE}:buildcache-linux-amd64 " in build
    assert "--cache-to" not in build
    (build,) = builds(jobs.run(doc, "mab-build-go"))  # the default branch writes it
    # The shell names the cache as mab's Python does (`mab build`, `mab cache`).
    specs = registry_specs(IMAGE, "linux/amd64")
    assert f"--cache-from {specs.cache_from[0]} " in build
    assert f"--cache-to {specs.cache_to} " in build


def test_tag_pipelines_only_restore_the_dependency_caches(tmp_path: Path) -> None:
    doc = pipeline(project(tmp_path / "repo", "node"))
    tag = job_env(doc, "mab-build-node", **TAG_PIPELINE)
    main = job_env(doc, "mab-build-node")
    assert tag is not None and main is not None
    assert (tag["MAB_DEPS_POLICY"], main["MAB_DEPS_POLICY"]) == ("pull", "pull-push")


def test_merge_request_pipelines_run_no_mab_job(tmp_path: Path) -> None:
    doc = pipeline(project(tmp_path / "repo", "node"))
    mr = {"CI_COMMIT_BRANCH": "", "CI_COMMIT_TAG": "", "CI_MERGE_REQUEST_IID": "7"}
    assert job_env(doc, "mab-build-node", **mr) is None


# --- latest: the newest release, as docker/metadata-action tags it on GitHub -----------------


def _merge_tags(jobs: JobRunner, tmp_path: Path, **ci: str) -> list[str]:
    doc = pipeline(project(tmp_path / "repo", "nolock"))
    digests = tmp_path / ".mab/nolock/digests"
    digests.mkdir(parents=True, exist_ok=True)
    (digests / "linux-amd64").write_text("sha256:aaa\n")
    (digests / "linux-arm64").write_text("sha256:bbb\n")
    (create,) = [
        c
        for c in jobs.run(doc, "mab-merge-nolock", **ci)
        if c.startswith("buildx imagetools create")
    ]
    words = create.split()
    return [words[i + 1].split(":", 1)[1] for i, w in enumerate(words) if w == "--tag"]


def test_a_default_branch_push_does_not_move_latest(jobs: JobRunner, tmp_path: Path) -> None:
    assert _merge_tags(jobs, tmp_path) == ["main", "sha-abc1234"]


def test_a_release_tag_moves_latest_and_its_version_tags(jobs: JobRunner, tmp_path: Path) -> None:
    tags = _merge_tags(jobs, tmp_path, **TAG_PIPELINE)
    assert tags == ["v1-2-0", "sha-abc1234", "v1.2.0", "1.2.0", "1.2", "latest"]


@pytest.mark.parametrize("tag", ["v1.3.0-rc.1", "nightly", "v2"])
def test_other_tags_leave_latest_alone(jobs: JobRunner, tmp_path: Path, tag: str) -> None:
    tags = _merge_tags(jobs, tmp_path, CI_COMMIT_BRANCH="", CI_COMMIT_TAG=tag)
    assert "latest" not in tags and tag in tags


# --- runner tags: GitLab.com's on GitLab.com only --------------------------------------------


def test_gitlab_com_gets_its_runner_tags(tmp_path: Path) -> None:
    doc = pipeline(project(tmp_path, remote="gitlab.com"))
    matrix = doc["mab-build-node"]["parallel"]["matrix"]
    assert [e["MAB_RUNNER_TAG"] for e in matrix] == [
        "saas-linux-small-amd64",
        "saas-linux-small-arm64",
    ]


@pytest.mark.parametrize("runner", ["dind", "mab"])
def test_a_self_managed_gitlab_needs_runner_tags(tmp_path: Path, runner: GitlabRunner) -> None:
    found = project(tmp_path, remote="gitlab.example.com")
    with pytest.raises(UserError) as raised:
        pipeline(found, Settings(gitlab=GitlabSettings(runner=runner)))
    assert "gitlab.example.com" in str(raised.value)
    assert "--gitlab-tag linux/amd64=TAG --gitlab-tag linux/arm64=TAG" in (raised.value.hint or "")
    with pytest.raises(UserError):  # one is not enough for the native strategy
        pipeline(found, Settings(gitlab=GitlabSettings(tags={"linux/amd64": "amd"})))


def test_a_self_managed_gitlab_uses_the_tags_it_names(tmp_path: Path) -> None:
    found = project(tmp_path, remote="gitlab.example.com")
    tags = {"linux/amd64": "amd", "linux/arm64": "arm"}
    text = dump_roundtrip(gitlab.pipeline(found, Settings(gitlab=GitlabSettings(tags=tags))))
    assert "saas-" not in text
    qemu = pipeline(
        found, Settings(strategy="qemu", gitlab=GitlabSettings(tags={"linux/amd64": "amd"}))
    )
    assert qemu["mab-build-node"]["tags"] == ["amd"]
    include = dump_roundtrip(
        gitlab.component_include(
            "gitlab.example.com/ci/mab/mab-build@1.0.0",
            found,
            Settings(gitlab=GitlabSettings(tags=tags)),
        )
    )
    assert "saas-" not in include and "- arm" in include


def test_init_ci_names_the_fix_for_a_self_managed_remote(
    tmp_path: Path, run_mab: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_fixture_repo("node", tmp_path)
    (root / ".git").mkdir(exist_ok=True)
    (root / ".git/config").write_text(
        '[remote "origin"]\n  url = git@gitlab.example.com:acme/app.git\n'
    )
    assert run_mab("init-ci", "--gitlab", str(root)) == 2
    err = capsys.readouterr().err
    assert "gitlab.example.com" in err and "--gitlab-tag linux/arm64=TAG" in err
    assert not (root / ".gitlab-ci.yml").exists()  # nothing half-written
    argv = ["--gitlab-tag", "linux/amd64=amd", "--gitlab-tag", "linux/arm64=arm"]
    assert run_mab("init-ci", "--gitlab", *argv, str(root)) == 0
    assert "MAB_RUNNER_TAG: arm" in (root / ".gitlab/ci/mab.yml").read_text()


# --- refused, never changed ------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--cache", "gha"],
        ["--cache", "local"],
        ["--cache", "s3", "--s3-bucket", "b", "--s3-region", "eu-west-1"],
        ["--use-component", "$CI_SERVER_FQDN/acme/ci/mab-build@1.0.0", "--gitlab-runner", "shell"],
        ["--use-component", "$CI_SERVER_FQDN/acme/ci/mab-build@1.0.0", "--gitlab-runner", "mab"],
        ["--use-component", "1.2.3"],
        ["--use-component", "gitlab.com/mab-build@1.2.3"],
    ],
    ids=["gha", "local", "s3", "component-shell", "component-mab", "version", "short-path"],
)
def test_what_gitlab_cannot_honour_is_refused(
    tmp_path: Path, run_mab: Any, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    root = copy_fixture_repo("node", tmp_path)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    assert run_mab("init-ci", "--gitlab", *argv, str(root)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_a_component_path_is_written_as_given(tmp_path: Path) -> None:
    ref = "$CI_SERVER_FQDN/acme/ci/mab-build@~latest"
    include = gitlab.component_include(ref, project(tmp_path), Settings())
    assert include["include"][0]["component"] == ref


# --- shell runners: one builder, made by one job at a time ------------------------------------


def _two_jobs_at_once(jobs: JobRunner, tmp_path: Path, **env: str) -> list[list[str]]:
    doc = pipeline(project(tmp_path / "repo", "go"), SHELL)
    started = []
    for job_id, cwd in (("41", "a"), ("42", "b")):
        (tmp_path / cwd).mkdir()
        started.append(jobs.start(doc, "mab-build-go", CI_JOB_ID=job_id, cwd=tmp_path / cwd, **env))
    return [jobs.finish(s) for s in started]


def test_two_shell_jobs_starting_together_share_one_builder(
    jobs: JobRunner, tmp_path: Path
) -> None:
    """buildx takes a moment to make a builder: the second job must neither make another nor
    remove the first one's (which failed the first job's build)."""
    both = _two_jobs_at_once(jobs, tmp_path, MAB_TEST_CREATE_DELAY="1", TMPDIR=str(tmp_path))
    creates = [c for calls in both for c in calls if c.startswith("buildx create")]
    assert len(creates) == 1
    assert not any(c.startswith("buildx rm") for calls in both for c in calls)
    assert all(len(builds(calls)) == 1 for calls in both)


def test_without_flock_the_second_job_waits_for_the_first_ones_builder(
    jobs: JobRunner, tmp_path: Path
) -> None:
    (jobs.bin / "flock").write_text("#!/bin/sh\nexit 1\n")  # a lock that is never granted
    (jobs.bin / "flock").chmod(0o755)
    both = _two_jobs_at_once(jobs, tmp_path, MAB_TEST_CREATE_DELAY="1", TMPDIR=str(tmp_path))
    assert not any(c.startswith("buildx rm") for calls in both for c in calls)
    assert all(len(builds(calls)) == 1 for calls in both)


def test_a_builder_this_job_did_not_make_is_never_removed(jobs: JobRunner, tmp_path: Path) -> None:
    (jobs.state / "builder-mab-builder").mkdir()  # someone else's, and it does not start
    doc = pipeline(project(tmp_path / "repo", "go"), SHELL)
    calls = jobs.run(doc, "mab-build-go", MAB_TEST_NO_CONTAINERS="1", MAB_TEST_DRIVER="docker")
    assert not any(c.startswith("buildx rm") for c in calls)
    assert len(builds(calls)) == 1  # with the current builder


# --- Docker Hub through a mirror ---------------------------------------------------------------


def test_docker_hub_images_come_through_the_mirror(jobs: JobRunner, tmp_path: Path) -> None:
    doc = pipeline(project(tmp_path / "repo", "node"))
    assert doc[".mab-runner"]["variables"]["MAB_REGISTRY_MIRROR"] == ""
    proxy = {
        "CI_DEPENDENCY_PROXY_SERVER": "gitlab.example.com:443",
        "CI_DEPENDENCY_PROXY_USER": "gitlab-ci-token",
        "CI_DEPENDENCY_PROXY_PASSWORD": "s3cret",
        "MAB_REGISTRY_MIRROR": "gitlab.example.com:443/acme/dependency_proxy/containers",
    }
    calls = jobs.run(doc, "mab-build-node", entry=1, **proxy)
    mirror = proxy["MAB_REGISTRY_MIRROR"]
    assert "login -u gitlab-ci-token --password-stdin gitlab.example.com:443" in calls
    assert f"--driver-opt image={mirror}/moby/buildkit:buildx-stable-1" in " ".join(calls)
    assert any(c.startswith(f"run --privileged --rm {mirror}/tonistiigi/binfmt:") for c in calls)


def test_without_a_mirror_images_come_from_docker_hub(jobs: JobRunner, tmp_path: Path) -> None:
    doc = pipeline(project(tmp_path / "repo", "node"))
    calls = jobs.run(doc, "mab-build-node", entry=1)
    assert any(c.startswith("run --privileged --rm tonistiigi/binfmt:") for c in calls)
    assert not any(c.startswith("login") and "dependency" in c for c in calls)
