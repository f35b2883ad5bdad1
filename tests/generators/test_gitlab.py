"""The GitLab CI generator: golden files, the rules every generated pipeline keeps, and its shell.

Update the golden files after an intended change with
`MAB_UPDATE_GOLDEN=1 pytest tests/generators/test_gitlab.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from mab.config.settings import GitlabSettings, Settings
from mab.detection.detect import detect
from mab.detection.project import CacheMount, DockerfileInfo, Image, Lockfile, Project, Stage
from mab.errors import UserError
from mab.files.yamlio import dump_roundtrip
from mab.generators import gitlab
from mab.generators.gitlab import pins as gitlab_pins
from mab.generators.gitlab.deps import MAX_CACHES, MAX_KEY_FILES
from mab.registry.cacherefs import REGISTRY_EXPORT_OPTIONS
from tests.fixture_repos import FIXTURE_REPOS, copy_fixture_repo
from tests.gitlab.fakejob import JobRunner, builds, job_env
from tests.gitlab.test_component import (
    SAMPLE,
    assert_gitlab_schema,
    documents,
    gitlab_ci_local_jobs,
    interpolate,
)
from tests.golden import assert_golden

GOLDEN_DIR = Path(__file__).parent / "golden_gitlab"
COMPONENT_REF = "$CI_SERVER_FQDN/acme/ci/mab-build@1.0.0"
SHELL = Settings(gitlab=GitlabSettings(runner="shell"))
SHELL_TAGS = {"linux/amd64": "docker-amd64", "linux/arm64": "docker-arm64"}


@dataclass(frozen=True)
class Case:
    name: str
    repo: str
    settings: Settings = field(default_factory=Settings)
    component: bool = False

    def render(self, tmp: Path) -> str:
        project = detect(copy_fixture_repo(self.repo, tmp))
        if self.component:
            return dump_roundtrip(gitlab.component_include(COMPONENT_REF, project, self.settings))
        return dump_roundtrip(gitlab.pipeline(project, self.settings))


CASES = (
    *(Case(name, name) for name in FIXTURE_REPOS),
    Case("node-qemu", "node", Settings(strategy="qemu")),
    Case("go-shell", "go", Settings(gitlab=GitlabSettings(runner="shell", tags=SHELL_TAGS))),
    Case("node-mab", "node", Settings(gitlab=GitlabSettings(runner="mab"))),
    Case("rust-armv7", "rust", Settings(platforms=("linux/amd64", "linux/arm64", "linux/arm/v7"))),
    Case("python-uv-ghcr", "python-uv", Settings(image="ghcr.io/acme/api")),
    Case("monorepo-component", "monorepo", component=True),
    Case("python-uv-component-ghcr", "python-uv", Settings(image="ghcr.io/acme/api"), True),
)
CASE_IDS = [c.name for c in CASES]
PIP_SPEC = re.compile(r"MAB_PIP_SPEC: \S+")


def load(text: str) -> Any:
    return yaml.safe_load(text)


def pipeline_of(project: Project, settings: Settings | None = None) -> dict[str, Any]:
    data: dict[str, Any] = load(dump_roundtrip(gitlab.pipeline(project, settings or Settings())))
    return data


def fixture(name: str, tmp: Path) -> Project:
    return detect(copy_fixture_repo(name, tmp))


def jobs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in doc.items() if not k.startswith(".")}


# --- golden files ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_golden(case: Case, tmp_path: Path) -> None:
    # The `mab` profile names this mab's distribution and version, which change on release.
    text = PIP_SPEC.sub("MAB_PIP_SPEC: <this mab>", case.render(tmp_path))
    assert_golden(GOLDEN_DIR / f"{case.name}.yml", text)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_yaml_11_and_12_read_the_same(case: Case, tmp_path: Path) -> None:
    text = case.render(tmp_path)
    assert yaml.safe_load(text) == YAML(typ="safe", pure=True).load(text)


@pytest.mark.validators
def test_every_case_passes_the_gitlab_ci_schema(tmp_path: Path) -> None:
    paths = []
    for case in CASES:
        path = tmp_path / "out" / f"{case.name}.yml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(case.render(tmp_path / case.name), encoding="utf-8")
        paths.append(str(path))
    assert_gitlab_schema(paths)


# --- what every pipeline keeps ---------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_REPOS)
def test_every_job_is_named_mab(name: str, tmp_path: Path) -> None:
    doc = pipeline_of(fixture(name, tmp_path))
    assert all(k.startswith(("mab-", ".mab-")) for k in doc)
    for job in jobs(doc).values():
        assert job["extends"] == ".mab-runner"


def test_native_fans_out_per_platform_on_runner_tags(tmp_path: Path) -> None:
    doc = pipeline_of(fixture("node", tmp_path))
    build = doc["mab-build-node"]
    assert build["parallel"]["matrix"] == [
        {"MAB_PLATFORMS": "linux/amd64", "MAB_RUNNER_TAG": "saas-linux-small-amd64"},
        {"MAB_PLATFORMS": "linux/arm64", "MAB_RUNNER_TAG": "saas-linux-small-arm64"},
    ]
    assert build["tags"] == ["$MAB_RUNNER_TAG"]
    assert build["artifacts"]["paths"] == [".mab/node/digests/"]
    merge = doc["mab-merge-node"]
    assert merge["needs"] == [{"job": "mab-build-node", "artifacts": True}]
    assert merge["script"] == ["mab_merge"]


def test_runner_tags_come_from_settings(tmp_path: Path) -> None:
    settings = Settings(gitlab=GitlabSettings(tags={"linux/arm64": "my-arm"}))
    matrix = pipeline_of(fixture("go", tmp_path), settings)["mab-build-go"]["parallel"]["matrix"]
    assert [e["MAB_RUNNER_TAG"] for e in matrix] == ["saas-linux-small-amd64", "my-arm"]


def test_a_platform_without_a_runner_is_emulated_on_the_first(tmp_path: Path) -> None:
    settings = Settings(platforms=("linux/arm64", "linux/s390x"))
    matrix = pipeline_of(fixture("go", tmp_path), settings)["mab-build-go"]["parallel"]["matrix"]
    assert matrix[1] == {"MAB_PLATFORMS": "linux/s390x", "MAB_RUNNER_TAG": "saas-linux-small-arm64"}


def test_qemu_builds_every_platform_in_one_job(tmp_path: Path) -> None:
    doc = pipeline_of(fixture("node", tmp_path), Settings(strategy="qemu"))
    build = doc["mab-build-node"]
    assert "parallel" not in build
    assert build["variables"]["MAB_PLATFORMS"] == "linux/amd64,linux/arm64"
    assert build["tags"] == ["saas-linux-small-amd64"]
    assert doc[".mab-runner"]["variables"]["MAB_BINFMT_IMAGE"] == gitlab_pins.BINFMT_IMAGE


def test_dind_profile(tmp_path: Path) -> None:
    template = pipeline_of(fixture("node", tmp_path))[".mab-runner"]
    assert template["image"] == gitlab_pins.DOCKER_CLI_IMAGE
    assert template["services"] == [gitlab_pins.DOCKER_DIND_IMAGE]
    assert template["variables"]["DOCKER_TLS_CERTDIR"] == "/certs"
    # Nothing from the including pipeline's `default:` or global `variables:` but placement.
    assert template["inherit"] == {"default": ["retry", "tags", "timeout"], "variables": False}
    assert template["before_script"][-1] == "mab_builder"
    assert template["variables"]["MAB_BUILDER"] == "mab-builder"


def test_shell_profile_reuses_a_named_builder_and_no_image(tmp_path: Path) -> None:
    settings = SHELL
    doc = pipeline_of(fixture("node", tmp_path), settings)
    template = doc[".mab-runner"]
    assert "image" not in template and "services" not in template
    assert "BUILDX_BUILDER" not in template["variables"]  # set once the builder is known
    assert template["before_script"][1] == "mab_own_docker_config"  # before any login
    assert template["before_script"][-1] == "mab_builder"
    # GitLab.com's tags mean nothing to a self-managed shell runner; no dependency caches.
    assert "tags" not in doc["mab-build-node"] and "cache" not in doc["mab-build-node"]


def test_login_reads_the_password_from_stdin_and_echoes_no_secret(tmp_path: Path) -> None:
    doc = pipeline_of(fixture("node", tmp_path))
    logins = [s for s in doc[".mab-runner"]["before_script"] if s.startswith("echo")]
    assert logins == [
        'echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" '
        '--password-stdin "$CI_REGISTRY"'
    ]
    text = dump_roundtrip(gitlab.pipeline(fixture("monorepo", tmp_path / "m"), Settings()))
    used = [line.strip() for line in text.splitlines() if "$CI_REGISTRY_PASSWORD" in line]
    # the build jobs' login, and each sign and verify job's, every one through stdin
    assert used[0] == "- " + logins[0]
    assert all(u.startswith('- echo "$CI_REGISTRY_PASSWORD" | ') for u in used), used


def test_other_registries_log_in_with_mab_variables(tmp_path: Path) -> None:
    doc = pipeline_of(fixture("node", tmp_path), Settings(image="quay.io/acme/node"))
    assert doc["mab-build-node"]["variables"]["MAB_IMAGE"] == "quay.io/acme/node"
    logins = [s for s in doc[".mab-runner"]["before_script"] if s.startswith("echo")]
    assert logins == [
        'echo "$MAB_REGISTRY_PASSWORD" | docker login -u "$MAB_REGISTRY_USER" '
        '--password-stdin "quay.io"'
    ]


def test_cache_is_written_on_the_default_branch_only(tmp_path: Path) -> None:
    template = pipeline_of(fixture("node", tmp_path))[".mab-runner"]
    assert template["variables"]["MAB_CACHE_EXPORT"] == "false"
    assert template["variables"]["MAB_DEPS_POLICY"] == "pull"
    assert template["rules"] == [
        {
            "if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
            "variables": {"MAB_CACHE_EXPORT": "true", "MAB_DEPS_POLICY": "pull-push"},
        },
        {"if": "$CI_COMMIT_BRANCH || $CI_COMMIT_TAG"},
    ]
    assert template["variables"]["MAB_CACHE_OPTIONS"] == REGISTRY_EXPORT_OPTIONS


def test_images_live_in_the_project_registry_one_repository_each(tmp_path: Path) -> None:
    doc = pipeline_of(fixture("monorepo", tmp_path))
    images = {j["variables"]["MAB_IMAGE"] for j in jobs(doc).values()}
    assert images == {f"$CI_REGISTRY_IMAGE/{n}" for n in ("api", "worker", "migrate", "web")}
    api = doc["mab-build-api"]
    assert api["variables"]["MAB_TARGET"] == "runtime"
    (build,) = [line for line in api["script"] if line.startswith("mab_build")]
    assert build == "mab_build --build-arg NODE_ENV=production --build-arg NODE_VERSION=22"


def test_no_image_is_a_user_error() -> None:
    with pytest.raises(UserError):
        gitlab.pipeline(Project(images=()), Settings())


# --- dependency caches -----------------------------------------------------------------------


def _image(lockfiles: list[tuple[str, str]], targets: list[str]) -> Image:
    mounts = tuple(CacheMount(target=t, line=i + 3) for i, t in enumerate(targets))
    info = DockerfileInfo("Dockerfile", (Stage(0, "python:3.12", 1),), cache_mounts=mounts)
    return Image(
        name="app",
        context=".",
        dockerfile="Dockerfile",
        info=info,
        lockfiles=tuple(Lockfile(p, e) for p, e in lockfiles),
    )


def _caches(image: Image) -> list[dict[str, Any]]:
    caches: list[dict[str, Any]] = pipeline_of(Project(images=(image,)))["mab-build-app"]["cache"]
    return caches


def test_dependency_cache_keys_on_lockfiles_with_fallbacks(tmp_path: Path) -> None:
    caches = pipeline_of(fixture("node", tmp_path))["mab-build-node"]["cache"]
    rolling = "$CI_JOB_NAME_SLUG-deps"  # the job's name holds the image, platform and runner
    assert caches == [
        {
            "key": {"files": ["package-lock.json"], "prefix": "$CI_JOB_NAME_SLUG-npm"},
            "paths": [".mab-cache/node/npm/"],
            "policy": "$MAB_DEPS_POLICY",
            "fallback_keys": [f"{rolling}-$CI_COMMIT_REF_SLUG", f"{rolling}-$CI_DEFAULT_BRANCH"],
        },
        {"key": f"{rolling}-$CI_COMMIT_REF_SLUG", "paths": [".mab-cache/node/"], "policy": "push"},
    ]


def test_cache_mounts_are_carried_in_and_out_around_the_build(tmp_path: Path) -> None:
    script = pipeline_of(fixture("rust", tmp_path))["mab-build-rust"]["script"]
    registry = ".mab-cache/rust/cargo/cargo-registry cargo-registry /usr/local/cargo/registry"
    target = ".mab-cache/rust/build/usr-src-app-target /usr/src/app/target /usr/src/app/target"
    assert script == [  # the target mount's own option travels with it
        f"mab_cache_in {registry}",
        f"mab_cache_in {target} sharing=locked",
        "rm -rf .mab-cache",
        "mab_build",
        f"mab_cache_out {registry}",
        f"mab_cache_out {target} sharing=locked",
    ]


def test_a_mount_is_carried_with_the_options_it_is_written_with() -> None:
    # BuildKit keys a cache mount on its uid, gid and mode: a copy made without them fills a
    # cache the build never reads (shown on the engine in tests/gitlab/test_cache_functions.py).
    # A mount whose options name a variable cannot be reproduced by the copy: not carried.
    owned = CacheMount("/home/node/.npm", 4, uid="1000", gid="1000", mode="0775")
    image = _image([("package-lock.json", "npm")], [])
    assert image.info is not None
    mounts = (owned, CacheMount("/home/node/.cache/yarn", 5, uid="$UID"))
    info = DockerfileInfo("Dockerfile", image.info.stages, cache_mounts=mounts)
    image = Image("app", ".", "Dockerfile", info=info, lockfiles=image.lockfiles)
    text = dump_roundtrip(gitlab.pipeline(Project(images=(image,)), Settings()))
    script = load(text)["mab-build-app"]["script"]
    carried = ".mab-cache/app/npm/home-node-.npm /home/node/.npm /home/node/.npm"
    note = "the cache mount on /home/node/.cache/yarn (line 5) takes uid=$UID from a variable"
    assert f"# Not carried between runs: {note}, which only the build resolves." in text
    assert script == [
        f"mab_cache_in {carried} uid=1000,gid=1000,mode=0775",
        "rm -rf .mab-cache",
        "mab_build",
        f"mab_cache_out {carried} uid=1000,gid=1000,mode=0775",
    ]


def test_no_cache_mount_no_dependency_cache(tmp_path: Path) -> None:
    doc = pipeline_of(fixture("nolock", tmp_path))
    assert "cache" not in doc["mab-build-nolock"]
    assert "MAB_DEPS_POLICY" not in doc[".mab-runner"]["variables"]
    assert "mab_cache_in" not in doc[".mab-runner"]["before_script"][0]


def test_more_than_two_lockfiles_split_into_pairs_on_one_directory() -> None:
    reqs = [(f"requirements/{n}.txt", "pip") for n in ("base", "dev", "test")]
    caches = _caches(_image(reqs, ["/root/.cache/pip"]))
    keyed = [c for c in caches if isinstance(c["key"], dict)]
    assert [c["key"]["files"] for c in keyed] == [
        ["requirements/base.txt", "requirements/dev.txt"],
        ["requirements/test.txt"],
    ]
    assert {c["paths"][0] for c in keyed} == {".mab-cache/app/pip/"}


def test_too_many_caches_fold_into_one_per_image_and_name_what_is_left_out() -> None:
    lockfiles = [(f"req{i}.txt", "pip") for i in range(5)] + [
        ("poetry.lock", "poetry"),
        ("uv.lock", "uv"),
        ("go.sum", "go"),
    ]
    targets = ["/root/.cache/pip", "/root/.cache/pypoetry", "/root/.cache/uv", "/go/pkg/mod"]
    image = _image(lockfiles, targets)
    caches = _caches(image)
    assert len(caches) <= MAX_CACHES
    assert all(
        len(c["key"]["files"]) <= MAX_KEY_FILES for c in caches if isinstance(c["key"], dict)
    )
    assert {c["paths"][0] for c in caches} == {".mab-cache/app/"}
    text = dump_roundtrip(gitlab.pipeline(Project(images=(image,)), Settings()))
    assert "Not in any cache key (too many files): uv.lock, go.sum" in text


@pytest.mark.parametrize("name", FIXTURE_REPOS)
def test_cache_limits_hold_for_every_fixture(name: str, tmp_path: Path) -> None:
    for job in jobs(pipeline_of(fixture(name, tmp_path))).values():
        caches = job.get("cache", [])
        assert len(caches) <= MAX_CACHES
        for c in caches:
            if isinstance(c["key"], dict):
                assert 1 <= len(c["key"]["files"]) <= MAX_KEY_FILES


# --- the shell, run against a fake docker ----------------------------------------------------

RunJob = Callable[..., list[str]]


@pytest.fixture
def run_job(tmp_path: Path) -> RunJob:
    """Run one job's before_script + script under `sh -e` with a fake `docker`; return its calls."""
    if shutil.which("sh") is None:
        pytest.skip("no sh")
    return JobRunner(tmp_path).run


