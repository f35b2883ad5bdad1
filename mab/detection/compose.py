"""Compose files: which files compose reads together, how it merges them, and the images the
result builds. Pure.

In one directory compose reads the first of `COMPOSE_FILES`, then its override file
(`compose.override.yaml` for `compose.yaml`, `docker-compose.override.yml` for
`docker-compose.yml`, ...). Other `compose.<name>.yaml` files are meant for `-f base -f other`:
each is merged over the main file on its own. Files are merged the way compose merges them:
mappings key by key (services, `build`, build `args`), anything else replaced by the later file.
Values are interpolated (`mab.detection.interpolate`) from the `.env` file beside the main file.

`BuildSpec` is also what `mab.detection.bake` produces: an image that a compose service or a
bake target names, with its context relative to the file that named it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mab.detection.interpolate import Unresolved, interpolate

# In compose's order of preference.
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)
# `compose.<name>.yaml` / `docker-compose.<name>.yml`: the main file, an override or an extra.
COMPOSE_NAME = re.compile(r"(?:docker-)?compose(?:\.([A-Za-z0-9_.-]+))?\.ya?ml")
# Extra files for running tests or local development: they add no image that ships.
NOT_SHIPPED_EXTRAS = frozenset(
    [
        "test",
        "tests",
        "testing",
        "e2e",
        "ci",
        "dev",
        "devel",
        "development",
        "debug",
        "local",
        "example",
        "examples",
        "integration",
        "playwright",
        "cypress",
        "selenium",
        "devcontainer",
        "demo",
    ]
)


@dataclass(frozen=True)
class BuildSpec:
    """An image named by a compose service or a bake target."""

    name: str
    context: str  # as written: relative to the directory of the file that names it
    dockerfile: str = "Dockerfile"  # relative to the context
    target: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    platforms: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()  # compose: built only with `--profile` one of these


def scalar(value: object) -> str:
    """A YAML/JSON scalar as the string a build would see (`true`, not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s]*@")
_QUERY = re.compile(r"\?[^#\s]*")


def shown_context(context: str) -> str:
    """A remote context as it may be shown: credentials (`user:token@`) and the query
    (`?access_token=`) left out."""
    return _QUERY.sub("?***", _USERINFO.sub(r"\1***@", context)) if "://" in context else context


def is_remote_context(context: str) -> bool:
    """A context that is a URL or a git/other-target reference rather than a directory."""
    return "://" in context or context.startswith(("git@", "target:", "docker-image:"))


@dataclass(frozen=True)
class ComposeSet:
    """Files compose reads together, in order (the main file first, if there is one)."""

    files: tuple[str, ...]

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.files[0])


def is_compose_name(name: str) -> bool:
    return COMPOSE_NAME.fullmatch(name) is not None


def compose_sets(paths: list[str]) -> tuple[list[ComposeSet], list[tuple[str, str]]]:
    """Group repo-relative compose file paths into the sets compose reads together, and say
    which files were left out: (path, reason)."""
    by_dir: dict[str, list[str]] = {}
    for path in paths:
        by_dir.setdefault(posixpath.dirname(path), []).append(posixpath.basename(path))
    sets: list[ComposeSet] = []
    left_out: list[tuple[str, str]] = []
    for directory, names in sorted(by_dir.items()):
        for files, reason in _sets_in(names):
            joined = tuple(posixpath.join(directory, name) for name in files)
            if reason is None:
                sets.append(ComposeSet(joined))
            else:
                left_out.append((joined[-1], reason))
    return sets, left_out


def _sets_in(names: list[str]) -> list[tuple[list[str], str | None]]:
    """The sets of one directory's compose files, and the files left out with a reason."""
    mains = [n for n in COMPOSE_FILES if n in names]
    main = mains[0] if mains else None
    out: list[tuple[list[str], str | None]] = [
        ([n], f"not read: compose reads {main} and not this one") for n in mains[1:]
    ]
    overrides = sorted(
        (n for n in OVERRIDE_FILES if n in names),
        key=lambda n: (main is None or n.split(".")[0] != main.split(".")[0], n),
    )
    base = [main] if main else []
    if base or overrides:
        out.append(([*base, *overrides[:1]], None))
    for name in sorted(names):
        label = COMPOSE_NAME.fullmatch(name)
        extra = label.group(1) if label else None
        if name in COMPOSE_FILES or name in OVERRIDE_FILES or extra is None:
            continue
        if extra.lower() in NOT_SHIPPED_EXTRAS:
            out.append(([name], f"not read: a compose file for {extra}, not for shipping"))
        else:
            out.append(([*base, name], None))
    return out


