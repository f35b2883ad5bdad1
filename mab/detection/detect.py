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
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mab.detection.bake import BAKE_FILES, bake_specs
from mab.detection.compose import (
    BuildSpec,
    compose_sets,
    compose_specs,
    is_compose_name,
    merge_compose,
)
from mab.detection.dockerfile import parse_dockerfile
from mab.detection.gitignore import IgnoreFile, is_ignored
from mab.detection.gitrepo import read_remote
from mab.detection.interpolate import parse_env_file
from mab.detection.lockfiles import LOCKFILE_NAMES, ecosystem_for
from mab.detection.project import DockerfileInfo, Image, ImageRequest, Lockfile, Project, Skipped
from mab.detection.select import (
    choose,
    is_build_script,
    is_dockerfile_name,
    missing_copies,
    not_shipped_dir,
    runs_tests,
    text_problem,
)
from mab.errors import UserError
from mab.files.yamlio import read_data

SKIP_DIRS = frozenset(
    {".git", "node_modules", "vendor", "third_party", ".venv", "venv", "__pycache__"}
)
_CARGO_MARKERS = ("CACHEDIR.TAG", ".rustc_info.json")
# A superset of the names `_note_file` records, to pass over the other files quickly.
_NAMES = frozenset({*LOCKFILE_NAMES, *BAKE_FILES, "Dockerfile", "Containerfile"})
_SCRIPT_MAX_BYTES = 256 * 1024
DOCKERFILE_MAX_BYTES = 1024 * 1024  # BuildKit's own limit is far beyond any real Dockerfile
CONFIG_NAME = ".mab.yml"  # where `requests` come from, for warnings
_NAME_PATTERNS = re.compile(
    r".*\.(?:txt|gradle|gradle\.kts|dockerfile|containerfile)|(?:dockerfile|containerfile)(?:\..*)?",
    re.IGNORECASE | re.DOTALL,
)
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


def detect(root: Path, requests: tuple[ImageRequest, ...] = ()) -> Project:
    """Everything `mab init-ci` needs to know of the repository at `root`. `requests` are
    images the user named by hand (`images:` in `.mab.yml`), added when detection left them
    out."""
    found = _walk(root)
    warnings = list(found.warnings)
    dockerfiles = _Dockerfiles(root, warnings)
    skipped: list[Skipped] = []
    built: list[Image] = []
    for spec_file, spec in _specs(root, found, warnings, skipped):
        image = _spec_image(spec, spec_file, found, dockerfiles, warnings)
        if image is not None and not any(_same_build(image, i) for i in built):
            built.append(image)
    asked = {r.name for r in requests}
    images: list[Image] = []
    for image in built:
        why = runs_tests(image.name, image.dockerfile)
        if why is None or slug(image.name) in asked:
            images.append(image)
        else:
            reason = f"{image.origin} builds it for {image.name}, a test runner ({why})"
            skipped.append(Skipped(image.dockerfile, reason, image.name))
    wanted = {r.dockerfile: r for r in requests if r.dockerfile}
    chosen, left_out = choose(
        found.dockerfiles, {i.dockerfile for i in built}, bool(images), found.scripts
    )
    skipped += [Skipped(path, reason) for path, reason in left_out if path not in wanted]
    for path in dict.fromkeys([*chosen, *wanted]):
        if any(i.dockerfile == path for i in images):
            continue
        request = wanted.get(path)
        context = (request.context if request else None) or posixpath.dirname(path) or "."
        target = request.target if request else None
        images.append(Image(request.name if request else "", context, path, target=target))
    images = [replace(i, info=dockerfiles.info(i.dockerfile)) for i in images]
    images = [  # what the user asked for is built as asked
        i
        for i in images
        if i.info is not None and (i.name in asked or _buildable(root, i, skipped))
    ]
    lockfiles = tuple(Lockfile(path, ecosystem) for path, ecosystem in found.lockfiles)
    images = [replace(i, lockfiles=_lockfiles_in(i.context, lockfiles)) for i in images]
    images = _named(images, _root_name(root))
    names = {i.name for i in images}
    warnings += [
        f"{CONFIG_NAME}: images: {r.name}: no image has that name; give its `dockerfile:` to add it"
        for r in requests
        if r.name not in names and not r.dockerfile
    ]
    images.sort(key=lambda i: (i.dockerfile, i.context, i.target or "", i.name))
    return Project(
        images=tuple(images),
        lockfiles=lockfiles,
        remote=read_remote(root),
        warnings=tuple(warnings),
        skipped=tuple(skipped),
    )