def test_native_entry_pushes_by_digest_and_writes_the_cache_on_main(
    run_job: RunJob, tmp_path: Path
) -> None:
    doc = pipeline_of(fixture("go", tmp_path / "repo"))
    calls = run_job(doc, "mab-build-go", entry=1)
    (build,) = builds(calls)
    image = "registry.example.com/acme/app"
    assert build.startswith("buildx build --platform linux/arm64 --file Dockerfile")
    assert f"--cache-from type=registry,ref={image}:buildcache-linux-arm64 " in build
    assert f"--cache-to type=registry,ref={image}:buildcache-linux-arm64,mode=max," in build
    assert (
        f"--output type=image,name={image},push-by-digest=true,name-canonical=true,push=true"
        in build
    )
    assert any(c.startswith("run --privileged --rm tonistiigi/binfmt") for c in calls)  # arm64
    digest = (tmp_path / ".mab/go/digests/linux-arm64").read_text().strip()
    assert digest == "sha256:" + "0" * 63 + "7"


def test_branches_read_the_cache_but_never_write_it(run_job: RunJob, tmp_path: Path) -> None:
    doc = pipeline_of(fixture("node", tmp_path / "repo"))
    calls = run_job(doc, "mab-build-node", CI_COMMIT_BRANCH="feature", CI_COMMIT_REF_SLUG="f")
    (build,) = builds(calls)
    assert "--cache-from" in build and "--cache-to" not in build
    assert not any("binfmt" in c for c in calls)  # amd64 on an amd64 runner
    assert any("type=cacheonly" in c for c in calls)  # the npm cache mount carried in
    assert any("type=local,dest=.mab-cache/node/npm/root-.npm" in c for c in calls)
    # Nothing of mab's is in the project directory (a build context of ".") while it builds.
    marker = "mab files in the project"
    assert marker in calls  # while the cache mounts are seeded from .mab-cache
    assert calls[calls.index(build) + 1] != marker


