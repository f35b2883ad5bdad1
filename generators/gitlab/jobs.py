"""The jobs of a generated GitLab pipeline, shared by `.gitlab/ci/mab.yml` and the CI/CD component.

Every value that differs between the two (image, context, runners, ...) arrives as text: a
literal for the inline pipeline, a `$[[ inputs.name ]]` placeholder for the component.

- A hidden job (`.mab-runner`) holds the runner profile, the rules and the shell functions of
  `gitlab_shell`; the build and merge jobs `extends:` it.
- `mab-build-<image>` has one `parallel: matrix:` entry per runner: with the native strategy one
  per platform on that platform's runner tag, with QEMU one entry building every platform.
  Each entry pushes by digest and keeps the digest as a one-day artifact.
- `mab-merge-<image>` `needs:` every build entry and joins the digests into one tagged image.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from mab.config.settings import BuildxSettings
from mab.config.types import GitlabRunner
from mab.files.yamlio import quoted
from mab.generators.gitlab import pins as gitlab_pins
from mab.generators.gitlab import shell as gitlab_shell
from mab.generators.gitlab.deps import NO_CACHES, POLICY_OTHER, POLICY_TRUSTED, DepPlan
from mab.generators.gitlab.deps import POLICY_VARIABLE as DEPS_POLICY
from mab.progress.ci import METRICS_FILE
from mab.registry.cacherefs import REGISTRY_EXPORT_OPTIONS

STAGE = "build"
# Pipelines for a branch or a tag build; merge request pipelines would build the same commit
# twice. Only the default branch writes the caches; other branches and tags only read them (a
# tag cut from a hotfix branch must not replace what the default branch's builds read), as in
# the GitHub workflow.
TRUSTED_REFS = "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"
ANY_REF = "$CI_COMMIT_BRANCH || $CI_COMMIT_TAG"
REPORT_DIR = "report"  # `mab build --ci`'s reports, under the image's work directory
INHERITED_DEFAULTS = ("retry", "tags", "timeout")


@dataclass(frozen=True)
class Runner:
    """One build entry: the platforms it builds (comma-separated) and its runner tag."""

    platforms: str
    tag: str | None

    def matrix_entry(self) -> dict[str, str]:
        entry = {"MAB_PLATFORMS": self.platforms}
        if self.tag:
            entry["MAB_RUNNER_TAG"] = self.tag
        return entry


@dataclass(frozen=True)
class ImageJobValues:
    """What one image's jobs build, as text (literal values or component input placeholders)."""

    name: str  # in job names: mab-build-<name>
    image: str
    cache_repository: str
    context: str
    dockerfile: str
    platforms: str  # every platform of the image, comma-separated
    target: str = ""
    build_args: str = ""  # space-separated NAME=value (component input)
    push: str = "true"
    strategy: str = ""  # component only: "native" | "qemu"
    extra_args: tuple[str, ...] = ()  # more `docker buildx build` arguments, exact
    pre_build: str = ""  # a shell command run in the checkout before the build (`.mab.yml`)

    @property
    def workdir(self) -> str:
        return f".mab/{self.name}"


@dataclass(frozen=True)
class Profile:
    """The runner profile and the shared settings of every job."""

    runner: GitlabRunner
    logins: tuple[gitlab_shell.Login, ...]
    cache_mounts: bool  # some build job carries cache mounts (defines the functions, policy)
    stage: str = STAGE
    pick_platforms: bool = False  # the component's jobs choose their platforms when they run
    pip_spec: str = ""  # the `mab` profile: what its jobs `pip install`
    registry_mirror: str = ""  # Docker Hub images through this prefix (empty: Docker Hub)
    buildx: BuildxSettings = field(default_factory=BuildxSettings)  # `gitlab.buildx`


