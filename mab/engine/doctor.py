"""`mab doctor`'s verdicts: pure functions from gathered facts to checks, each with a status,
a one-line summary and a one-line fix.

The facts come from `mab.engine.docker` (the engine checks and `docker info`), `mab.registry.client`
(reachability, push access, which manifest kinds the registry accepts) and the local machine
(binfmt_misc registrations, free disk); `mab.commands.doctor` gathers them. Nothing here runs a
process or opens a socket, so every fault can be tested from data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mab.config.settings import parse_platforms
from mab.config.types import CacheBackend
from mab.engine.docker import (
    BuilderInfo,
    CheckResult,
    Preflight,
    check_image_store,
    check_platforms,
    emulator_fix,
    normalize_builder_platform,
)

GIB = 1024**3
MIN_FREE_DISK = 5 * GIB

# `uname -m` of a machine -> the platform architecture it runs natively.
MACHINE_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "s390x": "s390x",
    "ppc64le": "ppc64le",
    "riscv64": "riscv64",
    "i686": "386",
    "loongarch64": "loong64",
}
# A machine that runs these architectures natively as well as its own.
ALSO_NATIVE = {"amd64": ("386",), "arm64": ("arm",)}
# binfmt_misc entry name (as qemu-user-static and tonistiigi/binfmt register them) -> arch.
BINFMT_ARCH = {
    "qemu-aarch64": "arm64",
    "qemu-x86_64": "amd64",
    "qemu-arm": "arm",
    "qemu-i386": "386",
    "qemu-s390x": "s390x",
    "qemu-ppc64le": "ppc64le",
    "qemu-riscv64": "riscv64",
    "qemu-mips64el": "mips64le",
    "qemu-loongarch64": "loong64",
}


@dataclass(frozen=True)
class Failure:
    """A fact that could not be gathered: the error's message and hint."""

    message: str
    hint: str | None = None


@dataclass(frozen=True)
class BinfmtEntry:
    """One `/proc/sys/fs/binfmt_misc/<name>` registration."""

    name: str
    enabled: bool
    flags: str  # "F" (fix binary: usable inside containers), "P", "C", "O"
    interpreter: str

    @property
    def arch(self) -> str | None:
        return BINFMT_ARCH.get(self.name)


@dataclass(frozen=True)
class Disk:
    path: str
    free: int
    total: int


@dataclass(frozen=True)
class RegistryFacts:
    """What the registry behind the image and its cache refs said."""

    image: str  # registry/repository
    registry: str
    auth_scheme: str | Failure | None  # None: anonymous; Failure: unreachable
    identity: str | None = None  # "user 'mab' from ~/.docker/config.json (auths)"
    push: bool | Failure | None = None  # None: not tried
    image_manifest: bool | Failure | None = None  # accepts an OCI manifest with a cache config
    index: bool | Failure | None = None  # accepts an OCI index of layers


@dataclass(frozen=True)
class Facts:
    preflight: Preflight
    platforms: tuple[str, ...]
    cache_backend: CacheBackend
    daemon_arch: str | None = None  # `uname -m` of the daemon's machine
    binfmt: tuple[BinfmtEntry, ...] | None = None  # None: binfmt_misc unreadable
    registry: RegistryFacts | None = None
    disk: Disk | str | None = None  # str: why it is unknown


@dataclass(frozen=True)
class Report:
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


# --------------------------------------------------------------------------- parsing


def parse_binfmt(name: str, text: str) -> BinfmtEntry:
    """The content of `/proc/sys/fs/binfmt_misc/qemu-aarch64`."""
    enabled, flags, interpreter = False, "", ""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if line.strip() == "enabled":
            enabled = True
        elif key == "interpreter":
            interpreter = value.strip()
        elif key == "flags:":
            flags = value.strip()
    return BinfmtEntry(name, enabled, flags, interpreter)


# --------------------------------------------------------------------------- the checks


def _arch(platform: str) -> str:
    parts = platform.split("/")
    return parts[1] if len(parts) > 1 else platform