def test_shell_runner_jobs_log_in_outside_the_project(run_job: RunJob, tmp_path: Path) -> None:
    doc = pipeline_of(fixture("go", tmp_path / "repo"), SHELL)
    calls = run_job(doc, "mab-build-go", TMPDIR=str(tmp_path / "tmp"))
    (login,) = [c for c in calls if c.startswith("logged in")]
    assert login == f"logged in, config in {tmp_path}/tmp/mab-docker-42"
    assert doc[".mab-runner"]["after_script"] == ['rm -rf "${TMPDIR:-/tmp}/mab-docker-$CI_JOB_ID"']


def test_shell_runner_keeps_its_container_builder(run_job: RunJob, tmp_path: Path) -> None:
    doc = pipeline_of(fixture("go", tmp_path / "repo"), SHELL)
    (tmp_path / "docker-state/builder-mab-builder").mkdir()  # an earlier job made it
    calls = run_job(doc, "mab-build-go")
    assert "buildx inspect --bootstrap mab-builder" in calls
    assert not any(c.startswith(("buildx create", "buildx rm")) for c in calls)
    (build,) = builds(calls)
    assert "push-by-digest=true" in build


def test_without_a_container_builder_the_docker_driver_pushes_a_pipeline_tag(
    run_job: RunJob, tmp_path: Path
) -> None:
    """No BuildKit image to start a `docker-container` builder with: the current builder, whose
    `docker` driver cannot push by digest, pushes a tag of the pipeline's own instead."""
    doc = pipeline_of(fixture("go", tmp_path / "repo"), SHELL)
    env = {"MAB_TEST_NO_CONTAINERS": "1", "MAB_TEST_DRIVER": "docker", "CI_PIPELINE_ID": "907"}
    calls = run_job(doc, "mab-build-go", entry=1, **env)
    create = "buildx create --name mab-builder --driver docker-container"
    assert any(c.startswith(create) for c in calls)
    assert "buildx rm mab-builder" in calls  # this job made it, and it cannot start
    (build,) = builds(calls)
    tag = "registry.example.com/acme/app:mab-907-linux-arm64"
    assert f"--output type=image,name={tag},push=true " in build
    assert "push-by-digest" not in build
    digest = (tmp_path / ".mab/go/digests/linux-arm64").read_text().strip()
    assert digest == "sha256:" + "0" * 63 + "7"  # what the merge job joins, as for a digest push
    assert f"image rm {tag}" in calls  # the runner's image store keeps no copy


