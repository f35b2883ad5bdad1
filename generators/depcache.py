"""Dependency caches: which tool a `RUN --mount=type=cache` directory belongs to, and what keys it.

A container build never reads the runner's `~/.npm` or `~/go/pkg/mod`: the package manager runs
inside BuildKit. So a runner-side dependency cache only pays off when it is carried into the
build, and that needs a cache mount in the Dockerfile to carry it into. For every cache mount an
image's Dockerfile declares, mab keeps a directory on the runner (under `runner.temp`, outside
the build context), restores and saves it with actions/cache keyed on the tool's lockfiles, and
injects it into BuildKit with buildkit-cache-dance. An image without cache mounts gets no
dependency cache (its layer cache already covers the dependency layer); the generator says so in
a comment instead of spending cache quota on a directory nothing reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from mab.detection.project import CacheMount, Image
from mab.detection.tools import tool_for_env_dir

# In-image cache-mount targets, by the tail of the path, and the tool they belong to. The usual
# homes (/root/..., /home/<user>/..., /usr/local/...) all end the same way.
_TARGET_TAILS: tuple[tuple[str, str], ...] = (
    (".npm", "npm"),
    (".cache/yarn", "yarn"),
    ("yarn/berry/cache", "yarn"),
    ("pnpm/store", "pnpm"),
    (".bun/install/cache", "bun"),
    (".cache/pip", "pip"),
    (".cache/pypoetry", "poetry"),
    (".cache/uv", "uv"),
    (".cache/pipenv", "pipenv"),
    ("go/pkg/mod", "go"),
    (".cache/go-build", "go"),
    ("cargo/registry", "cargo"),
    ("cargo/git", "cargo"),
    (".m2", "maven"),
    (".m2/repository", "maven"),
    (".gradle", "gradle"),
    (".gradle/caches", "gradle"),
    (".gradle/wrapper", "gradle"),
    ("bundle/cache", "bundler"),
    ("composer/cache", "composer"),
    (".cache/composer", "composer"),
    ("var/cache/apt", "apt"),
    ("var/lib/apt", "apt"),
    ("var/cache/apk", "apk"),
)
# Where each tool keeps its downloads in the usual base images: what to mount as a cache.
SUGGESTED_TARGETS: dict[str, str] = {
    "npm": "/root/.npm",
    "yarn": "/usr/local/share/.cache/yarn",
    "pnpm": "/root/.local/share/pnpm/store",
    "bun": "/root/.bun/install/cache",
    "pip": "/root/.cache/pip",
    "poetry": "/root/.cache/pypoetry",
    "uv": "/root/.cache/uv",
    "pipenv": "/root/.cache/pipenv",
    "go": "/go/pkg/mod",
    "cargo": "/usr/local/cargo/registry",
    "maven": "/root/.m2/repository",
    "gradle": "/root/.gradle/caches",
    "bundler": "/usr/local/bundle/cache",
    "composer": "/root/.composer/cache",
}
# Cache mounts mab cannot attribute to a package manager (a compiler's target dir, say).
OTHER_TOOL = "build"


def tool_for_target(target: str) -> str:
    path = "/" + target.strip("/")
    for tail, tool in _TARGET_TAILS:
        if path.endswith("/" + tail):
            return tool
    return OTHER_TOOL


# Cache mounts whose content a build writes (compiler caches, build directories), by the tail
# of the path. Unlike a download cache they change on every build, with the lockfiles unchanged,
# so they are saved per run (see `DepCache.per_run`).
_BUILD_OUTPUT_TAILS = (".cache/go-build", "target", ".cache/sccache", ".ccache", ".cache/ccache")
# The mount options that make up a cache mount's identity in BuildKit, in the order the cache
# map lists them (buildkit-cache-dance passes every key of an entry on as `key=value`). `ro`
# is left out: the injection has to write the mount.
MOUNT_OPTIONS = ("id", "uid", "gid", "mode", "sharing")


def is_build_output(target: str) -> bool:
    path = "/" + target.strip("/")
    return any(path.endswith("/" + tail) for tail in _BUILD_OUTPUT_TAILS)


@dataclass(frozen=True)
class Mount:
    """One cache mount to carry: where it lives on the runner and in BuildKit."""

    target: str
    id: str | None  # the mount's id= when the Dockerfile sets one (BuildKit keys on it)
    runner_dir: str  # relative to the mab cache root on the runner
    # Every other option of the mount as written (uid, gid, mode, sharing), in MOUNT_OPTIONS order.
    options: tuple[tuple[str, str], ...] = ()

    @property
    def build_output(self) -> bool:
        return is_build_output(self.target)

    def cache_map_value(self) -> str | dict[str, str]:
        """The mount as buildkit-cache-dance's `cache-map` takes it: the bare target, or the
        target with every option that keys the mount in BuildKit."""
        extra = dict(self.options)
        if self.id is not None and self.id != self.target:
            extra = {"id": self.id, **extra}
        if not extra:
            return self.target
        return {"target": self.target, **extra}


@dataclass(frozen=True)
class DepCache:
    """One actions/cache entry: a tool's cache mounts of one image, keyed on its lockfiles."""

    tool: str
    mounts: tuple[Mount, ...]
    key_files: tuple[str, ...]  # paths for hashFiles(), relative to the repository root
    # Build output (a compiler cache): changes on every build, so it is saved under a key of
    # its own each run, with the lockfile key as the prefix it is restored from.
    per_run: bool = False


