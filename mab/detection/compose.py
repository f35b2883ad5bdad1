"""Compose files: parsed compose data into the images it builds. Pure.

`BuildSpec` is also what `mab.detection.bake` produces: an image that a compose service or a
bake target
names, with its context relative to the file that named it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mab.detection.dockerfile import expand

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")


@dataclass(frozen=True)
class BuildSpec:
    """An image named by a compose service or a bake target."""

    name: str
    context: str  # as written: relative to the directory of the file that names it
    dockerfile: str = "Dockerfile"  # relative to the context
    target: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    platforms: tuple[str, ...] = ()


def scalar(value: object) -> str:
    """A YAML/JSON scalar as the string a build would see (`true`, not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_remote_context(context: str) -> bool:
    """A context that is a URL or a git/other-target reference rather than a directory."""
    return "://" in context or context.startswith(("git@", "target:", "docker-image:"))


def compose_specs(data: Any, where: str) -> tuple[list[BuildSpec], list[str]]:
    """The images that compose `data` builds, and warnings (each starting with `where`)."""
    if data is None:
        return [], []
    if not isinstance(data, dict):
        return [], [f"{where}: not a compose file (expected a mapping at the top)"]
    services = data.get("services") or {}
    if not isinstance(services, dict):
        return [], [f"{where}: `services` should be a mapping of service names"]
    specs: list[BuildSpec] = []
    warnings: list[str] = []
    for name, service in services.items():
        if not isinstance(service, dict) or "build" not in service:
            continue
        spec, problem = _service_spec(str(name), service["build"])
        if problem:
            warnings.append(f"{where}: service {name}: {problem}")
        if spec is not None:
            specs.append(spec)
    return specs, warnings


def _service_spec(name: str, build: Any) -> tuple[BuildSpec | None, str | None]:
    if isinstance(build, str):
        build = {"context": build}
    if build is None:
        build = {}
    if not isinstance(build, dict):
        return None, "`build` should be a path or a mapping"
    if "dockerfile_inline" in build:
        return None, "skipped: `dockerfile_inline` has no Dockerfile to analyse"
    context = _text(build.get("context", "."))
    if is_remote_context(context):
        return None, f"skipped: context {context} is not a local directory"
    args, problem = _args(build.get("args"))
    target = build.get("target")
    platforms = build.get("platforms")
    spec = BuildSpec(
        name=name,
        context=context or ".",
        dockerfile=_text(build.get("dockerfile") or "Dockerfile"),
        target=_text(target) if target is not None else None,
        args=args,
        platforms=tuple(_text(p) for p in platforms) if isinstance(platforms, list) else (),
    )
    return spec, problem


def _text(value: object) -> str:
    """A string value with compose's `${VAR:-default}` defaults filled in."""
    return expand(scalar(value), {})


def _args(raw: Any) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """Build args in list (`- K=V`) or mapping (`K: V`) form. Args without a value (taken from
    the environment at build time) are left out."""
    if raw is None:
        return (), None
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, dict):
        pairs.extend((str(k), _text(v)) for k, v in raw.items() if v is not None)
    elif isinstance(raw, list):
        for item in raw:
            key, sep, value = scalar(item).partition("=")
            if sep:
                pairs.append((key.strip(), _text(value)))
    else:
        return (), "`args` should be a list or a mapping (args ignored)"
    return tuple(pairs), None
