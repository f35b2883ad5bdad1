"""What `mab build` asks buildx for, and the exact `docker buildx build` command line. Pure.

Defaults come from `.mab.yml` (`Settings`) so a local build uses the same platforms and the
same per-platform registry caches as CI (see `mab.registry.cacherefs`). The image the caches
belong to is the one CI uses for this Dockerfile (found by the caller through project
detection), else `image:` in `.mab.yml`; without either, no cache defaults (a `-t` tag names
no cache: mab never reads a cache nobody named).

- one platform: `--cache-from` that platform's cache ref and, for CI (`export=True`),
  `--cache-to` it (with `ignore-error=true`, so a registry that refuses the push never fails
  the build); a build outside CI writes only what it is asked to (`mab.run.plan`);
- several platforms: `--cache-from` every platform's ref, read-only. A build has only one
  `--cache-to`, and a multi-platform registry cache keeps one platform's records only
  (docker/buildx#1044), so nothing is exported unless `--cache-to` is given;
- any `--cache-from`/`--cache-to` given by the user replaces these defaults entirely, and
  `--no-cache` turns them off;
- only the `registry` backend has defaults: `gha` needs a GitHub runner, `local` and `s3`
  caches are CI-runner paths and credentials.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace

from mab.config.settings import Settings
from mab.errors import UserError
from mab.registry.cacherefs import registry_specs

PROGRESS = "--progress=rawjson"


@dataclass(frozen=True)
class BuildRequest:
    context: str = "."
    file: str | None = None
    platforms: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    push: bool = False
    load: bool = False
    cache_from: tuple[str, ...] = ()
    cache_to: str | None = None
    no_cache: bool = False
    target: str | None = None
    build_args: tuple[tuple[str, str], ...] = ()
    builder: str | None = None
    extra_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.push and self.load:
            raise UserError(
                "--push and --load cannot be used together",
                hint="push to a registry, or load into the local image store, not both",
            )

    @property
    def multi_platform(self) -> bool:
        return len(self.platforms) > 1

    @property
    def cache_exports(self) -> tuple[str, ...]:
        return (self.cache_to,) if self.cache_to else ()


def parse_build_arg(value: str) -> tuple[str, str]:
    """`KEY=VALUE` -> ("KEY", "VALUE"). A bare `KEY` is refused: buildx would read it from the
    environment, which makes a build depend on the shell it ran in."""
    key, sep, val = value.partition("=")
    if not sep or not key.strip():
        raise UserError(
            f"--build-arg {value!r} is not KEY=VALUE", hint="for example --build-arg VERSION=1.2"
        )
    return key.strip(), val


def image_from_tag(tag: str) -> str:
    """`registry:5000/app:1.2` -> `registry:5000/app` (drops a tag and a digest)."""
    name = tag.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def with_defaults(
    req: BuildRequest,
    settings: Settings,
    branch_slug: str | None = None,
    image: str | None = None,
    *,
    export: bool = True,
) -> BuildRequest:
    """Fill what the user did not give from the repository's settings (see module doc).
    `image` is the image CI caches this build under, when the caller could tell (else
    `image:` in `.mab.yml`; a `-t` tag names no cache). `export=False`: read the caches only
    (a build outside CI writes them only when asked; see `mab.run.plan`)."""
    platforms = req.platforms or settings.platforms
    req = replace(req, platforms=platforms)
    if req.cache_from or req.cache_to or req.no_cache or settings.cache != "registry":
        return req
    image = image or settings.image
    if image is None:
        return req
    specs = [registry_specs(image, p, branch_slug) for p in platforms]
    cache_from = tuple(dict.fromkeys(src for s in specs for src in s.cache_from))
    cache_to = specs[0].cache_to if len(specs) == 1 and export else None
    return replace(req, cache_from=cache_from, cache_to=cache_to)


def buildx_argv(req: BuildRequest, docker: str = "docker") -> list[str]:
    """`docker buildx build --progress=rawjson ...` for the request; the context comes last."""
    argv = [docker, "buildx", "build", PROGRESS]
    if req.builder:
        argv += ["--builder", req.builder]
    if req.file:
        argv += ["--file", req.file]
    if req.platforms:
        argv += ["--platform", ",".join(req.platforms)]
    for tag in req.tags:
        argv += ["--tag", tag]
    if req.push:
        argv.append("--push")
    if req.load:
        argv.append("--load")
    for spec in req.cache_from:
        argv += ["--cache-from", spec]
    if req.cache_to:
        argv += ["--cache-to", req.cache_to]
    if req.no_cache:
        argv.append("--no-cache")
    if req.target:
        argv += ["--target", req.target]
    for key, value in req.build_args:
        argv += ["--build-arg", f"{key}={value}"]
    argv += list(req.extra_args)
    # The context can come from `.mab.yml`: never an option (`--output=...` would be one).
    argv.append("./" + req.context if req.context.startswith("-") else req.context)
    return argv


def shown_argv(argv: list[str]) -> str:
    """The command line for a log: `--build-arg` values hidden (they may hold tokens)."""
    shown = list(argv)
    for i, arg in enumerate(shown[:-1]):
        if arg == "--build-arg":
            shown[i + 1] = shown[i + 1].split("=", 1)[0] + "=***"
    return shlex.join(shown)
