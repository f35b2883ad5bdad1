"""mab's GitLab CI/CD component, `gitlab/templates/mab-build.yml`, made by the same code as
`.gitlab/ci/mab.yml`: the jobs of `gitlab_jobs` with `$[[ inputs.name ]]` placeholders where
the inline pipeline has literal values. A test keeps the committed file equal to
`component_text()`.

The component uses the Docker-in-Docker profile and the registry layer cache; the dependency
caches need the Dockerfile's cache mounts and lockfiles, which only `mab init-ci` knows, so they
are in the inline pipeline only. An array input cannot be zipped with another into matrix
entries, so the build is a matrix over `runner_tags` and each job picks its platform when it
runs: the one in the same place of `platforms` (native), or all of them in the first job (qemu).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mab.config.settings import GITLAB_NATIVE_TAGS
from mab.config.types import DEFAULT_PLATFORMS, STRATEGIES
from mab.files.yamlio import dump_roundtrip, to_commented
from mab.generators.gitlab.jobs import (
    STAGE,
    ImageJobValues,
    Profile,
    Runner,
    build_job,
    merge_job,
    runner_template,
)
from mab.generators.gitlab.shell import CI_LOGIN, Login

NAME = "mab-build"
TEMPLATE_PATH = f"gitlab/templates/{NAME}.yml"
DEFAULT_RUNNERS = tuple(Runner(p, GITLAB_NATIVE_TAGS[p]) for p in DEFAULT_PLATFORMS)
CI_IMAGE = "$CI_REGISTRY_IMAGE"


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    default: Any
    type: str = "string"
    options: tuple[str, ...] = field(default=())

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"description": self.description}
        if self.type != "string":
            out["type"] = self.type
        if self.options:
            out["options"] = list(self.options)
        out["default"] = self.default
        return out


INPUTS = (
    Input("name", "Job names: mab-build-<name> and mab-merge-<name>.", "app"),
    Input("image", "The image to push, without a tag.", CI_IMAGE),
    Input(
        "cache_repository",
        "Where the layer caches go: <cache_repository>:buildcache-<os>-<arch>.",
        CI_IMAGE,
    ),
    Input("platforms", "Platforms to build, comma-separated.", ",".join(DEFAULT_PLATFORMS)),
    Input(
        "strategy",
        "native: one build job per platform, each on the runner tag in the same place of"
        " runner_tags; qemu: one job on the first runner tag builds every platform.",
        "native",
        options=STRATEGIES,
    ),
    Input(
        "runner_tags",
        "Runner tags, in the order of platforms (qemu: only the first is used).",
        [r.tag for r in DEFAULT_RUNNERS],
        type="array",
    ),
    Input("merge_runner_tag", "Runner tag of the merge job.", DEFAULT_RUNNERS[0].tag),
    Input("context", "Build context, relative to the repository root.", "."),
    Input("dockerfile", "Dockerfile, relative to the repository root.", "Dockerfile"),
    Input("target", "Build stage to stop at (empty: the last one).", ""),
    Input("build_args", "Build arguments: NAME=value, space-separated.", ""),
    Input(
        "push",
        "Push the image (the layer cache is written either way).",
        "true",
        options=("true", "false"),
    ),
    Input("stage", "Stage of the jobs.", STAGE),
    Input(
        "registry_mirror",
        "Pull the BuildKit, binfmt and busybox images through this Docker Hub mirror, e.g."
        " $CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX (empty: Docker Hub).",
        "",
    ),
    Input("registry", "Registry to log in to.", CI_LOGIN[0]),
    Input("registry_user", "User name (or a $VARIABLE holding it).", CI_LOGIN[1]),
    Input(
        "registry_password",
        "A $VARIABLE holding the password or token (masked); never the secret itself.",
        CI_LOGIN[2],
    ),
)
DEFAULTS = {i.name: i.default for i in INPUTS}


def ref(name: str) -> str:
    return f"$[[ inputs.{name} ]]"


def spec_document() -> dict[str, Any]:
    return {"spec": {"inputs": {i.name: i.spec() for i in INPUTS}}}


def jobs_document() -> dict[str, Any]:
    values = ImageJobValues(
        name=ref("name"),
        image=ref("image"),
        cache_repository=ref("cache_repository"),
        context=ref("context"),
        dockerfile=ref("dockerfile"),
        platforms=ref("platforms"),
        strategy=ref("strategy"),
        target=ref("target"),
        build_args=ref("build_args"),
        push=ref("push"),
    )
    login = Login(ref("registry"), ref("registry_user"), ref("registry_password"))
    profile = Profile(
        "dind",
        (login,),
        cache_mounts=False,
        stage=ref("stage"),
        pick_platforms=True,
        registry_mirror=ref("registry_mirror"),
    )
    template = f".mab-runner-{ref('name')}"
    build = f"mab-build-{ref('name')}"
    return {
        template: runner_template(profile),
        build: build_job(template, values, ref("runner_tags")),
        f"mab-merge-{ref('name')}": merge_job(template, values, build, ref("merge_runner_tag")),
    }


HEADER = f"""\
# {NAME}: multi-arch (linux/amd64 + linux/arm64) image builds with per-platform registry caches.
# Generated by mab (generators/gitlab/component.py); edit the generator, not this file.
# Use: include: - component: $CI_SERVER_FQDN/<group>/<project>/{NAME}@<version>
"""


def component_text() -> str:
    """The whole template file: the `spec:` document, `---`, the jobs."""
    spec = dump_roundtrip(to_commented(spec_document()))
    jobs = dump_roundtrip(to_commented(jobs_document()))
    return f"{HEADER}{spec}---\n{jobs}"


def component_inputs(
    values: ImageJobValues,
    build_args: tuple[tuple[str, str], ...],
    runners: tuple[Runner, ...],
    login: Login,
) -> dict[str, Any]:
    """The `inputs:` of one `include: - component:` entry: what differs from the defaults."""
    wanted: dict[str, Any] = {
        "name": values.name,
        "image": values.image,
        "cache_repository": values.cache_repository,
        "platforms": values.platforms,
        "strategy": values.strategy,
        "runner_tags": [r.tag for r in runners],
        "merge_runner_tag": runners[0].tag,
        "context": values.context,
        "dockerfile": values.dockerfile,
        "target": values.target,
        "build_args": " ".join(f"{k}={v}" for k, v in build_args),
        "registry": login.registry,
        "registry_user": login.user,
        "registry_password": login.password,
    }
    always = ("name", "image", "context", "dockerfile")
    if None in wanted["runner_tags"]:  # no tag known for some platform: keep the defaults
        wanted["runner_tags"] = None
    return {k: v for k, v in wanted.items() if v is not None and (k in always or v != DEFAULTS[k])}
