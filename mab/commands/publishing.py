"""`mab init-ci` beside an existing publisher: refuse to race it, or replace it when asked.

The repository's own CI already pushes some of the images mab would push (`detection.
publishers`). Without `--replace FILE` nothing is written (exit 4) and each clash is named with
its file and line; `--dry-run`, `--check` and `--explain` only warn. With `--replace FILE` (a
workflow under `.github/workflows/`), mab writes its jobs into that file: the jobs that push
those images are taken out, the user's other jobs are kept, and `.mab.yml` keeps the images
as they were found (name, Dockerfile, context, target, image) and the workflow's name, so the
next run plans the same file the same way.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import click

from mab.config.file import named_in_file, override
from mab.config.settings import ImageSettings, Settings
from mab.config.types import KNOWN_PLATFORMS
from mab.detection.conventions import evidence_platforms
from mab.detection.project import Project
from mab.detection.publishers import Clash, clashes, jobs_at
from mab.errors import NotOwnedError, UserError
from mab.registry.cacherefs import image_ref

WORKFLOWS = ".github/workflows/"


def guard(
    root: Path, project: Project, settings: Settings, replace: str | None, writes: bool
) -> tuple[Settings, set[int]]:
    """The settings to plan with and the lines of the replaced file whose jobs mab takes over."""
    found = clashes(project, lambda image: image_ref(project, settings, image))
    if replace is None:
        if not found:
            return settings, set()
        said = "\n".join(f"  {c.reference} ({c.image}) is pushed by {c.publisher}" for c in found)
        files = sorted({c.file for c in found})
        hint = (
            f"pass --replace {files[0]} to let mab build these images there (your other jobs "
            "are kept), or give them other names (--image, or `image:` under `images:` in "
            ".mab.yml)"
        )
        if writes:
            raise NotOwnedError(
                f"the repository's CI already pushes what mab would push; a second publisher "
                f"would race it:\n{said}",
                hint=hint,
            )
        click.echo(f"mab: warning: a second publisher would race these:\n{said}", err=True)
        click.echo(f"  hint: {hint}", err=True)
        return settings, set()
    rel = posixpath.normpath(replace)
    if not rel.startswith(WORKFLOWS) or not rel.endswith((".yml", ".yaml")):
        raise UserError(
            f"--replace {replace}: not a GitHub workflow",
            hint=f"name a file under {WORKFLOWS} that pushes images, as the message listing "
            "the existing publishers says",
        )
    if not (root / rel).is_file():
        raise UserError(f"--replace {replace}: no such file under {root}")
    mine = [c for c in found if c.file == rel]
    stem = posixpath.basename(rel).rsplit(".", 1)[0]
    settings = override(
        settings,
        {"github.workflow": stem, "images": _kept_images(project, settings, found)},
    )
    return settings, {c.line for c in mine}


def _kept_images(project: Project, settings: Settings, found: list[Clash]) -> tuple[Any, ...]:
    """`.mab.yml` entries that keep each image as found, once its CI evidence is mab's own."""
    entries = {i.name: i for i in settings.images}
    for image in project.images:
        if image.name in entries or not image.publisher:
            continue
        entries[image.name] = ImageSettings(
            name=image.name,
            image=image_ref(project, settings, image),
            dockerfile=image.dockerfile,
            context=image.context,
            target=image.target,
        )
    del found
    return tuple(entries.values())


def drop_jobs(document: Any, lines: set[int]) -> list[str]:
    """Take the jobs spanning `lines` out of a workflow, and out of other jobs' `needs`."""
    jobs = document.get("jobs") if hasattr(document, "get") else None
    if not lines or jobs is None or not hasattr(jobs, "lc"):
        return []
    dropped = list(jobs_at(jobs, lines))
    for job_id in dropped:
        del jobs[job_id]
    for job in jobs.values():
        needs = job.get("needs") if hasattr(job, "get") else None
        if isinstance(needs, list):
            for job_id in dropped:
                while job_id in needs:
                    needs.remove(job_id)
        elif isinstance(needs, str) and needs in dropped:
            del job["needs"]
    return dropped


def adopt_platforms(root: Path, project: Project, settings: Settings, *, given: bool) -> Settings:
    """The platforms the repository's builds already name, unless a flag or `.mab.yml` says."""
    found = tuple(p for p in evidence_platforms(project) if p in KNOWN_PLATFORMS)
    if given or not found or "platforms" in named_in_file(root):
        return settings
    click.echo(
        f"mab: platforms: {', '.join(found)} (as the repository's builds name them)", err=True
    )
    return override(settings, {"platforms": found})