def test_a_platform_the_builder_lists_needs_no_emulator(run_job: RunJob, tmp_path: Path) -> None:
    doc = pipeline_of(fixture("go", tmp_path / "repo"), SHELL)
    calls = run_job(doc, "mab-build-go", entry=1, MAB_TEST_PLATFORMS="linux/amd64, linux/arm64*")
    assert not any("binfmt" in c for c in calls)
    assert builds(calls)[0].startswith("buildx build --platform linux/arm64 ")


def test_merge_without_digests_says_why_under_bash_pipefail(
    run_job: RunJob, tmp_path: Path
) -> None:
    """GitLab's shell runners run bash with `set -eo pipefail`: a failing `ls` in a pipeline
    must not end the job before the message."""
    doc = pipeline_of(fixture("nolock", tmp_path / "repo"))
    errors = run_job(doc, "mab-merge-nolock", fails=True, shell=("bash", "-eo", "pipefail"))
    assert errors[-1] == "mab: no build job built linux/amd64 (is there a runner tag for it?)"


@pytest.mark.parametrize(
    ("strategy", "entry", "built"),
    [
        ("native", 0, ["linux/amd64"]),
        ("native", 1, ["linux/arm64"]),
        ("qemu", 0, ["linux/amd64,linux/arm64"]),
        ("qemu", 1, []),
    ],
)
def test_component_jobs_pick_their_platforms_by_matrix_place(
    run_job: RunJob, strategy: str, entry: int, built: list[str]
) -> None:
    doc = interpolate(documents()[1], {**SAMPLE, "strategy": strategy})
    calls = run_job(doc, "mab-build-api", entry=entry)
    pushed = [b for b in builds(calls) if "push-by-digest=true" in b]
    assert [b.split()[3] for b in pushed] == built