def emulated_platforms(requested: Sequence[str], builder: Sequence[str]) -> tuple[str, ...]:
    """The requested platforms the builder runs through an emulator: those whose architecture
    is not its first (native) platform's, nor one that machine also runs natively."""
    if not builder:
        return ()
    native = _arch(builder[0])
    natives = (native, *ALSO_NATIVE.get(native, ()))
    return tuple(p for p in requested if _arch(p) not in natives)


def native_arches(daemon_arch: str | None) -> tuple[str, ...]:
    arch = MACHINE_ARCH.get((daemon_arch or "").lower())
    return (arch, *ALSO_NATIVE.get(arch, ())) if arch else ()


def capabilities(builder: BuilderInfo, containerd: bool | None) -> str:
    """What the builder's driver can do, in words."""
    if builder.driver == "docker" and not containerd:
        return "single-platform output only; cache export: inline only"
    return "multi-platform output; cache export: registry, local, gha, inline"


def check_driver(facts: Facts) -> CheckResult:
    """The builder's driver and what it can do, judged by `mab.engine.docker.check_image_store`."""
    pre = facts.preflight
    if pre.builder is None:
        return CheckResult("driver", "skip", "not checked: no usable builder")
    exports = [f"type={facts.cache_backend}"]
    multi = len(facts.platforms) > 1
    verdict = check_image_store(pre.builder, pre.containerd_store, multi, exports)
    store = ""
    if pre.builder.driver == "docker":
        store = " with the containerd image store" if pre.containerd_store else " (classic store)"
    can = capabilities(pre.builder, pre.containerd_store)
    summary = f"driver {pre.builder.driver}{store}: {can}"
    if not verdict.ok:
        summary = verdict.summary
    return CheckResult("driver", verdict.status, summary, verdict.fix)


def check_cache_export(facts: Facts) -> CheckResult:
    """What the builder is known to do to cache exports. A failed export is ignored by mab's
    pipelines (`ignore-error=true`) and reported by `mab build`; this says what makes one fail.
    Seen on this project's engine: a `docker builder prune` while another build exports its
    cache fails that build with `failed to solve: not found` or cuts the export short."""
    pre = facts.preflight
    if pre.builder is None:
        return CheckResult("cache-export", "skip", "not checked: no usable builder")
    if facts.cache_backend != "registry":
        return CheckResult("cache-export", "ok", f"type={facts.cache_backend}: not checked here")
    if pre.builder.driver == "docker" and not pre.containerd_store:
        return CheckResult(
            "cache-export",
            "fail",
            "the docker driver with the classic image store cannot export a registry cache",
            "enable the containerd image store, or use a docker-container builder",
        )
    notes = []
    if pre.builder.driver == "docker":
        notes.append(
            "the docker driver shares the daemon's build cache: a `docker builder prune` or "
            "`docker system prune` during a build fails its cache export or cuts it short"
        )
    if len(facts.platforms) > 1:
        notes.append(
            "one cache ref for a multi-platform build keeps one platform's records "
            "(docker/buildx#1044): export one ref per platform, as mab init-ci writes"
        )
    if not notes:
        return CheckResult("cache-export", "ok", f"driver {pre.builder.driver}: no known issue")
    return CheckResult(
        "cache-export",
        "warn",
        "; ".join(notes),
        "prune only between builds; mab build reads every export back and says when one "
        "failed, came out short or holds another platform's records",
    )


def check_attestations(facts: Facts) -> CheckResult:
    """Can the builder carry provenance and SBOM attestations (`--attest`, which mab's
    pipelines use and `mab verify` checks)? The docker driver needs the containerd image
    store for them: buildx refuses `--attest` on the classic store."""
    pre = facts.preflight
    if pre.builder is None:
        return CheckResult("attestations", "skip", "not checked: no usable builder")
    if pre.builder.driver == "docker" and not pre.containerd_store:
        return CheckResult(
            "attestations",
            "warn",
            "the docker driver with the classic image store cannot carry attestations: "
            "a build with --attest (provenance, SBOM) fails, and its images carry none",
            "enable the containerd image store (features.containerd-snapshotter in "
            "daemon.json), or use a docker-container builder",
        )
    where = "the containerd image store" if pre.builder.driver == "docker" else "its own store"
    return CheckResult(
        "attestations", "ok", f"driver {pre.builder.driver} keeps provenance and SBOM ({where})"
    )


