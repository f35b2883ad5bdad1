"""The engine checks as data, and their pure half: reading what docker says and judging a
builder. `mab.engine.docker` runs the commands (and re-exports all of this); `mab doctor` lists the
results. Every failure names its fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mab.errors import EnvironmentNotReady

MIN_BUILDX = (0, 12)
CONTAINERD_SNAPSHOTTER = "io.containerd.snapshotter.v1"

INSTALL_DOCKER = (
    "install the Docker CLI (Debian: `apt-get install docker.io`; "
    "elsewhere see https://docs.docker.com/engine/install/) and make sure `docker` is on PATH"
)
INSTALL_BUILDX = (
    "install buildx 0.12 or newer (Debian trixie: `apt-get install docker-buildx`; "
    "elsewhere see https://github.com/docker/buildx#installing)"
)
ENABLE_CONTAINERD = (
    'enable the containerd image store: put {"features":{"containerd-snapshotter":true}} in '
    "/etc/docker/daemon.json and restart dockerd; or use a builder that can: "
    "`docker buildx create --use --driver docker-container`"
)
# QEMU/binfmt names of the architectures an emulator can be registered for.
_BINFMT_ARCH = {
    "arm64": "arm64",
    "arm": "arm",
    "amd64": "amd64",
    "386": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64le": "mips64le",
    "loong64": "loong64",
}

CheckStatus = Literal["ok", "warn", "fail", "skip"]  # warn: works, with a caveat and advice


@dataclass(frozen=True)
class CheckResult:
    """One environment check: what was checked, what was found, and how to fix a failure."""

    name: str  # "docker", "buildx", "daemon", "builder", "image-store", "platforms"
    status: CheckStatus
    summary: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "fail"


@dataclass(frozen=True)
class BuilderInfo:
    name: str
    driver: str
    platforms: tuple[str, ...]


@dataclass(frozen=True)
class Preflight:
    """Every check that ran, in order, and what they learned about the engine."""

    checks: tuple[CheckResult, ...]
    docker_path: str | None = None
    buildx_version: tuple[int, int, int] | None = None
    builder: BuilderInfo | None = None
    containerd_store: bool | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def raise_if_failed(self) -> None:
        failures = self.failures
        if not failures:
            return
        first = failures[0]
        message = first.summary
        if len(failures) > 1:
            message += "".join(f"\n  also: {f.summary}" for f in failures[1:])
        raise EnvironmentNotReady(message, hint=first.fix)


def skipped(name: str, reason: str) -> CheckResult:
    return CheckResult(name, "skip", f"not checked: {reason}")


def parse_buildx_version(text: str) -> tuple[int, int, int] | None:
    """`github.com/docker/buildx v0.13.1 abc123` or `... 0.13.1+ds1 ...` -> (0, 13, 1)."""
    for word in text.split():
        m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+~].*)?", word)
        if m:
            return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    return None


def normalize_builder_platform(value: str) -> str:
    """`linux/arm64/v8*` (as buildx lists it) -> `linux/arm64`."""
    p = value.strip().rstrip("*").strip().lower()
    return "linux/arm64" if p == "linux/arm64/v8" else p


def platform_text(p: Any) -> str:
    if isinstance(p, str):
        return p
    if isinstance(p, dict):  # {"os": ..., "architecture": ..., "variant": ...}
        parts = [p.get("os", ""), p.get("architecture", "")]
        if p.get("variant"):
            parts.append(p["variant"])
        return "/".join(str(x) for x in parts)
    return str(p)


def parse_inspect_text(text: str) -> BuilderInfo:
    """The text of `docker buildx inspect` (which has no JSON output) -> BuilderInfo."""
    name, driver = "", ""
    platforms: list[str] = []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "Name" and not name:
            name = value
        elif key == "Driver" and not driver:
            driver = value
        elif key == "Platforms":
            platforms += [normalize_builder_platform(p) for p in value.split(",") if p.strip()]
    return BuilderInfo(name, driver, tuple(dict.fromkeys(platforms)))


def uses_containerd_store(driver_status: Sequence[Sequence[str]] | None) -> bool:
    """`docker info` DriverStatus has ["driver-type", "io.containerd.snapshotter.v1"]."""
    return any(
        len(pair) == 2 and pair[0] == "driver-type" and pair[1] == CONTAINERD_SNAPSHOTTER
        for pair in driver_status or ()
    )


def exports_need_image_store(cache_exports: Sequence[str]) -> bool:
    """Every cache export except `inline` needs more than the classic docker image store."""
    for spec in cache_exports:
        fields = dict(f.split("=", 1) for f in spec.split(",") if "=" in f)
        kind = fields.get("type", spec if "=" not in spec else "")
        if kind != "inline":
            return True
    return False


def emulator_fix(platforms: Sequence[str]) -> str:
    arches = sorted({_BINFMT_ARCH.get(p.split("/")[1], p.split("/")[1]) for p in platforms})
    joined = ",".join(arches)
    return (
        f"register a QEMU emulator: `docker run --privileged --rm tonistiigi/binfmt --install "
        f"{joined}` (Debian: `apt-get install qemu-user-static binfmt-support`), then restart "
        "dockerd or the builder so `docker buildx ls` lists the platform"
    )


def first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def daemon_fix(stderr: str) -> str:
    if "permission denied" in stderr.lower():
        return "add your user to the `docker` group (then log in again), or run as root"
    where = os.environ.get("DOCKER_HOST")
    if where:
        return f"start the daemon behind DOCKER_HOST={where}, or unset DOCKER_HOST"
    return (
        "start the daemon: `sudo systemctl start docker` (without systemd: `sudo dockerd &`), "
        "or select a running one with `docker context use`"
    )


def check_image_store(
    builder: BuilderInfo,
    containerd: bool | None,
    wants_multi_platform_output: bool,
    cache_exports: Sequence[str],
) -> CheckResult:
    if builder.driver != "docker":
        return CheckResult("image-store", "ok", f"the {builder.driver} driver keeps its own store")
    if containerd:
        return CheckResult("image-store", "ok", "containerd image store")
    needs = []
    if wants_multi_platform_output:
        needs.append("build several platforms into one output")
    if exports_need_image_store(cache_exports):
        needs.append("export a build cache (" + ", ".join(cache_exports) + ")")
    if not needs:
        return CheckResult("image-store", "ok", "classic image store (single-platform builds)")
    summary = (
        f"builder {builder.name!r} uses the docker driver without the containerd image store, "
        "so it cannot " + " nor ".join(needs)
    )
    return CheckResult("image-store", "fail", summary, ENABLE_CONTAINERD)


def check_platforms(builder: BuilderInfo, platforms: Sequence[str]) -> CheckResult:
    if not builder.platforms:
        return CheckResult("platforms", "ok", "the builder does not list its platforms")
    have = set(builder.platforms)
    missing = [p for p in platforms if normalize_builder_platform(p) not in have]
    if not missing:
        return CheckResult("platforms", "ok", "can build " + ", ".join(platforms))
    summary = (
        f"builder {builder.name!r} cannot build {', '.join(missing)} "
        f"(it lists {', '.join(builder.platforms)}): no emulator is registered"
    )
    return CheckResult("platforms", "fail", summary, emulator_fix(missing))