def runner_template(profile: Profile) -> dict[str, Any]:
    """The hidden job every mab job extends."""
    job: dict[str, Any] = {}
    variables: dict[str, Any] = {}
    if profile.runner != "shell":
        job["image"] = gitlab_pins.DOCKER_CLI_IMAGE
        job["services"] = [gitlab_pins.DOCKER_DIND_IMAGE]
        variables["DOCKER_TLS_CERTDIR"] = quoted("/certs")
    job["stage"] = profile.stage
    # The file is included into the user's pipeline: its `default:` scripts, image, caches and
    # artifacts, and its global `variables:` (a DOCKER_HOST for another Docker-in-Docker set-up,
    # say) would change mab's jobs. Runner placement and limits still apply.
    job["inherit"] = {"default": list(INHERITED_DEFAULTS), "variables": False}
    variables["MAB_BUILDER"] = gitlab_shell.BUILDER
    variables["MAB_BUILDKIT_IMAGE"] = gitlab_pins.BUILDKIT_IMAGE
    if profile.buildx != BuildxSettings():
        variables["MAB_BUILDX_DRIVER"] = profile.buildx.driver
        variables["MAB_BUILDX_DRIVER_OPTS"] = "\n".join(profile.buildx.driver_opts)
        variables["MAB_BUILDX_ENDPOINT"] = profile.buildx.endpoint or ""
    variables["MAB_BINFMT_IMAGE"] = gitlab_pins.BINFMT_IMAGE
    variables["MAB_REGISTRY_MIRROR"] = profile.registry_mirror
    variables["MAB_CACHE_OPTIONS"] = REGISTRY_EXPORT_OPTIONS
    if profile.runner == "mab":
        variables["MAB_PIP_SPEC"] = profile.pip_spec
    trusted: dict[str, Any] = {"MAB_CACHE_EXPORT": quoted("true")}
    variables["MAB_CACHE_EXPORT"] = quoted("false")
    if profile.cache_mounts:
        variables["MAB_BUSYBOX_IMAGE"] = profile.buildx.utility_image or gitlab_pins.BUSYBOX_IMAGE
        variables[DEPS_POLICY] = POLICY_OTHER
        trusted[DEPS_POLICY] = POLICY_TRUSTED
    variables.update({"MAB_TARGET": "", "MAB_BUILD_ARGS": "", "MAB_PUSH": quoted("true")})
    job["variables"] = variables
    job["rules"] = [{"if": TRUSTED_REFS, "variables": trusted}, {"if": ANY_REF}]
    job["before_script"] = gitlab_shell.before_script(
        profile.runner,
        profile.logins,
        cache_mounts=profile.cache_mounts,
        pick_platforms=profile.pick_platforms,
    )
    if after := gitlab_shell.after_script(profile.runner):
        job["after_script"] = after
    return job


def _image_variables(values: ImageJobValues) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "MAB_IMAGE": values.image,
        "MAB_CACHE_REPO": values.cache_repository,
        "MAB_CONTEXT": values.context,
        "MAB_DOCKERFILE": values.dockerfile,
    }
    if values.target:
        variables["MAB_TARGET"] = values.target
    if values.build_args:
        variables["MAB_BUILD_ARGS"] = values.build_args
    if values.push != "true":
        variables["MAB_PUSH"] = values.push
    if values.pre_build:
        variables["MAB_PRE_BUILD"] = values.pre_build
    variables["MAB_DIR"] = values.workdir
    return variables


def build_job(
    template: str,
    values: ImageJobValues,
    runners: tuple[Runner, ...] | str,
    deps: DepPlan = NO_CACHES,
    runner: GitlabRunner = "dind",
) -> dict[str, Any]:
    """`runners`: the entries, or (component) a placeholder for a list of runner tags, whose
    jobs pick their platforms from `values.platforms` when they run (`mab_pick_platforms`)."""
    job: dict[str, Any] = {"extends": template}
    variables = _image_variables(values)
    job["variables"] = variables
    script = []
    if isinstance(runners, str):
        variables["MAB_ALL_PLATFORMS"] = values.platforms
        variables["MAB_STRATEGY"] = values.strategy
        job["parallel"] = {"matrix": [{"MAB_RUNNER_TAG": runners}]}
        job["tags"] = ["$MAB_RUNNER_TAG"]
        script.append("mab_pick_platforms")
    elif len(runners) == 1:
        variables["MAB_PLATFORMS"] = runners[0].platforms
        if runners[0].tag:
            job["tags"] = [runners[0].tag]
    else:
        job["parallel"] = {"matrix": [r.matrix_entry() for r in runners]}
        if any(r.tag for r in runners):
            job["tags"] = ["$MAB_RUNNER_TAG"]
    job["interruptible"] = True
    if deps.caches:
        job["cache"] = list(deps.caches)
    if runner == "mab":
        script.append("mab_install")
    function = "mab_ci_build" if runner == "mab" else "mab_build"
    build = " ".join([function, *(shlex.quote(a) for a in values.extra_args)])
    if values.pre_build:  # it runs in the job's image: give the job one with its tools
        script.append('sh -ec "$MAB_PRE_BUILD"')
    job["script"] = [*script, *deps.before, build, *deps.after]
    artifacts: dict[str, Any] = {"paths": [f"{values.workdir}/digests/"], "expire_in": "1 day"}
    if runner == "mab":  # the summaries of a failed build matter most
        report = f"{values.workdir}/{REPORT_DIR}"
        artifacts = {
            "when": "always",
            "paths": [*artifacts["paths"], f"{report}/"],
            "reports": {"metrics": f"{report}/{METRICS_FILE}"},
            "expire_in": "1 week",
        }
    job["artifacts"] = artifacts
    return job


def merge_job(
    template: str, values: ImageJobValues, build_name: str, tag: str | None
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "extends": template,
        "variables": {
            "MAB_IMAGE": values.image,
            "MAB_DIR": values.workdir,
            "MAB_ALL_PLATFORMS": values.platforms,
        },
    }
    if values.push != "true":
        job["variables"]["MAB_PUSH"] = values.push
    job["needs"] = [{"job": build_name, "artifacts": True}]
    if tag:
        job["tags"] = [tag]
    job["script"] = ["mab_merge"]
    return job