def test_qemu_builds_once_and_exports_each_platforms_cache(run_job: RunJob, tmp_path: Path) -> None:
    doc = pipeline_of(fixture("nolock", tmp_path / "repo"), Settings(strategy="qemu"))
    calls = run_job(doc, "mab-build-nolock")
    build, *exports = builds(calls)
    assert build.startswith("buildx build --platform linux/amd64,linux/arm64 ")
    assert "--cache-to" not in build and build.count("--cache-from") == 2
    assert [e.split()[3] for e in exports] == ["linux/amd64", "linux/arm64"]
    assert all("--output type=cacheonly" in e for e in exports)
    assert "buildcache-linux-arm64,mode=max" in exports[1]
    assert (tmp_path / ".mab/nolock/digests/linux-amd64_linux-arm64").exists()


def test_merge_tags_the_ref_and_joins_every_digest(run_job: RunJob, tmp_path: Path) -> None:
    doc = pipeline_of(fixture("nolock", tmp_path / "repo"))
    digests = tmp_path / ".mab/nolock/digests"
    digests.mkdir(parents=True)
    (digests / "linux-amd64").write_text("sha256:aaa\n")
    (digests / "linux-arm64").write_text("sha256:bbb\n")
    tag = {"CI_COMMIT_TAG": "v1.2.0", "CI_COMMIT_BRANCH": "", "CI_COMMIT_REF_SLUG": "v1-2-0"}
    calls = run_job(doc, "mab-merge-nolock", **tag)
    image = "registry.example.com/acme/app"
    (create,) = [c for c in calls if c.startswith("buildx imagetools create")]
    assert create == (
        f"buildx imagetools create --tag {image}:v1-2-0 --tag {image}:sha-abc1234"
        f" --tag {image}:v1.2.0 --tag {image}:1.2.0 --tag {image}:1.2 --tag {image}:latest"
        f" {image}@sha256:aaa {image}@sha256:bbb"
    )


