"""What docker says about the engine: the environment checks `mab build` and `mab doctor` run
(is docker on PATH, buildx new enough, the daemon up, the builder able to build the requested
platforms into the requested output?) through python-on-whales, and the daemon's own facts.
`preflight` raises `EnvironmentNotReady` with the fix named for the first failure."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mab.engine.checks import (
    INSTALL_BUILDX,
    INSTALL_DOCKER,
    MIN_BUILDX,
    BuilderInfo,
    CheckResult,
    Preflight,
    check_image_store,
    check_platforms,
    daemon_fix,
    first_line,
    normalize_builder_platform,
    parse_buildx_version,
    parse_inspect_text,
    platform_text,
    skipped,
    uses_containerd_store,
)


def _check_buildx(docker: Any) -> tuple[CheckResult, tuple[int, int, int] | None]:
    from python_on_whales.exceptions import DockerException

    try:
        text = docker.buildx.version()
    except DockerException as exc:
        detail = first_line(exc.stderr) or "`docker buildx version` failed"
        summary = f"buildx is not installed ({detail})"
        return CheckResult("buildx", "fail", summary, INSTALL_BUILDX), None
    version = parse_buildx_version(str(text))
    if version is None:
        summary = f"cannot read the buildx version from {first_line(str(text))!r}"
        return CheckResult("buildx", "fail", summary, INSTALL_BUILDX), None
    shown = ".".join(map(str, version))
    if version[:2] < MIN_BUILDX:
        summary = f"buildx {shown} is too old: mab needs 0.12 or newer (for --progress=rawjson)"
        return CheckResult("buildx", "fail", summary, INSTALL_BUILDX), version
    return CheckResult("buildx", "ok", f"buildx {shown}"), version


def _check_daemon(docker: Any) -> tuple[CheckResult, bool | None]:
    from python_on_whales.exceptions import DockerException

    try:
        info = docker.system.info()
    except DockerException as exc:
        stderr = exc.stderr or ""
        detail = first_line(stderr) or "`docker info` failed"
        summary = f"the Docker daemon is not reachable: {detail}"
        return CheckResult("daemon", "fail", summary, daemon_fix(stderr)), None
    containerd = uses_containerd_store(info.driver_status)
    store = "containerd image store" if containerd else f"classic image store ({info.driver})"
    return CheckResult("daemon", "ok", f"Docker {info.server_version}, {store}"), containerd


def _inspect_builder(docker: Any, name: str | None) -> BuilderInfo:
    """python-on-whales for the lookup; the text of `buildx inspect` when the JSON of
    `buildx ls` (which the library reads, and which buildx < 0.13 lacks) does not fit."""
    from python_on_whales.exceptions import DockerException

    try:
        builder = docker.buildx.inspect(name, bootstrap=True)
        platforms = [
            normalize_builder_platform(platform_text(p))
            for node in builder.nodes or ()
            for p in node.platforms or ()
        ]
        return BuilderInfo(str(builder.name), str(builder.driver), tuple(dict.fromkeys(platforms)))
    except DockerException as exc:
        if "ls" not in exc.docker_command:  # `buildx inspect` itself failed: no such builder
            raise
    except (ValueError, TypeError, AttributeError):
        pass
    cmd = [str(x) for x in docker.client_config.docker_cmd]
    argv = [*cmd, "buildx", "inspect", *([name] if name else [])]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return parse_inspect_text(done.stdout)


def _check_builder(docker: Any, name: str | None) -> tuple[CheckResult, BuilderInfo | None]:
    from python_on_whales.exceptions import DockerException

    shown = f"builder {name!r}" if name else "the current builder"
    try:
        info = _inspect_builder(docker, name)
    except DockerException as exc:
        detail = first_line(exc.stderr) or "`docker buildx inspect` failed"
        fix = (
            "list builders with `docker buildx ls`; create one with "
            f"`docker buildx create --name {name or 'mab'} --driver docker-container --use`"
        )
        return CheckResult("builder", "fail", f"{shown} is not usable: {detail}", fix), None
    except (ValueError, IndexError) as exc:
        return CheckResult("builder", "fail", f"cannot inspect {shown}: {exc}", None), None
    if not info.name or not info.driver:
        return CheckResult("builder", "fail", f"cannot read what {shown} is", None), None
    listed = ", ".join(info.platforms) or "none listed"
    summary = f"builder {info.name!r} (driver {info.driver}): {listed}"
    return CheckResult("builder", "ok", summary), info


def run_checks(
    platforms: Sequence[str],
    wants_multi_platform_output: bool = False,
    cache_exports: Sequence[str] = (),
    builder: str | None = None,
) -> Preflight:
    """Run every check (never raises); later checks are skipped when an earlier one they need
    failed. One `docker buildx version`, one `docker info`, one builder inspection."""
    path = shutil.which("docker")
    if path is None:
        missing = CheckResult("docker", "fail", "`docker` is not on PATH", INSTALL_DOCKER)
        rest = ("buildx", "daemon", "builder", "image-store", "platforms")
        return Preflight((missing, *(skipped(n, "no docker") for n in rest)))
    from python_on_whales import DockerClient

    docker = DockerClient(client_call=[path])
    checks = [CheckResult("docker", "ok", path)]
    buildx, version = _check_buildx(docker)
    daemon, containerd = _check_daemon(docker)
    checks += [buildx, daemon]
    info: BuilderInfo | None = None
    if not buildx.ok or not daemon.ok:
        reason = "buildx missing" if not buildx.ok else "daemon down"
        checks += [skipped(n, reason) for n in ("builder", "image-store", "platforms")]
    else:
        builder_check, info = _check_builder(docker, builder)
        checks.append(builder_check)
        if info is None:
            checks += [skipped(n, "no builder") for n in ("image-store", "platforms")]
        else:
            store = check_image_store(info, containerd, wants_multi_platform_output, cache_exports)
            checks += [store, check_platforms(info, platforms)]
    return Preflight(tuple(checks), path, version, info, containerd)


@dataclass(frozen=True)
class DaemonFacts:
    """What `mab doctor` needs beyond the checks: where the daemon keeps its data (and the
    builder's cache) and the machine it runs on."""

    root_dir: str  # DockerRootDir, e.g. /var/lib/docker
    architecture: str  # as `uname -m` says it on the daemon's machine, e.g. x86_64


def daemon_facts() -> DaemonFacts | None:
    """One `docker info`; None when docker or the daemon cannot answer."""
    path = shutil.which("docker")
    if path is None:
        return None
    from python_on_whales import DockerClient
    from python_on_whales.exceptions import DockerException

    try:
        info = DockerClient(client_call=[path]).system.info()
    except DockerException:
        return None
    return DaemonFacts(str(info.docker_root_dir or ""), str(info.architecture or ""))


def preflight(
    platforms: Sequence[str],
    wants_multi_platform_output: bool,
    cache_exports: Sequence[str],
    builder: str | None,
) -> Preflight:
    """`run_checks`, raising `EnvironmentNotReady` (exit 3) naming the fix on any failure."""
    result = run_checks(platforms, wants_multi_platform_output, cache_exports, builder)
    result.raise_if_failed()
    return result
