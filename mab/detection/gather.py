"""Gather the evidence of what a repository builds, source by source: its CI (GitHub workflows,
GitLab CI), bake files, build scripts and compose files. Each yields `Build`s with file:line.
Reads only the files the walk found (their texts come in `Sources`) and the bake, compose and
`.env` files they name.

Files of a dev container (`.devcontainer/**`, anything a `devcontainer.json` names) and files
in test, example and fixture folders are never evidence of an image that ships; files mab wrote
itself are not evidence either (so a second run sees what the first saw).
"""

from __future__ import annotations

import functools
import posixpath
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mab.detection.bake import BAKE_FILES, bake_specs
from mab.detection.compose import BuildSpec, compose_sets, compose_specs, merge_compose
from mab.detection.devcontainer import dev_files, in_devcontainer_dir
from mab.detection.dockerfile import parse_dockerfile
from mab.detection.evidence import BakeRun, Build, inside
from mab.detection.goreleaser import FILES as GORELEASER_FILES
from mab.detection.goreleaser import goreleaser_builds
from mab.detection.interpolate import parse_env_file
from mab.detection.project import Skipped
from mab.detection.scripts import script_builds
from mab.detection.select import MANAGED_MARKER, missing_copies, not_shipped_dir, tooling
from mab.detection.workflows import github_builds, gitlab_builds, local_calls
from mab.errors import UserError
from mab.files.reader import UnreadableFileError, UnsafeFileError, YamlBudgetError, read_text
from mab.files.yamlio import read_data


@dataclass(frozen=True)
class Sources:
    """What the walk found: repo-relative paths, and the texts of scripts and dev containers."""

    dockerfiles: tuple[str, ...] = ()
    compose_files: tuple[str, ...] = ()
    bake_files: tuple[str, ...] = ()
    scripts: dict[str, str] = field(default_factory=dict)
    devcontainers: dict[str, str] = field(default_factory=dict)


@dataclass
class Gathered:
    builds: list[Build] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dev: dict[str, str] = field(default_factory=dict)  # path -> why it is a dev container's

    def dev_reason(self, path: str) -> str | None:
        if path in self.dev:
            return f"a dev container builds it ({self.dev[path]})"
        if in_devcontainer_dir(path):
            return "it is a dev container's (under .devcontainer/)"
        return None


def gather(root: Path, sources: Sources) -> Gathered:
    out = Gathered(dev=dev_files(sources.devcontainers))
    runs: list[BakeRun] = []
    scripts = {p: t for p, t in sources.scripts.items() if MANAGED_MARKER not in t}
    for path, text in sorted(scripts.items()):
        found: list[Build | BakeRun]
        if path.startswith(".github/workflows/"):
            found = list(github_builds(text, path))
            for called, inputs in local_calls(text, path):
                if called in scripts:
                    found += github_builds(scripts[called], called, inputs)
        elif posixpath.basename(path) == ".gitlab-ci.yml":
            found = list(gitlab_builds(text, path))
        elif not_shipped_dir(path) is None and out.dev_reason(path) is None and not tooling(path):
            found = script_builds(text, path, functools.partial(_fits, root))
        else:
            continue
        out.builds += [b for b in found if isinstance(b, Build)]
        runs += [b for b in found if isinstance(b, BakeRun)]
    for name in GORELEASER_FILES:
        release = _read(root, name, out)
        out.builds += goreleaser_builds(release, name) if release is not None else []
    for run in runs:
        out.builds += _bake_run(root, run, out)
    ran = {f for run in runs for f in run.files}
    for path in sources.bake_files:
        if path not in ran and _shipped(path, out):
            out.builds += _bake_file(root, path, out)
    compose = [p for p in sources.compose_files if _shipped(p, out)]
    for path in sorted(set(sources.compose_files) - set(compose)):
        reason = out.dev_reason(path)
        for build in _compose(root, [path], Gathered()) if reason else ():
            # a main Dockerfile is the project's own image even when a dev container uses it
            if posixpath.basename(build.dockerfile).lower() not in ("dockerfile", "containerfile"):
                out.dev.setdefault(build.dockerfile, f"{path}, a dev container's compose file")
    out.builds += _compose(root, compose, out)
    return out


def _fits(root: Path, build: Build) -> bool | None:
    """None: no such Dockerfile; else whether its COPY/ADD sources resolve from the context."""
    try:
        text = read_text(root / build.dockerfile, where=build.dockerfile, strict=False)
    except (OSError, UnreadableFileError, UnsafeFileError):  # the Dockerfile's own reader says
        return None
    sources = parse_dockerfile(text, build.dockerfile).local_copies
    return not missing_copies(sources, build.context, lambda p: (root / p).exists())


def _shipped(path: str, out: Gathered) -> bool:
    reason = out.dev_reason(path)
    folder = not_shipped_dir(path)
    if reason is None and folder is not None:
        reason = f"it sits in {folder}/ (tests do not ship)"
    if reason is not None:
        out.skipped.append(Skipped(path, f"not read: {reason}"))
    return reason is None


