"""Project detection: the one module that walks a repository. `detect(root)` finds its
Dockerfiles, compose and bake files, lockfiles and git remote, and returns a `Project`.

The walk uses `os.scandir` and prunes what never holds a project's own Dockerfiles: `.git`,
dependency trees (`node_modules`, `vendor`, virtualenvs...), Cargo build output, and whatever
`.gitignore` files (and `.git/info/exclude`) ignore. Problems with a file become warnings in
`Project.warnings`, never exceptions.
"""

from __future__ import annotations

import bisect
import os
import posixpath
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from mab.detection.bake import BAKE_FILES, bake_specs
from mab.detection.compose import COMPOSE_FILES, BuildSpec, compose_specs
from mab.detection.dockerfile import parse_dockerfile
from mab.detection.gitignore import IgnoreFile, is_ignored
from mab.detection.lockfiles import LOCKFILE_NAMES, ecosystem_for
from mab.detection.project import DockerfileInfo, Image, Lockfile, Project, Remote
from mab.detection.remote import remote_from_config
from mab.errors import UserError
from mab.files.yamlio import read_data

SKIP_DIRS = frozenset(
    {".git", "node_modules", "vendor", "third_party", ".venv", "venv", "__pycache__"}
)
_CARGO_MARKERS = ("CACHEDIR.TAG", ".rustc_info.json")
# A superset of the names `_note_file` records, to pass over the other files quickly.
_NAMES = frozenset({*LOCKFILE_NAMES, *COMPOSE_FILES, *BAKE_FILES, "Dockerfile", "Containerfile"})
_NAME_PATTERNS = re.compile(
    r".*\.(?:txt|gradle|gradle\.kts|dockerfile|containerfile)|(?:dockerfile|containerfile)(?:\..*)?",
    re.IGNORECASE | re.DOTALL,
)
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


# `Dockerfile.<x>` names that are not Dockerfiles: source code (a `dockerfile.py` parser),
# documents, data, and templates that must be rendered before they can be built.
_NOT_DOCKERFILE_SUFFIXES = frozenset(
    [
        "py",
        "pyi",
        "go",
        "rs",
        "js",
        "mjs",
        "cjs",
        "ts",
        "tsx",
        "java",
        "kt",
        "rb",
        "php",
        "c",
        "h",
        "cc",
        "cpp",
        "cs",
        "swift",
        "md",
        "rst",
        "txt",
        "adoc",
        "json",
        "yaml",
        "yml",
        "toml",
        "ini",
        "cfg",
        "sh",
        "bash",
        "ps1",
        "lock",
        "j2",
        "jinja",
        "jinja2",
        "tmpl",
        "tpl",
        "template",
        "in",
        "erb",
        "hbs",
        "mustache",
        "bak",
        "orig",
        "old",
        "swp",
        "tmp",
        "example",
        "sample",
        "dockerignore",
    ]
)


def is_dockerfile_name(name: str) -> bool:
    """`Dockerfile`, `Containerfile`, `api.Dockerfile`, `Dockerfile.api`; not `*.dockerignore`,
    `Dockerfile.j2` or `dockerfile.py`."""
    lower = name.lower()
    if lower in ("dockerfile", "containerfile"):
        return True
    if lower.endswith((".dockerfile", ".containerfile")):
        return True
    if lower.startswith(("dockerfile.", "containerfile.")):
        return lower.rsplit(".", 1)[1] not in _NOT_DOCKERFILE_SUFFIXES
    return False


def detect(root: Path) -> Project:
    """Everything `mab init-ci` needs to know of the repository at `root`."""
    found = _walk(root)
    warnings = list(found.warnings)
    dockerfiles = _Dockerfiles(root, warnings)
    images: list[Image] = []
    for spec_file in found.compose_files + found.bake_files:
        for spec in _read_specs(root, spec_file, warnings):
            image = _spec_image(spec, spec_file, found, dockerfiles, warnings)
            if image is not None and not any(_same_build(image, i) for i in images):
                images.append(image)
    claimed = {i.dockerfile for i in images}
    images += [
        Image(
            name="",
            context=posixpath.dirname(path) or ".",
            dockerfile=path,
            info=dockerfiles.info(path),
        )
        for path in found.dockerfiles
        if path not in claimed
    ]
    lockfiles = tuple(Lockfile(path, ecosystem) for path, ecosystem in found.lockfiles)
    images = [replace(i, lockfiles=_lockfiles_in(i.context, lockfiles)) for i in images]
    images = _named(images, _root_name(root))
    images.sort(key=lambda i: (i.dockerfile, i.context, i.target or "", i.name))
    return Project(
        images=tuple(images),
        lockfiles=lockfiles,
        remote=read_remote(root),
        warnings=tuple(warnings),
    )


