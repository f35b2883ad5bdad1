"""Package managers: how to spot an install in a RUN, and where each keeps its downloads.

`installs(script)` names the package managers a RUN's script runs an install with;
`cache_targets(tool, stage)` gives the `--mount=type=cache` targets for that tool under the
stage's user and environment (a non-root user's home moves `/root/...`). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mab.detection.dockerfile import expand

# A command word at command position: line start, or after `&&`, `||`, `;`, `|`, `(`, `then`,
# `do`, or after leading `VAR=value` assignments / `sudo` / `exec`.
_START = r"(?:^|[;&|(]|\bthen\b|\bdo\b)\s*(?:(?:[A-Za-z_][A-Za-z0-9_]*=\S*|sudo|exec|env)\s+)*"

_INSTALLS: tuple[tuple[str, str], ...] = (
    ("apt", r"(?:xx-)?(?:apt-get|apt)\s+(?:-\S+\s+)*(?:install|upgrade|dist-upgrade)\b"),
    ("apk", r"(?:xx-)?apk\s+(?:-\S+\s+)*add\b"),
    ("bun", r"bun\s+(?:-\S+\s+)*(?:install|i|add)\b"),
    ("pipenv", r"pipenv\s+(?:-\S+\s+)*(?:install|sync)\b"),
    ("sbt", r"(?:sbt|\./sbt)\s"),
    ("dotnet", r"dotnet\s+(?:restore|build|publish|test|pack)\b"),
    ("mix", r"mix\s+(?:deps\.get|deps\.compile|local\.hex|local\.rebar)\b"),
    ("npm", r"npm\s+(?:-\S+\s+)*(?:ci|install|i)\b"),
    ("yarn", r"yarn(?:\s+(?:-\S+\s+)*install\b|\s+--frozen-lockfile\b|\s*(?:$|&&|;))"),
    ("pnpm", r"pnpm\s+(?:-\S+\s+)*(?:install|i|fetch)\b"),
    ("uv", r"uv\s+(?:pip\s+install|sync)\b"),
    ("poetry", r"poetry\s+(?:-\S+\s+)*install\b"),
    ("pip", r"(?:pip3?|python3?\s+-m\s+pip)\s+(?:-\S+\s+)*install\b"),
    ("go", r"(?:xx-)?go\s+(?:mod\s+download|build|install|test|generate|run)\b"),
    ("cargo", r"(?:xx-)?cargo\s+(?:\+\S+\s+)?(?:build|install|fetch|chef\s+cook|test)\b"),
    ("maven", r"(?:mvn|\./mvnw)\s"),
    ("gradle", r"(?:gradle|\./gradlew)\s"),
    ("bundler", r"bundle\s+(?:install|package)\b|bundle\s*(?:$|&&|;)"),
    ("composer", r"composer\s+(?:-\S+\s+)*(?:install|update|require)\b"),
)
_INSTALL_RE = tuple(
    (tool, re.compile(_START + pattern, re.MULTILINE)) for tool, pattern in _INSTALLS
)

# Command-line flags that turn a tool's cache off (the fix drops them with the mount).
NO_CACHE_FLAGS: Mapping[str, str] = {"pip": "--no-cache-dir", "uv": "--no-cache"}
# Environment variables that turn a tool's cache off: where set, no mount is added.
NO_CACHE_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "pip": ("PIP_NO_CACHE_DIR",),
    "pipenv": ("PIP_NO_CACHE_DIR",),
    "uv": ("UV_NO_CACHE",),
    "poetry": ("POETRY_NO_CACHE",),
}
# Tools whose cache is also where later builds read the dependencies from (the module cache,
# the local repository): a later step that builds without the mount would miss them.
READ_AT_BUILD = frozenset({"go", "cargo", "maven", "gradle", "sbt", "dotnet"})


# Official images whose default user is root (the base of most Dockerfiles).
_ROOT_OFFICIAL = frozenset(
    {
        *("alpine", "debian", "ubuntu", "busybox", "fedora", "centos", "rockylinux"),
        *("almalinux", "amazonlinux", "archlinux", "buildpack-deps", "python", "pypy", "node"),
        *("golang", "rust", "ruby", "php", "perl", "openjdk", "eclipse-temurin", "maven"),
        *("gradle", "amazoncorretto", "ibmjava", "sapmachine", "elixir", "erlang", "clojure"),
        *("haskell", "swift", "julia", "r-base", "composer", "nginx", "httpd", "docker"),
    }
)
_ROOT_OTHERS = frozenset(
    {
        *("oven/bun", "mcr.microsoft.com/dotnet/sdk", "sbtscala/scala-sbt", "tonistiigi/xx"),
        *("ghcr.io/astral-sh/uv", "hexpm/elixir", "mcr.microsoft.com/devcontainers/base"),
    }
)


@dataclass(frozen=True)
class StageState:
    """What a point in a stage runs as: its base image, user, and environment (ENV and ARG)."""

    base: str
    user: str = "root"
    env: Mapping[str, str] = field(default_factory=dict)
    user_set: bool = False  # a USER instruction named the user (else the base image's)

    @property
    def user_known(self) -> bool:
        """The user is named in the Dockerfile, or the base is an image known to run as root."""
        if self.user_set:
            return True
        name = self.base.split("@")[0].rsplit(":", 1)[0].lower()
        if "$" in name:
            return False
        parts = name.split("/")
        official = len(parts) == 1 or (parts[0] in ("docker.io", "library") and len(parts) <= 3)
        short = parts[-1]
        return (official and short in _ROOT_OFFICIAL) or name in _ROOT_OTHERS

    @property
    def is_root(self) -> bool:
        name = self.user.partition(":")[0]
        return name in ("root", "0", "")

    @property
    def home(self) -> str | None:
        if "HOME" in self.env:
            return self.env["HOME"]
        if self.is_root:
            return "/root"
        name = self.user.partition(":")[0]
        return None if name.isdigit() else f"/home/{name}"


def installs(script: str) -> list[tuple[str, int]]:
    """The package managers `script` installs with, and where in it (first match each)."""
    found: list[tuple[str, int]] = []
    for tool, pattern in _INSTALL_RE:
        match = pattern.search(script)
        if match is not None:
            found.append((tool, match.end()))
    names = {tool for tool, _ in found}
    if "uv" in names:  # `uv pip install` is uv's, not pip's
        found = [(t, p) for t, p in found if t != "pip" or not re.search(r"\buv\s+pip\b", script)]
    return sorted(found, key=lambda item: item[1])


def _env(state: StageState, name: str) -> str | None:
    value = state.env.get(name)
    return None if value is None else expand(value, dict(state.env))


def cache_targets(tool: str, state: StageState) -> tuple[str, ...] | None:
    """The cache-mount targets for `tool` in `state`; None when mab cannot tell (a user with
    no known home)."""
    home = state.home
    base = state.base.split("@")[0].rpartition("/")[2]

    def under_home(*tails: str) -> tuple[str, ...] | None:
        return None if home is None else tuple(f"{home.rstrip('/')}/{t}" for t in tails)

    if tool == "apt":
        # Not /var/lib/apt: it holds extended_states (which packages were installed by hand),
        # a file of the image. Not its lists either: a later step may read them from the
        # image, and a RUN that deletes them would empty the mount every time.
        return ("/var/cache/apt",)
    if tool == "bun":
        own = _env(state, "BUN_INSTALL_CACHE_DIR")
        bun_home = _env(state, "BUN_INSTALL")
        if own:
            return (own,)
        return (f"{bun_home}/install/cache",) if bun_home else under_home(".bun/install/cache")
    if tool == "pipenv":
        own = _env(state, "PIPENV_CACHE_DIR")
        return (own,) if own else under_home(".cache/pipenv")
    if tool == "sbt":
        own = _env(state, "COURSIER_CACHE")
        return (own,) if own else under_home(".cache/coursier")
    if tool == "dotnet":
        own = _env(state, "NUGET_PACKAGES")
        return (own,) if own else under_home(".nuget/packages")
    if tool == "mix":
        # HEX_HOME's package tarballs only: MIX_HOME holds the installed hex and rebar.
        hex_home = _env(state, "HEX_HOME")
        return (f"{hex_home}/packages",) if hex_home else under_home(".hex/packages")
    if tool == "npm":
        own = _env(state, "npm_config_cache") or _env(state, "NPM_CONFIG_CACHE")
        return (own,) if own else under_home(".npm")
    if tool == "yarn":
        own = _env(state, "YARN_CACHE_FOLDER")
        if own:
            return (own,)
        return ("/usr/local/share/.cache/yarn",) if state.is_root else under_home(".cache/yarn")
    if tool == "pnpm":
        pnpm_home = _env(state, "PNPM_HOME")
        return (
            (f"{pnpm_home.rstrip('/')}/store",)
            if pnpm_home
            else under_home(".local/share/pnpm/store")
        )
    if tool in ("pip", "uv", "poetry"):
        variable = {"pip": "PIP_CACHE_DIR", "uv": "UV_CACHE_DIR", "poetry": "POETRY_CACHE_DIR"}
        own = _env(state, variable[tool])
        folder = {"pip": "pip", "uv": "uv", "poetry": "pypoetry"}[tool]
        return (own,) if own else under_home(f".cache/{folder}")
    if tool == "go":
        gopath = _env(state, "GOPATH") or ("/go" if base.startswith("golang") else None)
        modcache = _env(state, "GOMODCACHE") or (f"{gopath}/pkg/mod" if gopath else None)
        gocache = _env(state, "GOCACHE")
        if modcache is None or gocache is None:
            fallback = under_home("go/pkg/mod", ".cache/go-build")
            if fallback is None:
                return None
            modcache, gocache = modcache or fallback[0], gocache or fallback[1]
        return (modcache, gocache)
    if tool == "cargo":
        cargo_home = _env(state, "CARGO_HOME") or (
            "/usr/local/cargo" if base.startswith("rust") else None
        )
        if cargo_home is None:
            return under_home(".cargo/registry", ".cargo/git/db")
        return (f"{cargo_home}/registry", f"{cargo_home}/git/db")
    # Maven's and Gradle's homes also hold settings a Dockerfile may COPY in (settings.xml,
    # gradle.properties): mount only the download folders, never hide those.
    if tool == "maven":
        return under_home(".m2/repository")
    if tool == "gradle":
        own = _env(state, "GRADLE_USER_HOME")
        if own:
            return (f"{own}/caches", f"{own}/wrapper")
        return under_home(".gradle/caches", ".gradle/wrapper")
    if tool == "bundler":
        gem_home = _env(state, "GEM_HOME") or (
            "/usr/local/bundle" if base.startswith("ruby") else None
        )
        return (f"{gem_home}/cache",) if gem_home else under_home(".gem")
    if tool == "composer":
        own = _env(state, "COMPOSER_CACHE_DIR")
        if own:
            return (own,)
        composer_home = _env(state, "COMPOSER_HOME")
        # Without COMPOSER_HOME, composer on Linux follows XDG: ~/.cache/composer.
        return (f"{composer_home}/cache",) if composer_home else under_home(".cache/composer")
    return None


# Targets any tool's mount may use, by the end of the path (a mount the user chose elsewhere).
_TAILS: Mapping[str, tuple[str, ...]] = {
    "apt": ("var/cache/apt", "var/lib/apt/lists"),
    "bun": (".bun/install/cache", "bun/install/cache"),
    "pipenv": (".cache/pipenv",),
    "sbt": (".cache/coursier", "coursier"),
    "dotnet": (".nuget/packages",),
    "mix": (".hex/packages", "hex/packages"),
    "npm": (".npm",),
    "yarn": (".cache/yarn", "yarn/berry/cache", ".yarn/cache"),
    "pnpm": ("pnpm/store", "/store"),
    "pip": (".cache/pip",),
    "uv": (".cache/uv",),
    "poetry": (".cache/pypoetry",),
    "go": ("pkg/mod", ".cache/go-build"),
    "cargo": ("cargo/registry", "cargo/git", "cargo/git/db"),
    "maven": (".m2", ".m2/repository"),
    "gradle": (".gradle", ".gradle/caches", ".gradle/wrapper"),
    "bundler": ("bundle/cache", ".gem", "/cache"),
    "composer": ("composer/cache", ".cache/composer", "/cache"),
}


def covers(tool: str, wanted: str, mounted: str) -> bool:
    """True when a cache mount at `mounted` serves the `wanted` target of `tool`."""
    if mounted.rstrip("/") == wanted.rstrip("/"):
        return True
    if wanted.startswith(mounted.rstrip("/") + "/"):
        return True  # a mount of a folder holding the cache
    if mounted.startswith(wanted.rstrip("/") + "/"):
        return True  # the user mounts a part of it (`/go/pkg/mod/cache`): their choice
    tail = wanted.rstrip("/").rpartition("/")[2]
    path = "/" + mounted.strip("/")
    return path.endswith("/" + tail) and any(path.endswith(t) for t in _TAILS.get(tool, ()))
