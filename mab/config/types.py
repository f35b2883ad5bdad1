"""Every choice a `.mab.yml` value or a flag can take, as `Literal` types, each with the tuple of
its values in declaration order (for `click.Choice`, messages and tests). Compare against these
types, never against a bare string list: mypy then catches a misspelt choice.
"""

from __future__ import annotations

from typing import Literal, get_args

# The settings file's name (in the repository's root) and the format this mab reads and writes;
# a newer file is refused.
CONFIG_FILE = ".mab.yml"
SCHEMA_VERSION: Literal[1] = 1

Provider = Literal["github", "gitlab"]
PROVIDERS: tuple[Provider, ...] = get_args(Provider)

# native: one job per platform on a runner of that architecture; qemu: one emulated job.
Strategy = Literal["native", "qemu"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)

# Where the per-platform layer caches of generated pipelines live.
CacheBackend = Literal["registry", "gha", "local", "s3"]
CACHE_BACKENDS: tuple[CacheBackend, ...] = get_args(CacheBackend)

# The caches `mab build --ci --cache-backend` can read and export itself: the two that need no
# runner-side step (local and s3 are carried by the workflow's own steps), or none.
CiCache = Literal["registry", "gha", "none"]
CI_CACHES: tuple[CiCache, ...] = get_args(CiCache)

# GitLab runner profiles: docker-in-docker services, a shell executor with the host's docker, or
# jobs that run `mab build --ci` (mab: installed in the job).
GitlabRunner = Literal["dind", "shell", "mab"]
GITLAB_RUNNERS: tuple[GitlabRunner, ...] = get_args(GitlabRunner)

# Platforms buildx can target. linux/arm64/v8 is read as linux/arm64 (buildx treats them alike).
Platform = Literal[
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
]
KNOWN_PLATFORMS: tuple[Platform, ...] = get_args(Platform)
DEFAULT_PLATFORMS: tuple[Platform, ...] = ("linux/amd64", "linux/arm64")
