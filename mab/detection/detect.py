"""Project detection: the one module that walks a repository. `detect(root)` finds its
Dockerfiles, compose and bake files, lockfiles and git remote, and returns a `Project`.

The walk uses `os.scandir` and prunes what never holds a project's own Dockerfiles: `.git`,
dependency trees (`node_modules`, `vendor`, virtualenvs...), Cargo build output, and whatever
`.gitignore` files (and `.git/info/exclude`) ignore. Problems with a file become warnings in
`Project.warnings`, never exceptions.
"""

from __future__ import annotations

import bisect
import functools
import os
import posixpath
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from mab.detection.bake import BAKE_FILES
from mab.detection.compose import is_compose_name
from mab.detection.context import Tree, copied_files
from mab.detection.conventions import from_chains, release_tag_patterns
from mab.detection.devcontainer import DEVCONTAINER_FILES
from mab.detection.dockerfile import parse_dockerfile
from mab.detection.evidence import slug
from mab.detection.gather import Sources, gather
from mab.detection.gitignore import IgnoreFile, is_ignored
from mab.detection.gitrepo import read_remote, tag_names
from mab.detection.lockfiles import LOCKFILE_NAMES, ecosystem_for
from mab.detection.merge import merge
from mab.detection.prebuild import maker
from mab.detection.project import DockerfileInfo, Image, ImageRequest, Lockfile, Project, Skipped
from mab.detection.select import (
    is_build_script,
    is_dockerfile_name,
    missing_copies,
    text_problem,
    windows_base,
)
from mab.files.reader import UnreadableFileError, UnsafeFileError, read_bytes, read_text

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
    r".*\.(?:txt|gradle|gradle\.kts|dockerfile|containerfile)|(?:dockerfile|containerfile)(?:[.-].*)?",
    re.IGNORECASE | re.DOTALL,
)


def detect(root: Path, requests: tuple[ImageRequest, ...] = ()) -> Project:
    """Everything `mab init-ci` needs to know of the repository at `root`. `requests` are
    images the user named by hand (`images:` in `.mab.yml`), added when detection left them
    out."""
    found = _walk(root)
    warnings = list(found.warnings)
    dockerfiles = _Dockerfiles(root, warnings)
    sources = Sources(
        dockerfiles=tuple(found.dockerfiles),
        compose_files=tuple(found.compose_files),
        bake_files=tuple(found.bake_files),
        scripts=found.scripts,
        devcontainers=found.devcontainers,
    )
    gathered = gather(root, sources)
    warnings += gathered.warnings
    tree = Tree(exists=lambda rel: os.path.lexists(root / rel), read=functools.partial(_text, root))
    wanted = {r.dockerfile: r for r in requests if r.dockerfile}
    merged = merge(
        gathered.builds,
        found.dockerfiles,
        found.scripts,
        tree,
        gathered.dev_reason,
        lambda path: info.local_copies if (info := dockerfiles.info(path)) else (),
        frozenset(wanted) | {r.name for r in requests},
    )
    skipped = [*gathered.skipped, *(s for s in merged.skipped if s.path not in wanted)]
    images = list(merged.images)
    asked = {r.name for r in requests}
    for path, request in wanted.items():
        if any(i.dockerfile == path for i in images):
            continue
        context = request.context or posixpath.dirname(path) or "."
        images.append(Image(request.name, context, path, target=request.target))
    images = [replace(i, info=dockerfiles.info(i.dockerfile)) for i in images]
    images = [  # what the user asked for is built as asked
        b
        for i in images
        if i.info is not None
        and (b := i if i.name in asked or i.dockerfile in wanted else _buildable(i, skipped, tree))
    ]
    lockfiles = tuple(Lockfile(path, ecosystem) for path, ecosystem in found.lockfiles)
    images = [replace(i, lockfiles=_used_lockfiles(i, lockfiles, tree)) for i in images]
    remote = read_remote(root)
    images = _named(images, slug(remote.path.rsplit("/", 1)[-1]) if remote else "app")
    images = from_chains(images)
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
        remote=remote,
        warnings=tuple(dict.fromkeys(warnings)),
        skipped=tuple(dict.fromkeys(skipped)),
        release_tags=release_tag_patterns(tag_names(root)),
    )