def read_remote(root: Path) -> Remote | None:
    """The `origin` remote (else the first one) from the repository's git config, if any."""
    git = root / ".git"
    try:
        if git.is_file():  # a worktree or submodule: `gitdir: <path>`
            pointer = git.read_text(encoding="utf-8").strip().removeprefix("gitdir:").strip()
            git = (root / pointer).resolve()
            common = git / "commondir"
            if common.is_file():
                git = (git / common.read_text(encoding="utf-8").strip()).resolve()
        return remote_from_config((git / "config").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None


# --- images from compose and bake files ---------------------------------------------------


def _read_specs(root: Path, rel: str, warnings: list[str]) -> list[BuildSpec]:
    path = root / rel
    if posixpath.basename(rel) in COMPOSE_FILES:
        try:
            data = read_data(path, rel)
        except UserError as exc:
            warnings.append(f"{exc.message} (compose file ignored)")
            return []
        specs, problems = compose_specs(data, rel)
    else:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            warnings.append(f"{rel}: cannot read ({exc.strerror}); bake file ignored")
            return []
        specs, problems = bake_specs(text, rel)
    warnings.extend(problems)
    return specs


def _spec_image(
    spec: BuildSpec,
    spec_file: str,
    found: _Found,
    dockerfiles: _Dockerfiles,
    warnings: list[str],
) -> Image | None:
    where = f"{spec_file}: {spec.name}"
    context = _inside(posixpath.dirname(spec_file), spec.context)
    dockerfile = _inside(context, spec.dockerfile) if context is not None else None
    if context is None or dockerfile is None:
        warnings.append(f"{where}: context or Dockerfile is outside the repository (skipped)")
        return None
    if dockerfile not in found.dockerfile_set and not dockerfiles.exists(dockerfile):
        warnings.append(f"{where}: {dockerfile} does not exist (skipped)")
        return None
    origin = "compose" if posixpath.basename(spec_file) in COMPOSE_FILES else "bake"
    return Image(
        name=spec.name,
        context=context,
        dockerfile=dockerfile,
        origin=origin,
        target=spec.target,
        args=spec.args,
        info=dockerfiles.info(dockerfile),
    )


def _inside(base: str, relative: str) -> str | None:
    """`relative` joined to repo-relative `base`, normalized; None if it leaves the repo."""
    if relative.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(base or ".", relative))
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


def _same_build(a: Image, b: Image) -> bool:
    return (a.context, a.dockerfile, a.target, a.args) == (
        b.context,
        b.dockerfile,
        b.target,
        b.args,
    )


class _Dockerfiles:
    """Reads and parses each Dockerfile once; a file it cannot read becomes a warning."""

    def __init__(self, root: Path, warnings: list[str]) -> None:
        self.root = root
        self.warnings = warnings
        self.parsed: dict[str, DockerfileInfo | None] = {}

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def info(self, rel: str) -> DockerfileInfo | None:
        if rel not in self.parsed:
            try:
                text = (self.root / rel).read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                self.warnings.append(f"{rel}: cannot read ({exc.strerror})")
                self.parsed[rel] = None
            else:
                self.parsed[rel] = parse_dockerfile(text, rel)
        return self.parsed[rel]


# --- names and lockfiles ---------------------------------------------------------------------


def slug(text: str) -> str:
    """A short lowercase `[a-z0-9-]` name; "app" when nothing is left."""
    return _SLUG_JUNK.sub("-", text.lower()).strip("-") or "app"


def _root_name(root: Path) -> str:
    return slug(root.resolve().name)