def test_merge_fails_when_a_platform_was_not_built(run_job: RunJob, tmp_path: Path) -> None:
    doc = pipeline_of(fixture("nolock", tmp_path / "repo"))
    digests = tmp_path / ".mab/nolock/digests"
    digests.mkdir(parents=True)
    (digests / "linux-amd64").write_text("sha256:aaa\n")
    errors = run_job(doc, "mab-merge-nolock", fails=True)
    assert errors[-1] == "mab: no build job built linux/arm64 (is there a runner tag for it?)"


def test_the_shell_parses_under_dash_and_bash(tmp_path: Path) -> None:
    doc = pipeline_of(fixture("rust", tmp_path), SHELL)
    text = "\n".join(doc[".mab-runner"]["before_script"])
    for shell in ("dash", "bash"):
        if shutil.which(shell):
            result = subprocess.run([shell, "-n", "-c", text], capture_output=True, text=True)
            assert result.returncode == 0, result.stderr


def test_metadata_file_digest_is_read_back_in_the_format_buildx_writes() -> None:
    # buildx writes --metadata-file as indented JSON, one key per line.
    text = json.dumps({"containerimage.digest": "sha256:" + "a" * 64}, indent=2)
    assert '"containerimage.digest": "sha256:' in text


# --- the shell on the real engine (scripts/engine-up.sh) -------------------------------------

