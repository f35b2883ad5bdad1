"""Lockfiles: which file names pin which ecosystem's dependencies, and where each caches. Pure.

`ecosystem_for(path)` names the ecosystem of a lockfile (or of a manifest that plays that role,
such as `pom.xml`); `CACHE_DIRS` says which directories a CI runner caches for it and which
`RUN --mount=type=cache` targets an image build usually uses.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Exact basenames.
_BY_NAME: Mapping[str, str] = MappingProxyType(
    {
        "package-lock.json": "npm",
        "npm-shrinkwrap.json": "npm",
        "yarn.lock": "yarn",
        "pnpm-lock.yaml": "pnpm",
        "bun.lock": "bun",
        "bun.lockb": "bun",
        "constraints.txt": "pip",
        "poetry.lock": "poetry",
        "uv.lock": "uv",
        "Pipfile.lock": "pipenv",
        "go.sum": "go",
        "Cargo.lock": "cargo",
        "pom.xml": "maven",
        "gradle-wrapper.properties": "gradle",
        "gradle.lockfile": "gradle",
        "Gemfile.lock": "bundler",
        "composer.lock": "composer",
    }
)

LOCKFILE_NAMES = frozenset(_BY_NAME)

# Basename patterns, tried after the exact names (one regex: detection calls this per file).
_BY_PATTERN = re.compile(
    r"(?P<pip>requirements.*\.txt)|(?P<gradle>.*\.gradle(?:\.kts)?)", re.DOTALL
)


def ecosystem_for(path: str) -> str | None:
    """The ecosystem whose lockfile `path` (a POSIX path or a bare name) is, or None.

    `requirements/*.txt` counts as pip requirements wherever the `requirements/` directory is.
    """
    parent, _, name = path.rpartition("/")
    found = _BY_NAME.get(name)
    if found:
        return found
    match = _BY_PATTERN.fullmatch(name)
    if match:
        return match.lastgroup
    if name.endswith(".txt") and parent.rpartition("/")[2] == "requirements":
        return "pip"
    return None


def is_lockfile(path: str) -> bool:
    return ecosystem_for(path) is not None


def pattern_matches_lockfile(pattern: str) -> bool:
    """True when a COPY source such as `package*.json` or `requirements*.txt` would bring in a
    lockfile (its basename is a lockfile name, or a glob that matches one)."""
    if is_lockfile(pattern):
        return True
    name = pattern.rpartition("/")[2]
    if not any(c in name for c in "*?["):
        return False
    samples = (*_BY_NAME, "requirements.txt", "requirements-dev.txt", "build.gradle")
    return any(fnmatch.fnmatchcase(sample, name) for sample in samples)


@dataclass(frozen=True)
class CacheDirs:
    """Where an ecosystem keeps its downloads.

    `runner`: directories to cache on a CI runner (`~` is the runner's home); empty when the
    tool has to be asked (`command` prints it). `mounts`: the usual in-image
    `RUN --mount=type=cache,target=...` directories for a root user.
    """

    runner: tuple[str, ...] = ()
    command: str | None = None
    mounts: tuple[str, ...] = ()


CACHE_DIRS: Mapping[str, CacheDirs] = MappingProxyType(
    {
        "npm": CacheDirs(runner=("~/.npm",), mounts=("/root/.npm",)),
        "yarn": CacheDirs(command="yarn cache dir", mounts=("/usr/local/share/.cache/yarn",)),
        "pnpm": CacheDirs(command="pnpm store path", mounts=("/root/.local/share/pnpm/store",)),
        "bun": CacheDirs(runner=("~/.bun/install/cache",), mounts=("/root/.bun/install/cache",)),
        "pip": CacheDirs(runner=("~/.cache/pip",), mounts=("/root/.cache/pip",)),
        "poetry": CacheDirs(
            runner=("~/.cache/pypoetry",),
            command="poetry config cache-dir",
            mounts=("/root/.cache/pypoetry",),
        ),
        "uv": CacheDirs(
            runner=("~/.cache/uv",), command="uv cache dir", mounts=("/root/.cache/uv",)
        ),
        "pipenv": CacheDirs(runner=("~/.cache/pipenv",), mounts=("/root/.cache/pipenv",)),
        "go": CacheDirs(
            runner=("~/go/pkg/mod", "~/.cache/go-build"),
            mounts=("/go/pkg/mod", "/root/.cache/go-build"),
        ),
        "cargo": CacheDirs(
            runner=("~/.cargo/registry", "~/.cargo/git"),
            mounts=("/usr/local/cargo/registry", "/usr/local/cargo/git"),
        ),
        "maven": CacheDirs(runner=("~/.m2/repository",), mounts=("/root/.m2",)),
        "gradle": CacheDirs(runner=("~/.gradle/caches",), mounts=("/root/.gradle/caches",)),
        "bundler": CacheDirs(runner=("vendor/bundle",), mounts=("/usr/local/bundle",)),
        "composer": CacheDirs(
            runner=("~/.cache/composer",),
            command="composer config cache-files-dir",
            mounts=("/root/.composer/cache",),
        ),
    }
)