def merge_compose(base: Any, override: Any) -> Any:
    """`override` merged over `base` as compose merges files."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override if override is not None else base
    merged = dict(base)
    services = dict(_mapping(base.get("services")))
    for name, service in _mapping(override.get("services")).items():
        services[name] = _merge_service(services.get(name), service)
    merged.update({k: v for k, v in override.items() if k != "services"})
    merged["services"] = services
    return merged


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _merge_service(base: Any, override: Any) -> Any:
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override if override is not None else base
    merged = dict(base)
    for key, value in override.items():
        if key == "build" and key in base:
            merged[key] = _merge_build(base[key], value)
        else:
            merged[key] = value
    return merged


def _merge_build(base: Any, override: Any) -> Any:
    base_map = {"context": base} if isinstance(base, str) else _mapping(base)
    over_map = {"context": override} if isinstance(override, str) else _mapping(override)
    merged = {**base_map, **over_map}
    if "args" in base_map and "args" in over_map:
        merged["args"] = {**_args_mapping(base_map["args"]), **_args_mapping(over_map["args"])}
    return merged


def _args_mapping(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return dict(raw)
    out: dict[str, Any] = {}
    for item in raw if isinstance(raw, list) else []:
        key, sep, value = scalar(item).partition("=")
        out[key.strip()] = value if sep else None
    return out


def compose_specs(
    data: Any, where: str, env: Mapping[str, str] | None = None
) -> tuple[list[BuildSpec], list[str]]:
    """The images that compose `data` builds, and warnings (each starting with `where`).
    Values are interpolated from `env` (the `.env` file's variables)."""
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
        spec, problems = _service_spec(str(name), service["build"], env or {})
        warnings.extend(f"{where}: service {name}: {p}" for p in problems)
        if spec is not None:
            profiles = service.get("profiles")
            if isinstance(profiles, list) and profiles:
                spec = replace(spec, profiles=tuple(map(str, profiles)))
            specs.append(spec)
    if specs and all(s.profiles for s in specs):  # profiles are how it deploys: all ship
        specs = [s if _extra(s.profiles) else replace(s, profiles=()) for s in specs]
    return specs, warnings


# Profile names of optional extras (when every service has a profile, the others ship).
_EXTRA_PROFILES = frozenset(
    ["dev", "debug", "test", "tests", "e2e", "ci", "local", "deprecated", "legacy", "old",
     "seed", "tools", "tooling", "mock", "mocks", "demo"]
)  # fmt: skip


def _extra(profiles: tuple[str, ...]) -> bool:
    return any(w in _EXTRA_PROFILES for p in profiles for w in re.split(r"[^a-z0-9]+", p.lower()))


def _service_spec(
    name: str, build: Any, env: Mapping[str, str]
) -> tuple[BuildSpec | None, list[str]]:
    if isinstance(build, str):
        build = {"context": build}
    if build is None:
        build = {}
    if not isinstance(build, dict):
        return None, ["`build` should be a path or a mapping"]
    if "dockerfile_inline" in build:
        return None, ["skipped: `dockerfile_inline` has no Dockerfile to analyse"]
    try:
        context = _text(build.get("context", "."), env)
        dockerfile = _text(build.get("dockerfile") or "Dockerfile", env)
        target = build.get("target")
        target = _text(target, env) if target is not None else None
    except Unresolved as exc:
        return None, [
            f"skipped: {exc.message} (define it in the .env file beside the compose file)"
        ]
    if is_remote_context(context):
        return None, [f"skipped: context {shown_context(context)} is not a local directory"]
    args, problems = _args(build.get("args"), env)
    platforms = build.get("platforms")
    spec = BuildSpec(
        name=name,
        context=context or ".",
        dockerfile=dockerfile or "Dockerfile",
        target=target,
        args=args,
        platforms=tuple(_lenient(p, env) for p in platforms) if isinstance(platforms, list) else (),
    )
    return spec, problems


def _text(value: object, env: Mapping[str, str]) -> str:
    """A value with compose's variables filled in; raises `Unresolved`."""
    return interpolate(scalar(value), env)


def _lenient(value: object, env: Mapping[str, str]) -> str:
    try:
        return _text(value, env)
    except Unresolved:
        return scalar(value)


def _args(raw: Any, env: Mapping[str, str]) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """Build args in list (`- K=V`) or mapping (`K: V`) form. Args without a value (taken from
    the environment at build time) are left out, and so are args whose value needs a variable
    nobody set (the Dockerfile's own default applies then)."""
    if raw is None:
        return (), []
    if not isinstance(raw, dict | list):
        return (), ["`args` should be a list or a mapping (args ignored)"]
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    for key, value in _args_mapping(raw).items():
        if value is None:
            continue
        try:
            pairs.append((str(key), _text(value, env)))
        except Unresolved as exc:
            problems.append(
                f"build arg {key} left out: {exc.message} (define it in the .env file beside "
                "the compose file; the Dockerfile's default applies meanwhile)"
            )
    return tuple(pairs), problems