ENGINE_BASE = "localhost:5000/base/busybox:1"
ENGINE_DOCKERFILE = f"""\
FROM {ENGINE_BASE}
ARG RUN_ID
RUN --mount=type=cache,id=things-{os.getpid()},target=/root/.things \\
    cat /root/.things/seed && echo "$RUN_ID" > /root/.things/added
"""


@pytest.mark.engine
@pytest.mark.usefixtures("engine_ready")
def test_cache_mount_round_trip_and_merge_on_the_real_engine(tmp_path: Path) -> None:
    """The engine here has only the `docker` driver (no BuildKit image for a
    `docker-container` builder), which cannot push by digest; so this runs the generated
    cache-mount carrying and merge functions for real, around a plain build and push."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app/Dockerfile").write_text(ENGINE_DOCKERFILE)
    mount = CacheMount(target="/root/.things", line=3, id=f"things-{os.getpid()}")
    info = DockerfileInfo("app/Dockerfile", (Stage(0, ENGINE_BASE, 1),), cache_mounts=(mount,))
    image = Image("app", "app", "app/Dockerfile", info=info)
    repo = f"localhost:5000/mabtest/gitlab-{os.getpid()}"
    doc = pipeline_of(Project(images=(image,)), Settings(image=repo, platforms=("linux/amd64",)))
    functions = doc[".mab-runner"]["before_script"][0]
    cache_in, remove, _, cache_out = doc["mab-build-app"]["script"]
    directory = tmp_path / f".mab-cache/app/build/things-{os.getpid()}"
    run_id = str(os.getpid())
    script = "\n".join(
        [
            functions,
            f"mkdir -p {directory} && echo seeded > {directory}/seed",
            cache_in,
            remove,
            "mkdir -p .mab/app/digests",
            f"docker buildx build --network none --build-arg RUN_ID={run_id} --file app/Dockerfile"
            f" --output type=image,name={repo},push=true"
            " --metadata-file .mab/app/metadata.json app",
            cache_out,
            'sed -n \'s/.*"containerimage.digest": *"\\(sha256:[0-9a-f]*\\)".*/\\1/p\''
            " .mab/app/metadata.json > .mab/app/digests/linux-amd64",
            "mab_merge",
        ]
    )
    env = job_env(doc, "mab-merge-app", MAB_BUSYBOX_IMAGE=ENGINE_BASE, CI_JOB_ID=run_id)
    assert env is not None
    # Other tests prune the shared engine's build cache, which can empty a cache mount between
    # two builds; a second try tells that apart from a real failure.
    for _ in range(3):
        result = subprocess.run(
            ["sh", "-e", "-c", script],
            cwd=tmp_path,
            env={**env, "MAB_BUSYBOX_IMAGE": ENGINE_BASE},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode == 0:
            break
    assert result.returncode == 0, result.stdout + result.stderr
    # What GitLab restored reached the build, and what the build added came back out.
    assert (directory / "seed").read_text() == "seeded\n"
    assert (directory / "added").read_text() == f"{run_id}\n"
    # The merge tagged the pushed image with this ref's tags.
    assert f"Name:      {repo}:main" in result.stdout


@pytest.mark.validators
@pytest.mark.parametrize("case", [c for c in CASES if not c.component], ids=lambda c: c.name)
def test_gitlab_ci_local_reads_every_pipeline(case: Case, tmp_path: Path) -> None:
    text = case.render(tmp_path / "fixture")
    files = {
        ".gitlab/ci/mab.yml": text,
        ".gitlab-ci.yml": "include:\n  - local: .gitlab/ci/mab.yml\n",
    }
    listed = gitlab_ci_local_jobs(tmp_path / "repo", files)
    expected = []
    for name, job in jobs(load(text)).items():
        count = len(job["parallel"]["matrix"]) if "parallel" in job else 1
        expected += [name] * count
    assert [name.split(":")[0] for name in listed] == expected