def _slug(target: str) -> str:
    return target.strip("/").replace("/", "-") or "root"


def _key_files(image: Image, tool: str) -> tuple[str, ...]:
    own = tuple(lf.path for lf in image.lockfiles if lf.ecosystem == tool)
    if own:
        return own
    # apt, unknown build dirs, or a tool without a lockfile of its own (pip installing poetry):
    # what they hold follows the Dockerfile and, for build dirs, the dependencies.
    extra = tuple(lf.path for lf in image.lockfiles) if tool == OTHER_TOOL else ()
    return (*extra, image.dockerfile)


def _mount(m: CacheMount, tool: str) -> Mount:
    options = {"uid": m.uid, "gid": m.gid, "mode": m.mode, "sharing": m.sharing}
    kept = tuple((k, v) for k in MOUNT_OPTIONS if (v := options.get(k)) is not None)
    return Mount(m.target, m.id, f"{tool}/{_slug(m.id or m.target)}", kept)


def not_carried(m: CacheMount) -> str | None:
    """Why no runner-side cache can reach the mount `m` (None when one can): the copy is made
    in a build of its own, which cannot reproduce a stage of the project's build (`from=`) nor
    the value of a build argument or ENV the mount's options name."""
    if m.source_stage:
        return f"starts from stage {m.source_stage} (from=), which only the build can make"
    named = (("target", m.target), ("id", m.id), ("uid", m.uid), ("gid", m.gid), ("mode", m.mode))
    variable = next((f"{k}={v}" for k, v in named if v and "$" in v), None)
    if variable:
        return f"takes {variable} from a variable, which only the build resolves"
    return None


def uncarried(image: Image) -> tuple[str, ...]:
    """A sentence per cache mount no runner-side cache can reach, saying which and why (for
    the pipeline's comments)."""
    mounts: tuple[CacheMount, ...] = image.info.cache_mounts if image.info else ()
    return tuple(
        f"Not carried between runs: the cache mount on {m.target} (line {m.line}) {why}."
        for m in mounts
        if (why := not_carried(m))
    )


def dep_caches(image: Image) -> tuple[DepCache, ...]:
    """The dependency caches of one image, one per tool, in the order their mounts appear."""
    mounts: tuple[CacheMount, ...] = image.info.cache_mounts if image.info else ()
    env = dict(image.info.env) if image.info else {}
    by_tool: dict[str, list[Mount]] = {}
    seen: set[str] = set()
    for m in mounts:
        identity = m.id or m.target
        if identity in seen or not_carried(m):
            continue
        seen.add(identity)
        tool = tool_for_env_dir(m.target, env) or tool_for_target(m.target)
        by_tool.setdefault(tool, []).append(_mount(m, tool))
    return tuple(DepCache(tool, tuple(ms), _key_files(image, tool)) for tool, ms in by_tool.items())


def split_build_outputs(caches: tuple[DepCache, ...]) -> tuple[DepCache, ...]:
    """Each tool's build-output mounts as a cache of their own (`<tool>-build`, saved per run);
    mounts mab cannot attribute count as build output (nothing says a lockfile keys them)."""
    out: list[DepCache] = []
    for cache in caches:
        if cache.tool == OTHER_TOOL:
            out.append(DepCache(cache.tool, cache.mounts, cache.key_files, per_run=True))
            continue
        downloads = tuple(m for m in cache.mounts if not m.build_output)
        built = tuple(m for m in cache.mounts if m.build_output)
        if downloads:
            out.append(DepCache(cache.tool, downloads, cache.key_files))
        if built:
            out.append(DepCache(f"{cache.tool}-build", built, cache.key_files, per_run=True))
    return tuple(out)


def hash_files_expr(paths: tuple[str, ...]) -> str:
    quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    return f"${{{{ hashFiles({quoted}) }}}}"
