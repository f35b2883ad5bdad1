"""The images `.mab.yml` controls one by one (`images:`), applied over what detection found.

Each entry names an image by the name mab gave it: `exclude: true` leaves it out; `dockerfile`,
`context` and `target` replace what the evidence said; `build-args` are set over the ones
found; `image` is the reference to push. An entry for an image detection did not find adds it
(with its `dockerfile`). A `dockerfile` or `context` that does not exist is refused, with the
path, before anything is planned.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from mab.config.settings import CONFIG_FILE, ImageSettings, Settings
from mab.detection.project import ImageRequest, Project
from mab.errors import UserError


def image_requests(root: Path, settings: Settings) -> tuple[ImageRequest, ...]:
    """The images `.mab.yml` names under `images:`, for detection to add or keep (each path
    checked first)."""
    for own in settings.images:
        _check_paths(root, own)
    return tuple(
        ImageRequest(i.name, i.dockerfile, i.context, i.target)
        for i in settings.images
        if not i.exclude
    )


def _check_paths(root: Path, own: ImageSettings) -> None:
    where = f"{CONFIG_FILE}: images: {own.name}"
    if own.dockerfile is not None and not (root / own.dockerfile).is_file():
        raise UserError(
            f"{where}: dockerfile: {own.dockerfile}: no such file in {root}",
            hint="give the Dockerfile's path from the repository's root (nothing was written)",
        )
    if own.context is not None and not (root / own.context).is_dir():
        raise UserError(
            f"{where}: context: {own.context}: no such folder in {root}",
            hint="give the build context's path from the repository's root (nothing was written)",
        )


def apply_image_overrides(project: Project, settings: Settings) -> Project:
    images = []
    for image in project.images:
        own = settings.image_settings(image.name)
        if own is not None and own.exclude:
            click.echo(f"mab: left out: {image.name} ({CONFIG_FILE} excludes it)", err=True)
            continue
        if own is not None:
            args = dict(image.args)
            args.update(own.build_args)
            image = replace(
                image,
                context=own.context or image.context,
                dockerfile=own.dockerfile or image.dockerfile,
                target=own.target or image.target,
                args=tuple(args.items()),
                pre_build=own.pre_build or image.pre_build,
            )
        images.append(image)
    return replace(project, images=tuple(images))