def _read(root: Path, rel: str, out: Gathered) -> str | None:
    try:
        return read_text(root / rel, where=rel, strict=False)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except (OSError, UnreadableFileError) as exc:
        reason = exc.reason if isinstance(exc, UnreadableFileError) else exc.strerror
        out.warnings.append(f"{rel}: cannot read ({reason}); ignored")
        return None


# --- bake ------------------------------------------------------------------------------------


def _bake_run(root: Path, run: BakeRun, out: Gathered) -> list[Build]:
    """The images a CI's bake run builds: its files (bake's default names in its working
    directory when it names none) and targets, paths from its working directory."""
    files = run.files or tuple(
        f for f in (posixpath.normpath(posixpath.join(run.workdir, n)) for n in BAKE_FILES)
        if (root / f).is_file()
    )  # fmt: skip
    builds = _bake_specs(root, files, run.targets, out)
    found = []
    for name, spec in builds:
        where = f"{run.where} (target {name})"
        build = _spec_build(root, spec, run.kind, where, run.workdir, out, push=run.push)
        if build is not None and run.images:
            build = replace(build, images=run.images, registries=run.registries)
        if build is not None:
            found.append(build)
    return found


def _bake_file(root: Path, path: str, out: Gathered) -> list[Build]:
    """The images `docker buildx bake -f PATH` builds, run from the repository's root as bake
    resolves paths from its working directory (from the file's folder only when that is the
    one place its Dockerfile exists)."""
    folder = posixpath.dirname(path)
    overrides = [
        o for o in (posixpath.join(folder, n) for n in BAKE_FILES if "override" in n)
        if o != path and (root / o).is_file() and "override" not in posixpath.basename(path)
    ]  # fmt: skip
    if "override" in posixpath.basename(path):
        return []  # read with its main file
    builds = []
    for name, spec in _bake_specs(root, (path, *overrides), (), out):
        where = f"{path}: target {name}"
        build = _spec_build(root, spec, "bake", where, ".", out, quiet=bool(folder))
        if build is None and folder:
            build = _spec_build(root, spec, "bake", where, folder, out)
        builds += [build] if build is not None else []
    return builds


def _bake_specs(
    root: Path, files: tuple[str, ...], targets: tuple[str, ...], out: Gathered
) -> list[tuple[str, BuildSpec]]:
    texts = [(f, _read(root, f, out)) for f in files]
    hcl = "\n".join(t for f, t in texts if t is not None and not f.endswith(".json"))
    found: list[tuple[str, BuildSpec]] = []
    for where, text in [(files[0] if files else "", hcl)] + [
        (f, t) for f, t in texts if t is not None and f.endswith(".json")
    ]:
        if not text.strip():
            continue
        specs, problems = bake_specs(text, where, targets)
        out.warnings += problems
        found += [(s.name, s) for s in specs]
    return found


def _spec_build(
    root: Path,
    spec: BuildSpec,
    kind: str,
    where: str,
    workdir: str,
    out: Gathered,
    *,
    push: bool = False,
    quiet: bool = False,
) -> Build | None:
    context = inside(workdir, spec.context)
    dockerfile = inside(context, spec.dockerfile) if context is not None else None
    problem = None
    if context is None or dockerfile is None:
        problem = f"{where}: context or Dockerfile is outside the repository"
    elif not (root / dockerfile).is_file():
        problem = f"{where}: {dockerfile} does not exist"
    if problem is not None:
        out.warnings += [] if quiet else [f"{problem} (skipped)"]
        return None
    assert context is not None and dockerfile is not None
    return Build(
        kind=kind, where=where, dockerfile=dockerfile, context=context, target=spec.target,
        name=spec.name, args=spec.args, platforms=spec.platforms, push=push,
        profiles=spec.profiles,
    )  # fmt: skip


# --- compose ---------------------------------------------------------------------------------


def _compose(root: Path, paths: list[str], out: Gathered) -> list[Build]:
    sets, notes = compose_sets(paths)
    out.skipped += [Skipped(path, reason) for path, reason in notes]
    builds = []
    for compose_set in sets:
        data: Any = None
        for path in compose_set.files:
            try:
                data = merge_compose(data, read_data(root / path, path))
            except (UnsafeFileError, YamlBudgetError):
                raise  # a FIFO, a device, gigabytes, an alias bomb: refused, never skipped
            except UserError as exc:
                out.warnings.append(f"{exc.message} (compose file ignored)")
        env_text = _read(root, posixpath.join(compose_set.directory, ".env"), out)
        env = parse_env_file(env_text) if env_text is not None else {}
        specs, problems = compose_specs(data, " + ".join(compose_set.files), env)
        out.warnings.extend(problems)
        for spec in specs:
            where = f"{compose_set.files[0]}: service {spec.name}"
            build = _spec_build(root, spec, "compose", where, compose_set.directory, out)
            builds += [build] if build is not None else []
    return builds