def _platform_line(platform: str, builder: BuilderInfo, facts: Facts) -> tuple[str, bool, str]:
    """(how it runs, ok, why-not) for one requested platform."""
    arch = _arch(platform)
    listed = normalize_builder_platform(platform) in set(builder.platforms)
    entries = [e for e in facts.binfmt or () if e.arch == arch]
    if arch in native_arches(facts.daemon_arch):
        how = "native"
    elif any(e.enabled for e in entries):
        entry = next(e for e in entries if e.enabled)
        how = f"emulated ({entry.name}{', flags ' + entry.flags if entry.flags else ''})"
    elif listed:
        how = "listed by the builder (a native or remote node)"
    else:
        how = "no emulator"
    if listed or not builder.platforms:
        return f"{platform}: {how}", True, ""
    enabled = [e for e in entries if e.enabled]
    if enabled and "F" not in enabled[0].flags:
        why = (
            f"{enabled[0].name} is registered without the F (fix binary) flag, so containers "
            f"cannot use it: re-register it, e.g. `docker run --privileged --rm "
            f"tonistiigi/binfmt --install {arch}`"
        )
    elif enabled:
        why = (
            f"{enabled[0].name} is registered but the builder does not list {platform}: restart "
            "dockerd (docker driver) or recreate the builder (`docker buildx rm` + `create`)"
        )
    elif entries:
        name = entries[0].name
        why = f"{name} is registered but disabled: `update-binfmts --enable {name}`"
    else:
        why = ""
    return f"{platform}: {how}", False, why


def check_emulators(facts: Facts) -> CheckResult:
    """An emulator or a native node for every requested platform (builder list + binfmt)."""
    builder = facts.preflight.builder
    if builder is None:
        return CheckResult("platforms", "skip", "not checked: no usable builder")
    lines = [_platform_line(p, builder, facts) for p in facts.platforms]
    missing = [p for p, (_, ok, _) in zip(facts.platforms, lines, strict=True) if not ok]
    if not missing:
        return CheckResult("platforms", "ok", "; ".join(text for text, _, _ in lines))
    verdict = check_platforms(builder, facts.platforms)
    reasons = [why for _, ok, why in lines if not ok and why]
    fix = reasons[0] if reasons else (verdict.fix or emulator_fix(missing))
    return CheckResult("platforms", "fail", verdict.summary, fix)


def _registry_checks(facts: RegistryFacts) -> list[CheckResult]:
    reach = facts.auth_scheme
    if isinstance(reach, Failure):
        down = CheckResult("registry", "fail", reach.message, reach.hint)
        rest = ("registry-push", "cache-format")
        return [down, *(CheckResult(n, "skip", "not checked: registry unreachable") for n in rest)]
    auth = f"{reach} auth" if reach else "no auth"
    out = [CheckResult("registry", "ok", f"{facts.registry} answers the registry API v2 ({auth})")]
    who = facts.identity or "anonymously"
    if isinstance(facts.push, Failure):
        out.append(CheckResult("registry-push", "fail", facts.push.message, facts.push.hint))
    elif facts.push is False:
        out.append(
            CheckResult(
                "registry-push",
                "fail",
                f"cannot push to {facts.image} ({who})",
                f"log in with an account that may push: `docker login {facts.registry}`",
            )
        )
    elif facts.push is None:
        out.append(CheckResult("registry-push", "skip", "not checked (--read-only)"))
    else:
        out.append(CheckResult("registry-push", "ok", f"can push to {facts.image} ({who})"))
    out.append(_format_check(facts))
    return out


