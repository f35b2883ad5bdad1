"""Evidence of what a repository builds: each source says which Dockerfile, context, target,
build args, platforms, image names and tags, and where it says so (file:line). Pure data and the
small rules that turn a written build command into repo-relative paths.

Ranked strongest first: the repository's own CI (`workflow`, `gitlab`), bake files, build
scripts, compose files, Dockerfiles found by name.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from mab.detection.commands import BuildCommand

RANK = {
    "workflow": 0,
    "gitlab": 0,
    "goreleaser": 0,
    "bake": 1,
    "script": 2,
    "compose": 3,
    "dockerfile": 4,
}
PUBLISHERS = frozenset({"workflow", "gitlab"})  # what pushes by itself (CI runs GoReleaser)
LABELS = {
    "workflow": "the repository's GitHub workflow",
    "gitlab": "the repository's GitLab CI",
    "goreleaser": "the GoReleaser release configuration",
    "bake": "a bake file",
    "script": "a build script",
    "compose": "a compose file",
    "dockerfile": "its file name",
}
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """A short lowercase `[a-z0-9-]` name; "app" when nothing is left."""
    return _SLUG_JUNK.sub("-", text.lower()).strip("-") or "app"


@dataclass(frozen=True)
class Build:
    """One image build that a piece of evidence names; paths are repo-relative."""

    kind: str  # a key of RANK
    where: str  # "path:line" (or "path: target NAME")
    dockerfile: str
    context: str
    target: str | None = None
    name: str | None = None  # the service, bake target or image name it goes by
    args: tuple[tuple[str, str], ...] = ()
    platforms: tuple[str, ...] = ()
    images: tuple[str, ...] = ()  # image references without tag
    tags: tuple[str, ...] = ()  # tag values or patterns (metadata-action `tags:` lines)
    push: bool = False
    registries: tuple[str, ...] = ()  # registries the job logs in to
    artifacts: bool = False  # writes files (`--output type=local`), no image
    profiles: tuple[str, ...] = ()  # compose: only `--profile` one of these builds it

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.dockerfile, self.context, self.target or "")


@dataclass(frozen=True)
class BakeRun:
    """A `docker buildx bake` run (the bake action, or the command): bake files and targets,
    resolved later against the files themselves."""

    kind: str
    where: str
    workdir: str  # repo-relative directory bake runs in
    files: tuple[str, ...]  # repo-relative; empty: bake's default file names in workdir
    targets: tuple[str, ...]
    push: bool = False
    images: tuple[str, ...] = ()
    registries: tuple[str, ...] = ()


def inside(base: str, relative: str) -> str | None:
    """`relative` joined to repo-relative `base`, normalized; None if it leaves the repository
    or still holds a variable."""
    if relative.startswith("/") or "$" in relative or "{{" in relative:
        return None
    joined = posixpath.normpath(posixpath.join(base or ".", relative))
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


def image_name(reference: str) -> str:
    """The repository part of an image reference, without registry and tag:
    `ghcr.io/o/app:1` -> `app`."""
    last = reference.rsplit("/", 1)[-1]
    return last.split("@", 1)[0].split(":", 1)[0]


def without_tag(reference: str) -> str:
    head, _, last = reference.rpartition("/")
    last = last.split("@", 1)[0].split(":", 1)[0]
    return f"{head}/{last}" if head else last


def from_command(
    command: BuildCommand, kind: str, path: str, workdir: str = ""
) -> Build | BakeRun | None:
    """The build a command in `path` runs from repo-relative `workdir` (None when its
    paths cannot be resolved)."""
    where = f"{path}:{command.line}"
    base = inside(workdir or ".", command.workdir or ".")
    if base is None:
        return None
    if command.is_bake:
        files = [inside(base, f) for f in command.bake_files]
        if any(f is None for f in files):
            return None
        return BakeRun(
            kind, where, base, tuple(f for f in files if f), command.bake_targets, command.push
        )
    if command.context is None:
        return None
    context = inside(base, command.context)
    if context is None:
        return None
    if command.dockerfile is None:
        dockerfile: str | None = posixpath.join(context, "Dockerfile")
    else:
        dockerfile = inside(base, command.dockerfile)
    if dockerfile is None:
        return None
    images = tuple(dict.fromkeys(without_tag(t) for t in command.tags if "$" not in t))
    return Build(
        kind=kind,
        where=where,
        dockerfile=posixpath.normpath(dockerfile),
        context=context,
        target=command.target,
        name=image_name(images[0]) if images else None,
        args=command.args,
        platforms=command.platforms,
        images=images,
        tags=command.tags,
        push=command.push,
        artifacts=bool(command.outputs) and not command.push
        and all("type=image" not in o and "type=registry" not in o for o in command.outputs),
    )  # fmt: skip
