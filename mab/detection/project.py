"""The project model: what `mab init-ci` learns about a repository. Pure data.

All paths are POSIX paths relative to the repository root ("." for the root itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Ecosystem names used throughout mab (generators key their cache steps on these).
ECOSYSTEMS = (
    "npm",
    "yarn",
    "pnpm",
    "bun",
    "pip",
    "poetry",
    "uv",
    "pipenv",
    "go",
    "cargo",
    "maven",
    "gradle",
    "bundler",
    "composer",
)


@dataclass(frozen=True)
class Lockfile:
    """A dependency lockfile (or manifest that plays that role, such as pom.xml)."""

    path: str
    ecosystem: str


@dataclass(frozen=True)
class CacheMount:
    """A `RUN --mount=type=cache,target=...` in a Dockerfile."""

    target: str
    line: int
    id: str | None = None
    sharing: str | None = None
    # uid, gid and mode shape the mount's first directory, and `from` its base: all four are
    # part of how BuildKit keys the cache, so whoever carries it must pass them as written.
    uid: str | None = None
    gid: str | None = None
    mode: str | None = None
    source_stage: str | None = None  # from=


@dataclass(frozen=True)
class Stage:
    """One `FROM base [AS name]` and what follows it."""

    index: int
    base: str
    line: int
    name: str | None = None
    platform: str | None = None  # the FROM --platform=... value, as written


@dataclass(frozen=True)
class DockerfileInfo:
    """What mab needs to know of one Dockerfile."""

    path: str
    stages: tuple[Stage, ...]
    # Which automatic platform ARGs are declared/used: TARGETPLATFORM, TARGETOS, TARGETARCH,
    # TARGETVARIANT, BUILDPLATFORM, BUILDOS, BUILDARCH, BUILDVARIANT.
    platform_args: frozenset[str] = frozenset()
    # True when a stage runs on the build platform (FROM --platform=$BUILDPLATFORM ...),
    # i.e. the Dockerfile cross-compiles instead of emulating.
    cross_compiles: bool = False
    cache_mounts: tuple[CacheMount, ...] = ()
    # Source paths of COPY/ADD lines that bring lockfiles in before the rest of the source.
    lockfile_copies: tuple[str, ...] = ()
    # Source paths of every COPY/ADD from the build context (not `--from=`, not URLs).
    local_copies: tuple[str, ...] = ()
    # ENV values (last one wins, `$VAR` filled in where known), and the package managers its
    # RUN lines call (`mab.detection.tools`).
    env: tuple[tuple[str, str], ...] = ()
    runs: frozenset[str] = frozenset()

    @property
    def base_images(self) -> tuple[str, ...]:
        """External base images (not earlier stages, not scratch), in order, without repeats."""
        stage_names = {s.name for s in self.stages if s.name}
        seen: list[str] = []
        for s in self.stages:
            if s.base in stage_names or s.base == "scratch" or s.base in seen:
                continue
            seen.append(s.base)
        return tuple(seen)


@dataclass(frozen=True)
class Image:
    """One image to build: a Dockerfile, its context, and where that came from."""

    name: str  # short, unique, lowercase id: "app", "api", "worker"
    context: str
    dockerfile: str
    origin: str = "dockerfile"  # "dockerfile" | "compose" | "bake"
    target: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    info: DockerfileInfo | None = None
    lockfiles: tuple[Lockfile, ...] = ()
    # Where each field came from: (field, value as shown, where), strongest evidence first.
    evidence: tuple[tuple[str, str, str], ...] = ()
    # What the repository's own CI already does with it: the references it pushes (no tag),
    # platforms, tag rules and registries, and the file:line of the step that pushes it.
    references: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    registries: tuple[str, ...] = ()
    publisher: str | None = None
    pre_build: str | None = None  # a command CI runs before the build (`.mab.yml`)
    local_tags: tuple[str, ...] = ()  # what build scripts tag it (`docker build -t`)
    after: tuple[str, ...] = ()  # images built here that its FROM names

    @property
    def ecosystems(self) -> tuple[str, ...]:
        """The ecosystems of its lockfiles whose tool the Dockerfile runs (all of them when
        mab has not read the Dockerfile)."""
        found = {lf.ecosystem for lf in self.lockfiles}
        if self.info is not None:
            found &= self.info.runs
        return tuple(e for e in ECOSYSTEMS if e in found)


@dataclass(frozen=True)
class Remote:
    """The repository's git remote, parsed."""

    host: str
    path: str  # "owner/repo" or "group/subgroup/project"
    provider: str  # "github" | "gitlab" | "other"

    @property
    def default_image(self) -> str:
        path = self.path.lower()
        if self.provider == "github":
            return f"ghcr.io/{path}"
        if self.provider == "gitlab":
            host = "registry.gitlab.com" if self.host == "gitlab.com" else f"registry.{self.host}"
            return f"{host}/{path}"
        return f"{self.host}/{path}"


@dataclass(frozen=True)
class Skipped:
    """A Dockerfile or compose file that detection found and left out, and why."""

    path: str
    reason: str
    name: str | None = None  # the compose service or bake target, when one names it
    pre_build: str | None = None  # the command that makes what it copies, when mab knows one


@dataclass(frozen=True)
class ImageRequest:
    """An image the user asked for by hand (`images:` in `.mab.yml`)."""

    name: str
    dockerfile: str | None = None  # None: an image detection found and left out, by name
    context: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class Project:
    images: tuple[Image, ...]
    lockfiles: tuple[Lockfile, ...] = ()
    remote: Remote | None = None
    warnings: tuple[str, ...] = field(default=())
    skipped: tuple[Skipped, ...] = field(default=())
    release_tags: tuple[str, ...] = ("v*",)  # git tag patterns of releases (`[0-9]*`, ...)