def _buildable(root: Path, image: Image, skipped: list[Skipped]) -> bool:
    """False (and why, in `skipped`) when the build needs files the repository lacks."""
    sources = image.info.local_copies if image.info else ()
    missing = missing_copies(sources, image.context, lambda p: os.path.lexists(root / p))
    if missing:
        what = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        reason = f"it copies {what}, not in the repository (made outside the Dockerfile?)"
        skipped.append(Skipped(image.dockerfile, reason, image.name or None))
    return not missing


# --- images from compose and bake files ---------------------------------------------------


def _specs(
    root: Path, found: _Found, warnings: list[str], skipped: list[Skipped]
) -> list[tuple[str, BuildSpec]]:
    """(the file that names it, spec) for every image the compose and bake files build."""
    out: list[tuple[str, BuildSpec]] = []
    spec_files = []
    for path in found.compose_files + found.bake_files:
        folder = not_shipped_dir(path)
        if folder is None:
            spec_files.append(path)
        else:
            skipped.append(Skipped(path, f"not read: it sits in {folder}/ (tests do not ship)"))
    sets, notes = compose_sets([p for p in spec_files if p not in found.bake_files])
    skipped += [Skipped(path, reason) for path, reason in notes]
    for compose_set in sets:
        data: Any = None
        for path in compose_set.files:
            try:
                data = merge_compose(data, read_data(root / path, path))
            except UserError as exc:
                warnings.append(f"{exc.message} (compose file ignored)")
        env = _env_file(root, compose_set.directory, warnings)
        specs, problems = compose_specs(data, " + ".join(compose_set.files), env)
        warnings.extend(problems)
        out += [(compose_set.files[0], spec) for spec in specs]
    for path in [p for p in spec_files if p in found.bake_files]:
        try:
            text = (root / path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            warnings.append(f"{path}: cannot read ({exc.strerror}); bake file ignored")
            continue
        specs, problems = bake_specs(text, path)
        warnings.extend(problems)
        out += [(path, spec) for spec in specs]
    return out


def _env_file(root: Path, directory: str, warnings: list[str]) -> dict[str, str]:
    path = root / directory / ".env"
    try:
        return parse_env_file(path.read_text(encoding="utf-8", errors="replace"))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        warnings.append(f"{posixpath.join(directory, '.env')}: cannot read ({exc.strerror})")
        return {}


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
    return Image(
        name=spec.name,
        context=context,
        dockerfile=dockerfile,
        origin="bake" if spec_file in found.bake_files else "compose",
        target=spec.target,
        args=spec.args,
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
            self.parsed[rel] = self._read(rel)
        return self.parsed[rel]

    def _read(self, rel: str) -> DockerfileInfo | None:
        path = self.root / rel
        try:
            if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or a device would block
                self.warnings.append(f"{rel}: not a regular file; not built")
                return None
            with path.open("rb") as file:
                raw = file.read(DOCKERFILE_MAX_BYTES + 1)
        except OSError as exc:
            self.warnings.append(f"{rel}: cannot read ({exc.strerror}); not built")
            return None
        problem = text_problem(raw)
        if len(raw) > DOCKERFILE_MAX_BYTES:
            problem = f"it is over {DOCKERFILE_MAX_BYTES // 1024 // 1024} MiB"
        if problem is None:
            info = parse_dockerfile(raw.decode("utf-8"), rel)
            if info.stages:
                return info
            problem = "it has no FROM instruction"
        self.warnings.append(f"{rel}: not a Dockerfile, {problem}; not built")
        return None


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
        slug(i.name) if i.name else _default_name(i, root_name) for i in images
    ]  # images found from a Dockerfile alone have no name yet; the user's requests have one
    order = sorted(range(len(images)), key=lambda n: (not images[n].name, n))
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
    scripts: dict[str, str] = field(default_factory=dict)  # build scripts' text, by path


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
            elif is_compose_name(name) and not is_ignored(rules, prefix + name, is_dir=False):
                found.compose_files.append(prefix + name)
            elif is_build_script(prefix + name):
                _note_script(found, entry, prefix + name)
    found.dockerfiles.sort()
    found.compose_files.sort()
    found.bake_files.sort()
    found.lockfiles.sort()
    found.dockerfile_set = frozenset(found.dockerfiles)
    return found


def _note_script(found: _Found, entry: os.DirEntry[str], child: str) -> None:
    try:
        if entry.stat().st_size <= _SCRIPT_MAX_BYTES:
            found.scripts[child] = Path(entry.path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        pass  # a script mab cannot read names nothing mab could use


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