def _text(root: Path, rel: str) -> str | None:
    try:
        return read_text(root / rel, where=rel, strict=False)
    except (OSError, UnreadableFileError):
        return None


def _buildable(image: Image, skipped: list[Skipped], tree: Tree) -> Image | None:
    """The image, with the `pre-build` command that makes what its Dockerfile copies and a
    checkout lacks when mab knows one; None (and why, in `skipped`) when it does not, or when
    it is a Windows image (mab's platforms are Linux ones)."""
    base = windows_base(image.info, image.target) if image.info else None
    if base is not None:
        reason = f"a Windows image (FROM {base}): mab builds for Linux platforms"
        skipped.append(Skipped(image.dockerfile, reason, image.name or None))
        return None
    sources = image.info.local_copies if image.info else ()
    missing = missing_copies(sources, image.context, tree.exists)
    if not missing:
        return image
    what = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    made_by, command = maker(missing, image.context, tree)
    if command is not None:
        why = f"it copies {what}, which {made_by} makes"
        evidence = (*image.evidence, ("pre-build", command, why))
        return replace(image, pre_build=command, evidence=evidence)
    reason = f"it copies {what}, not in the repository (made by {made_by})"
    skipped.append(Skipped(image.dockerfile, reason, image.name or None))
    return None


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
            raw = read_bytes(path, limit=DOCKERFILE_MAX_BYTES, where=rel)
        except OSError as exc:
            self.warnings.append(f"{rel}: cannot read ({exc.strerror}); not built")
            return None
        except UnreadableFileError as exc:
            self.warnings.append(f"{rel}: cannot read ({exc.reason}); not built")
            return None
        except UnsafeFileError as exc:
            if exc.oversize:
                self.warnings.append(f"{rel}: not a Dockerfile, {exc.reason}; not built")
            else:
                self.warnings.append(f"{rel}: not a regular file; not built")
            return None
        problem = text_problem(raw)
        if problem is None:
            info = parse_dockerfile(raw.decode("utf-8"), rel)
            if info.stages:
                return info
            problem = "it has no FROM instruction"
        self.warnings.append(f"{rel}: not a Dockerfile, {problem}; not built")
        return None


# --- names and lockfiles ---------------------------------------------------------------------


def _default_name(image: Image, root_name: str) -> str:
    base = posixpath.basename(image.dockerfile)
    lower = base.lower()
    for suffix in (".dockerfile", ".containerfile"):
        if lower.endswith(suffix) and len(base) > len(suffix):
            return slug(base[: -len(suffix)])
    for prefix in ("dockerfile.", "containerfile.", "dockerfile-", "containerfile-"):
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


def _used_lockfiles(
    image: Image, lockfiles: tuple[Lockfile, ...], tree: Tree
) -> tuple[Lockfile, ...]:
    """The lockfiles under the image's context that its Dockerfile copies or bind-mounts."""
    under = _lockfiles_in(image.context, lockfiles)
    sources = image.info.local_copies if image.info else ()
    paths = tuple(lf.path for lf in under)
    used = set(copied_files(paths, image.context, image.dockerfile, sources, tree))
    return tuple(lf for lf in under if lf.path in used)


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
    devcontainers: dict[str, str] = field(default_factory=dict)  # devcontainer.json texts


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
                _note_script(found.scripts, entry, prefix + name)
            elif name in DEVCONTAINER_FILES:
                _note_script(found.devcontainers, entry, prefix + name)
    found.dockerfiles.sort()
    found.compose_files.sort()
    found.bake_files.sort()
    found.lockfiles.sort()
    found.dockerfile_set = frozenset(found.dockerfiles)
    return found


def _note_script(into: dict[str, str], entry: os.DirEntry[str], child: str) -> None:
    try:
        into[child] = read_text(
            Path(entry.path), limit=_SCRIPT_MAX_BYTES, where=child, strict=False
        )
    except (OSError, UnreadableFileError):
        pass  # a script mab cannot read names nothing mab could use
    except UnsafeFileError as exc:
        if not exc.oversize:  # a long script is skipped; a FIFO or a device is refused
            raise


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
        text = read_text(path, strict=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnreadableFileError) as exc:
        reason = exc.reason if isinstance(exc, UnreadableFileError) else exc.strerror
        found.warnings.append(f"{path}: cannot read ({reason}); its patterns are ignored")
        return None
    return IgnoreFile.parse(text, base)
