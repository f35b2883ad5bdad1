"""Choices for generated pipelines and local builds: the content of `.mab.yml`. Pure data.

`mab init-ci` writes these to `.mab.yml` so that a re-run is reproducible and `mab build` uses
the same platforms and cache refs as CI. Flags override the file; the file overrides defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mab.errors import UserError

CONFIG_FILE = ".mab.yml"
DEFAULT_PLATFORMS = ("linux/amd64", "linux/arm64")
STRATEGIES = ("native", "qemu")
CACHE_BACKENDS = ("registry", "gha", "local", "s3")
# GitLab runner profiles: Docker-in-Docker, the host's Docker (shell), or a job running mab.
GITLAB_RUNNERS = ("dind", "shell", "mab")

# Native GitHub-hosted runners per platform; anything else is emulated with QEMU.
GITHUB_NATIVE_RUNNERS = {
    "linux/amd64": "ubuntu-24.04",
    "linux/arm64": "ubuntu-24.04-arm",
}
GITHUB_DEFAULT_RUNNER = "ubuntu-24.04"
# Native GitLab.com SaaS runner tags per platform.
GITLAB_NATIVE_TAGS = {
    "linux/amd64": "saas-linux-small-amd64",
    "linux/arm64": "saas-linux-small-arm64",
}

KNOWN_PLATFORMS = (
    "linux/amd64",
    "linux/amd64/v2",
    "linux/amd64/v3",
    "linux/arm64",
    "linux/arm64/v8",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "linux/ppc64le",
    "linux/s390x",
    "linux/riscv64",
    "linux/mips64le",
    "linux/loong64",
)
_PLATFORM_RE = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/v[0-9]+)?$")


def normalize_platform(value: str) -> str:
    """Validate one platform string and return its canonical form ("linux/arm64")."""
    p = value.strip().lower()
    if p.startswith("linux/arm64/v8"):
        p = "linux/arm64"
    if p not in KNOWN_PLATFORMS or not _PLATFORM_RE.match(p):
        raise UserError(
            f"unknown platform {value!r}",
            hint="use os/arch[/variant], one of: " + ", ".join(KNOWN_PLATFORMS),
        )
    return p


def parse_platforms(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
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


@dataclass(frozen=True)
class S3Cache:
    bucket: str
    region: str
    prefix: str = "mab-cache/"


@dataclass(frozen=True)
class ImageSettings:
    """Per-image overrides kept in the config file."""

    name: str
    image: str | None = None  # full image reference without tag
    context: str | None = None
    dockerfile: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class Settings:
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS
    strategy: str = "native"
    cache: str = "registry"
    image: str | None = None  # image base name; default from the git remote
    registry_user: str | None = None  # login user expression; default per provider
    workflow: str = "mab"  # .github/workflows/<workflow>.yml
    default_branch: str = "main"
    pin: bool = True
    s3: S3Cache | None = None
    github_runners: tuple[tuple[str, str], ...] = ()  # platform -> runner label overrides
    gitlab_tags: tuple[tuple[str, str], ...] = ()  # platform -> runner tag overrides
    gitlab_runner: str = "dind"
    images: tuple[ImageSettings, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise UserError(
                f"unknown strategy {self.strategy!r}", hint="use one of: " + ", ".join(STRATEGIES)
            )
        if self.cache not in CACHE_BACKENDS:
            raise UserError(
                f"unknown cache backend {self.cache!r}",
                hint="use one of: " + ", ".join(CACHE_BACKENDS),
            )
        if self.cache == "s3" and self.s3 is None:
            raise UserError(
                "--cache s3 needs a bucket and a region",
                hint="pass --s3-bucket and --s3-region (and optionally --s3-prefix)",
            )

    def github_runner(self, platform: str) -> str | None:
        """The native runner label for a platform, or None where it must be emulated."""
        overrides = dict(self.github_runners)
        if platform in overrides:
            return overrides[platform]
        return GITHUB_NATIVE_RUNNERS.get(platform)

    def gitlab_tag(self, platform: str) -> str | None:
        overrides = dict(self.gitlab_tags)
        if platform in overrides:
            return overrides[platform]
        return GITLAB_NATIVE_TAGS.get(platform)

    def image_settings(self, name: str) -> ImageSettings | None:
        for i in self.images:
            if i.name == name:
                return i
        return None
