"""The declaration of `.mab.yml`: one frozen msgspec `Struct` per mapping, field names in
snake_case (written kebab-case in the file), defaults and editor help beside each field. Parsing,
validation, defaults, the JSON Schema for editors and the written file all come from these
classes, so adding a setting is adding one field here (plus whatever reads it).

Why msgspec: it turns the plain data the YAML reader gives into these typed, frozen objects in
one call, refusing unknown keys, wrong types and values outside a `Literal` with the field's
path; it writes the JSON Schema from the same classes; and it is light — about 10 ms on top of
importing `mab.config.file`, where pydantic (already pulled in by python-on-whales) adds about
130 ms to every `mab` start-up (`benchmarks/config_import.py` prints both). Its one limit: it
stops at the first problem in a file, so a file with three mistakes takes three runs. A
hand-written validator (pre-commit's cfgv approach) would report all at once but is the code
this declaration replaces.

Flags override the file; the file overrides these defaults. Pure data: no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct, field

from mab.config.types import CONFIG_FILE as CONFIG_FILE  # here too, where the settings are
from mab.config.types import (
    DEFAULT_PLATFORMS,
    KNOWN_PLATFORMS,
    SCHEMA_VERSION,
    CacheBackend,
    GitlabRunner,
    Platform,
    Provider,
    Strategy,
)
from mab.errors import UserError

# Native GitHub-hosted runners per platform; anything else is emulated with QEMU.
GITHUB_NATIVE_RUNNERS: Mapping[str, str] = {
    "linux/amd64": "ubuntu-24.04",
    "linux/arm64": "ubuntu-24.04-arm",
}
GITHUB_DEFAULT_RUNNER = "ubuntu-24.04"
# Native GitLab.com SaaS runner tags per platform.
GITLAB_NATIVE_TAGS: Mapping[str, str] = {
    "linux/amd64": "saas-linux-small-amd64",
    "linux/arm64": "saas-linux-small-arm64",
}


def normalize_platform(value: str) -> str:
    """Validate one platform string and return its canonical form ("linux/arm64")."""
    p = value.strip().lower()
    if p == "linux/arm64/v8":
        p = "linux/arm64"
    if p not in KNOWN_PLATFORMS:
        raise UserError(
            f"unknown platform {value!r}",
            hint="use os/arch[/variant], one of: " + ", ".join(KNOWN_PLATFORMS),
        )
    return p


def parse_platforms(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`--platform linux/amd64,linux/arm64` (or a list) to canonical, de-duplicated platforms."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        if not str(item).strip():
            continue
        p = normalize_platform(str(item))
        if p not in out:
            out.append(p)
    if not out:
        raise UserError("no platform given", hint="for example --platform linux/amd64,linux/arm64")
    return tuple(out)


def platform_slug(platform: str) -> str:
    """linux/arm64/v8 -> linux-arm64-v8: safe in tags, cache scopes and job names."""
    return platform.replace("/", "-")


class Section(
    Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    rename="kebab",
    omit_defaults=True,
):
    """Options shared by every mapping of the file: unknown keys are errors, keys are kebab-case,
    and values equal to their default are left out when the file is written. (Each subclass
    repeats `frozen=True` for mypy's sake.)"""


def _doc(text: str) -> Meta:
    return Meta(description=text)


class S3Cache(Section, frozen=True):
    """The `s3` layer cache backend's bucket."""

    bucket: Annotated[str, _doc("S3 bucket for the layer caches")]
    region: Annotated[str, _doc("the bucket's region, e.g. eu-west-1")]
    prefix: Annotated[str, _doc("key prefix inside the bucket")] = "mab-cache/"


class ImageSettings(Section, frozen=True):
    """Per-image overrides, by the name mab detected."""

    name: Annotated[str, _doc("the image's name as mab detected it")]
    image: Annotated[str | None, _doc("full image reference without tag")] = None
    context: Annotated[str | None, _doc("build context directory")] = None
    dockerfile: Annotated[str | None, _doc("Dockerfile path")] = None
    target: Annotated[str | None, _doc("build stage to stop at")] = None
    exclude: Annotated[bool, _doc("leave this image out of the pipelines")] = False
    pre_build: Annotated[
        str | None,
        _doc("a shell command CI runs in the checkout before building (npm run build, ...)"),
    ] = None
    build_args: Annotated[
        Mapping[str, str], _doc("build arguments, NAME: value, set over the ones found")
    ] = {}


def _label(labels: Mapping[Platform, str], platform: str) -> str | None:
    return next((label for p, label in labels.items() if p == platform), None)


RunnerLabels = Annotated[
    Mapping[Platform, str], _doc("platform -> label overrides, e.g. {linux/arm64: my-arm}")
]


BuildxDriver = Literal["docker-container", "docker", "remote"]


class BuildxSettings(Section, frozen=True):
    """How CI sets up its buildx builder. The default, `docker-container`, runs BuildKit's own
    image; behind a firewall give a mirror of it (`driver-opts: [image=mirror.example/moby/
    buildkit:v0.23.0]`), use the runner's own engine (`docker`: no BuildKit image to pull; it
    cannot push by digest, so each platform is pushed to a staging tag), or a BuildKit daemon
    of your own (`remote` with an `endpoint`)."""

    driver: Annotated[
        BuildxDriver, _doc("docker-container (default), docker (the runner's engine) or remote")
    ] = "docker-container"
    driver_opts: Annotated[
        tuple[str, ...],
        _doc(
            "the driver's options, KEY=VALUE each, e.g. image=mirror.example/moby/buildkit:v0.23.0"
        ),
    ] = ()
    endpoint: Annotated[
        str | None, _doc("with driver remote: the BuildKit address, e.g. tcp://buildkitd:1234")
    ] = None
    utility_image: Annotated[
        str | None,
        _doc(
            "the small image the dependency-cache steps run on the builder (default: "
            "buildkit-cache-dance's ghcr.io/containerd/busybox on GitHub, busybox on GitLab)"
        ),
    ] = None

    def __post_init__(self) -> None:
        if self.driver == "remote" and not self.endpoint:
            raise ValueError("buildx: driver remote needs an endpoint (e.g. tcp://buildkitd:1234)")
        if self.driver != "remote" and self.endpoint:
            raise ValueError(f"buildx: endpoint is for driver remote, not {self.driver}")
        if self.driver == "docker" and self.driver_opts:
            raise ValueError("buildx: driver docker takes no driver-opts")
        bad = [
            o
            for o in self.driver_opts
            if "=" not in o or o.startswith("=") or any(c.isspace() for c in o)
        ]
        if bad:
            raise ValueError(f"buildx: driver-opts are KEY=VALUE, not {bad[0]!r}")

    @property
    def pushes_by_digest(self) -> bool:
        """Whether the builder can push an image by digest alone (the docker driver cannot)."""
        return self.driver != "docker"


class GithubSettings(Section, frozen=True):
    workflow: Annotated[str, _doc(".github/workflows/<workflow>.yml")] = "mab"
    runners: RunnerLabels = {}
    use_action: Annotated[bool, _doc("build with mab's composite action")] = False
    action: Annotated[
        str | None,
        _doc("with use-action: OWNER/REPO/PATH@REF of the action; default: mab's own"),
    ] = None
    buildx: BuildxSettings = field(default_factory=BuildxSettings)

    def runner_for(self, platform: str) -> str | None:
        """The runner label given for `platform`, if any."""
        return _label(self.runners, platform)


class GitlabSettings(Section, frozen=True):
    runner: Annotated[GitlabRunner, _doc("dind: docker-in-docker; shell: the host's docker")] = (
        "dind"
    )
    tags: RunnerLabels = {}
    component: Annotated[
        str | None, _doc("include mab's CI/CD component at this reference instead of inline jobs")
    ] = None
    buildx: BuildxSettings = field(default_factory=BuildxSettings)

    def tag_for(self, platform: str) -> str | None:
        """The runner tag given for `platform`, if any."""
        return _label(self.tags, platform)


RuleList = Annotated[
    tuple[str, ...] | str,
    _doc("rule ids or names (MAB101, cache-mount-missing): a list, or comma-separated"),
]


class LintSettings(Section, frozen=True):
    """`mab lint`'s rule selection (its flags --select and --ignore override these)."""

    select: RuleList | None = None
    ignore: RuleList | None = None


class Settings(Section, frozen=True):
    """The whole of `.mab.yml`, and the choices `mab init-ci` and `mab build` work from."""

    version: Annotated[Literal[1], _doc("format of this file")] = SCHEMA_VERSION
    providers: Annotated[tuple[Provider, ...], _doc("CI systems to write pipelines for")] = ()
    platforms: Annotated[
        tuple[Platform, ...], Meta(min_length=1, description="platforms every image is built for")
    ] = DEFAULT_PLATFORMS
    strategy: Annotated[
        Strategy, _doc("native: a job per platform on native runners; qemu: one emulated job")
    ] = "native"
    cache: Annotated[CacheBackend, _doc("where the per-platform layer caches live")] = "registry"
    image: Annotated[str | None, _doc("image name without tag; default from the git remote")] = None
    registry_user: Annotated[
        str | None, _doc("registry login user (an expression or $VARIABLE); default per provider")
    ] = None
    default_branch: Annotated[str, _doc("the branch whose builds write caches")] = "main"
    pin: Annotated[bool, _doc("pin actions by commit SHA")] = True
    sign: Annotated[
        bool, _doc("sign each published image keylessly with cosign (the pipelines' sign job)")
    ] = True
    sbom: Annotated[bool, _doc("attach an SBOM attestation to every platform's image")] = True
    github: GithubSettings = field(default_factory=GithubSettings)
    gitlab: GitlabSettings = field(default_factory=GitlabSettings)
    s3: S3Cache | None = None
    images: tuple[ImageSettings, ...] = ()
    lint: LintSettings = field(default_factory=LintSettings)

    def __post_init__(self) -> None:
        # Messages start with the field's path: both `.mab.yml` errors and flag errors name it.
        if "linux/arm64/v8" in self.platforms:
            canonical = (normalize_platform(p) for p in self.platforms)
            msgspec.structs.force_setattr(self, "platforms", tuple(dict.fromkeys(canonical)))
        if self.cache == "s3" and self.s3 is None:
            raise ValueError("cache: s3 needs the s3 section: bucket and region")

    def github_runner(self, platform: str) -> str | None:
        """The native runner label for a platform, or None where it must be emulated."""
        return self.github.runner_for(platform) or GITHUB_NATIVE_RUNNERS.get(platform)

    def gitlab_tag(self, platform: str) -> str | None:
        return self.gitlab.tag_for(platform) or GITLAB_NATIVE_TAGS.get(platform)

    def image_settings(self, name: str) -> ImageSettings | None:
        for i in self.images:
            if i.name == name:
                return i
        return None


# Written to `.mab.yml` even when equal to their defaults, so a reader sees them.
ALWAYS_WRITTEN = ("version", "platforms", "strategy", "cache", "default-branch")