def _format_check(facts: RegistryFacts) -> CheckResult:
    manifest, index = facts.image_manifest, facts.index
    for probe in (manifest, index):
        if isinstance(probe, Failure):
            return CheckResult("cache-format", "fail", probe.message, probe.hint)
    if manifest is None:
        return CheckResult("cache-format", "skip", "not checked: needs push access")
    if manifest is False:
        return CheckResult(
            "cache-format",
            "fail",
            f"{facts.registry} rejects an OCI image manifest with a BuildKit cache config, "
            "so it cannot hold a registry cache",
            "use another registry for the cache refs, or `cache: gha` / `cache: local` in .mab.yml",
        )
    if index:
        summary = "accepts OCI image indexes of cache layers and image-manifest=true caches"
    else:
        summary = (
            "accepts image-manifest=true caches (mab's default) but rejects an OCI index of "
            "layers: always export with image-manifest=true"
        )
    return CheckResult("cache-format", "ok", summary + " (probed with an untagged test manifest)")


def check_disk(disk: Disk | str | None) -> CheckResult:
    if disk is None or isinstance(disk, str):
        return CheckResult("disk", "skip", f"not checked: {disk or 'daemon not reachable'}")
    free = f"{disk.free / GIB:.1f} GiB free of {disk.total / GIB:.1f} GiB on {disk.path}"
    if disk.free < MIN_FREE_DISK:
        return CheckResult(
            "disk",
            "fail",
            f"only {free}: builds and their cache may fail",
            "free space: `docker builder prune` (build cache), `docker system df` shows the rest",
        )
    return CheckResult("disk", "ok", free)


def evaluate(facts: Facts) -> Report:
    """Every check, in a reader's order: client, buildx, daemon, builder, driver, platforms,
    registry, push, cache format, disk."""
    pre = {c.name: c for c in facts.preflight.checks}
    checks: list[CheckResult] = [
        pre.get(name) or CheckResult(name, "skip", "not checked")
        for name in ("docker", "buildx", "daemon", "builder")
    ]
    engine_up = all(c.ok and c.status != "skip" for c in checks)
    if engine_up:
        checks += [check_driver(facts), check_cache_export(facts), check_attestations(facts)]
        checks.append(check_emulators(facts))
    else:
        reason = "not checked: " + next(c.name for c in checks if not c.ok or c.status == "skip")
        reason += " not ready"
        names = ("driver", "cache-export", "attestations", "platforms")
        checks += [CheckResult(n, "skip", reason) for n in names]
    if facts.registry is not None:
        checks += _registry_checks(facts.registry)
    else:
        reason = "not checked: no image given; pass --image or set image: in .mab.yml"
        checks.append(CheckResult("registry", "skip", reason))
    checks.append(check_disk(facts.disk))
    return Report(tuple(checks))


def render(report: Report) -> str:
    """The table a person reads: one line per check, its fix under a failure."""
    marks = {"ok": "ok", "warn": "warn", "fail": "FAIL", "skip": "skip"}
    width = max(len(c.name) for c in report.checks)
    lines = []
    for c in report.checks:
        lines.append(f"{marks[c.status]:<4}  {c.name:<{width}}  {c.summary}")
        if c.status in ("fail", "warn") and c.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    failed = sum(1 for c in report.checks if c.status == "fail")
    lines.append("")
    lines.append("all checks passed" if not failed else f"{failed} check(s) failed")
    return "\n".join(lines)


def as_data(report: Report) -> dict[str, object]:
    return {
        "ok": report.ok,
        "checks": [
            {"name": c.name, "status": c.status, "summary": c.summary, "fix": c.fix}
            for c in report.checks
        ],
    }


def requested_platforms(values: Sequence[str], default: Sequence[str]) -> tuple[str, ...]:
    """`--platform` values (repeated and/or comma-separated), else the configured ones."""
    items = [p for v in values for p in v.split(",") if p.strip()]
    return parse_platforms(items) if items else tuple(default)