def _default_name(image: Image, root_name: str) -> str:
    base = posixpath.basename(image.dockerfile)
    lower = base.lower()
    for suffix in (".dockerfile", ".containerfile"):
        if lower.endswith(suffix) and len(base) > len(suffix):
            return slug(base[: -len(suffix)])
    for prefix in ("dockerfile.", "containerfile."):
        if lower.startswith(prefix) and len(base) > len(prefix):
            return slug(base[len(prefix) :])
    return slug(posixpath.basename(image.context)) if image.context != "." else root_name


def _named(images: list[Image], root_name: str) -> list[Image]:
    """Give every image a unique slug: compose/bake names first, then names from paths."""
    wanted = [
        slug(i.name) if i.origin != "dockerfile" and i.name else _default_name(i, root_name)
        for i in images
    ]
    order = sorted(range(len(images)), key=lambda n: (images[n].origin == "dockerfile", n))
    taken: set[str] = set()
    named = list(images)
    for n in order:
        name, suffix = wanted[n], 2
        while name in taken:
            name, suffix = f"{wanted[n]}-{suffix}", suffix + 1
        taken.add(name)
        named[n] = replace(images[n], name=name)
    return named


def _lockfiles_in(context: str, lockfiles: tuple[Lockfile, ...]) -> tuple[Lockfile, ...]:
    """The lockfiles under `context` (all of them for the root); `lockfiles` is sorted."""
    if context == ".":
        return lockfiles
    prefix = context + "/"
    paths = [lf.path for lf in lockfiles]
    start = bisect.bisect_left(paths, prefix)
    end = bisect.bisect_left(paths, prefix[:-1] + chr(ord("/") + 1), lo=start)
    return lockfiles[start:end]


# --- the walk --------------------------------------------------------------------------------


@dataclass
class _Found:
    dockerfiles: list[str] = field(default_factory=list)
    compose_files: list[str] = field(default_factory=list)
    bake_files: list[str] = field(default_factory=list)
    lockfiles: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dockerfile_set: frozenset[str] = frozenset()


def _walk(root: Path) -> _Found:
    found = _Found()
    base_rules = [r for r in (_rules_from(root / ".git/info/exclude", "", found),) if r]
    pending: list[tuple[str, list[IgnoreFile]]] = [("", base_rules)]
    top = str(root)
    while pending:
        rel, rules = pending.pop()
        try:
            with os.scandir(f"{top}/{rel}" if rel else top) as scan:
                entries = list(scan)
        except OSError as exc:
            found.warnings.append(f"{rel or '.'}/: cannot read directory ({exc.strerror})")
            continue
        if any(e.name == ".gitignore" for e in entries):
            own = _rules_from(root / rel / ".gitignore", rel, found)
            rules = [*rules, own] if own else rules
        prefix = f"{rel}/" if rel else ""
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                child = prefix + name
                if not _skip_dir(entry) and not is_ignored(rules, child, is_dir=True):
                    pending.append((child, rules))
            elif name in _NAMES or _NAME_PATTERNS.fullmatch(name):  # the quick test first
                _note_file(found, rules, name, prefix + name)
    found.dockerfiles.sort()
    found.compose_files.sort()
    found.bake_files.sort()
    found.lockfiles.sort()
    found.dockerfile_set = frozenset(found.dockerfiles)
    return found


def _skip_dir(entry: os.DirEntry[str]) -> bool:
    if entry.name in SKIP_DIRS:
        return True
    if entry.name == "target":
        return any(Path(entry.path, marker).exists() for marker in _CARGO_MARKERS)
    return False


def _note_file(found: _Found, rules: list[IgnoreFile], name: str, child: str) -> None:
    """Record `child` if it is a file detection cares about and is not ignored."""
    ecosystem = ecosystem_for(child)
    if ecosystem is not None:
        bucket = None
    elif is_dockerfile_name(name):
        bucket = found.dockerfiles
    elif name in COMPOSE_FILES:
        bucket = found.compose_files
    elif name in BAKE_FILES:
        bucket = found.bake_files
    else:
        return
    if is_ignored(rules, child, is_dir=False):
        return
    if bucket is None:
        found.lockfiles.append((child, ecosystem or ""))
    else:
        bucket.append(child)


def _rules_from(path: Path, base: str, found: _Found) -> IgnoreFile | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        found.warnings.append(f"{path}: cannot read ({exc.strerror}); its patterns are ignored")
        return None
    return IgnoreFile.parse(text, base)
