"""mab.engine.doctor: verdicts from gathered facts, with faults injected at the data boundary.

These are the faults that cannot be injected safely on the shared engine: a `docker`-driver
builder without the containerd image store (the engine here has it on, and switching it would
restart dockerd under everyone's builds), an emulator registered but not picked up, a full disk,
a registry refusing pushes or cache manifests. The facts are what `mab.engine.docker` and
`mab.registry.client` would have gathered. The real engine is exercised in
tests/commands/test_doctor.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mab.commands.doctor import read_binfmt
from mab.engine.docker import BuilderInfo, CheckResult, Preflight
from mab.engine.doctor import (
    GIB,
    BinfmtEntry,
    Disk,
    Facts,
    Failure,
    RegistryFacts,
    as_data,
    evaluate,
    parse_binfmt,
    render,
)

BUILDER = BuilderInfo("default", "docker", ("linux/amd64", "linux/amd64/v2", "linux/arm64"))
ENGINE_OK = (
    CheckResult("docker", "ok", "/usr/bin/docker"),
    CheckResult("buildx", "ok", "buildx 0.13.1"),
    CheckResult("daemon", "ok", "Docker 26.1.5, containerd image store"),
    CheckResult("builder", "ok", "builder 'default' (driver docker): linux/amd64, linux/arm64"),
)
QEMU_ARM64 = BinfmtEntry("qemu-aarch64", True, "PF", "/usr/libexec/qemu-binfmt/aarch64-binfmt-P")
REGISTRY_OK = RegistryFacts(
    "localhost:5000/app", "localhost:5000", None, None, True, image_manifest=True, index=True
)
HEALTHY = Facts(
    preflight=Preflight(ENGINE_OK, "/usr/bin/docker", (0, 13, 1), BUILDER, True),
    platforms=("linux/amd64", "linux/arm64"),
    cache_backend="registry",
    daemon_arch="x86_64",
    binfmt=(QEMU_ARM64,),
    registry=REGISTRY_OK,
    disk=Disk("/var/lib/docker", 80 * GIB, 250 * GIB),
)


def by_name(facts: Facts) -> dict[str, CheckResult]:
    return {c.name: c for c in evaluate(facts).checks}


def test_healthy_engine_passes_every_check() -> None:
    report = evaluate(HEALTHY)
    assert report.ok and report.exit_code == 0
    assert [c.name for c in report.checks] == [
        "docker", "buildx", "daemon", "builder", "driver", "cache-export", "attestations",
        "platforms", "registry", "registry-push", "cache-format", "disk",
    ]  # fmt: skip
    checks = by_name(HEALTHY)
    assert checks["platforms"].summary == (
        "linux/amd64: native; linux/arm64: emulated (qemu-aarch64, flags PF)"
    )
    assert "multi-platform output; cache export: registry" in checks["driver"].summary
    assert render(report).endswith("all checks passed")


def test_docker_driver_without_containerd_store_cannot_do_multi_platform_or_cache() -> None:
    """Injected: `docker info` without the containerd snapshotter in DriverStatus."""
    facts = replace(HEALTHY, preflight=replace(HEALTHY.preflight, containerd_store=False))
    report = evaluate(facts)
    driver = by_name(facts)["driver"]
    assert report.exit_code == 1
    assert driver.status == "fail"
    assert "without the containerd image store" in driver.summary
    assert "build several platforms into one output" in driver.summary
    assert "export a build cache (type=registry)" in driver.summary
    assert driver.fix is not None and "containerd-snapshotter" in driver.fix
    assert "fix: enable the containerd image store" in render(report)


def test_docker_driver_without_containerd_store_single_platform_inline_cache_is_fine() -> None:
    facts = replace(
        HEALTHY,
        preflight=replace(HEALTHY.preflight, containerd_store=False),
        platforms=("linux/amd64",),
        cache_backend="inline",
    )
    driver = by_name(facts)["driver"]
    assert driver.status == "ok"
    assert "single-platform output only; cache export: inline only" in driver.summary


def test_docker_container_driver_keeps_its_own_store() -> None:
    builder = BuilderInfo("mab", "docker-container", BUILDER.platforms)
    facts = replace(HEALTHY, preflight=replace(HEALTHY.preflight, builder=builder))
    assert by_name(facts)["driver"].summary.startswith("driver docker-container: multi-platform")


def test_platform_without_emulator_names_the_install_fix() -> None:
    facts = replace(HEALTHY, platforms=("linux/amd64", "linux/s390x"))
    platforms = by_name(facts)["platforms"]
    assert platforms.status == "fail"
    assert "cannot build linux/s390x" in platforms.summary
    assert platforms.fix is not None and "tonistiigi/binfmt --install s390x" in platforms.fix


def test_emulator_registered_but_not_listed_says_restart() -> None:
    s390x = BinfmtEntry("qemu-s390x", True, "F", "/usr/bin/qemu-s390x-static")
    facts = replace(HEALTHY, platforms=("linux/s390x",), binfmt=(QEMU_ARM64, s390x))
    platforms = by_name(facts)["platforms"]
    assert platforms.status == "fail"
    assert platforms.fix is not None and platforms.fix.startswith("qemu-s390x is registered")
    assert "restart dockerd" in platforms.fix


def test_emulator_without_fix_binary_flag() -> None:
    s390x = BinfmtEntry("qemu-s390x", True, "", "/usr/bin/qemu-s390x")
    facts = replace(HEALTHY, platforms=("linux/s390x",), binfmt=(s390x,))
    platforms = by_name(facts)["platforms"]
    assert platforms.status == "fail"
    assert platforms.fix is not None
    assert platforms.fix.startswith("qemu-s390x is registered without the F (fix binary) flag")
    assert "tonistiigi/binfmt --install s390x" in platforms.fix


def test_emulator_disabled_says_enable() -> None:
    facts = replace(
        HEALTHY,
        preflight=replace(HEALTHY.preflight, builder=replace(BUILDER, platforms=("linux/amd64",))),
        binfmt=(replace(QEMU_ARM64, enabled=False),),
    )
    platforms = by_name(facts)["platforms"]
    assert platforms.status == "fail"
    assert platforms.fix == (
        "qemu-aarch64 is registered but disabled: `update-binfmts --enable qemu-aarch64`"
    )


def test_platform_listed_by_a_remote_node_without_local_emulator() -> None:
    facts = replace(HEALTHY, binfmt=())
    platforms = by_name(facts)["platforms"]
    assert platforms.status == "ok"
    assert "linux/arm64: listed by the builder (a native or remote node)" in platforms.summary


def test_native_arm64_machine() -> None:
    facts = replace(HEALTHY, daemon_arch="aarch64", binfmt=None)
    assert "linux/arm64: native" in by_name(facts)["platforms"].summary


def test_daemon_down_skips_what_needs_it() -> None:
    down = CheckResult("daemon", "fail", "the Docker daemon is not reachable", "start the daemon")
    checks = (
        ENGINE_OK[0],
        ENGINE_OK[1],
        down,
        CheckResult("builder", "skip", "not checked: daemon down"),
        CheckResult("image-store", "skip", "not checked: daemon down"),
        CheckResult("platforms", "skip", "not checked: daemon down"),
    )
    facts = replace(HEALTHY, preflight=Preflight(checks), disk="daemon not reachable")
    result = by_name(facts)
    assert evaluate(facts).exit_code == 1
    assert result["daemon"].fix == "start the daemon"
    assert result["driver"].status == result["platforms"].status == "skip"
    assert result["disk"].status == "skip"


def test_registry_down() -> None:
    down = Failure("127.0.0.1:5999: cannot connect (Connection refused)", "check the address")
    facts = replace(HEALTHY, registry=RegistryFacts("127.0.0.1:5999/app", "127.0.0.1:5999", down))
    result = by_name(facts)
    assert result["registry"].status == "fail"
    assert result["registry"].fix == "check the address"
    assert result["registry-push"].status == result["cache-format"].status == "skip"


def test_registry_refuses_push() -> None:
    facts = replace(HEALTHY, registry=replace(REGISTRY_OK, push=False, identity="user 'ro'"))
    push = by_name(facts)["registry-push"]
    assert push.status == "fail"
    assert push.summary == "cannot push to localhost:5000/app (user 'ro')"
    assert push.fix is not None and "docker login localhost:5000" in push.fix


def test_registry_needing_image_manifest_is_fine_since_mab_sets_it() -> None:
    facts = replace(HEALTHY, registry=replace(REGISTRY_OK, index=False))
    fmt = by_name(facts)["cache-format"]
    assert fmt.status == "ok"
    assert "rejects an OCI index of layers: always export with image-manifest=true" in fmt.summary


def test_registry_rejecting_cache_manifests_fails() -> None:
    facts = replace(HEALTHY, registry=replace(REGISTRY_OK, image_manifest=False, index=False))
    fmt = by_name(facts)["cache-format"]
    assert fmt.status == "fail"
    assert fmt.fix is not None and "cache: gha" in fmt.fix


def test_read_only_and_no_image() -> None:
    read_only = replace(HEALTHY, registry=replace(REGISTRY_OK, push=None, image_manifest=None))
    assert by_name(read_only)["registry-push"].status == "skip"
    assert evaluate(read_only).ok
    no_image = by_name(replace(HEALTHY, registry=None))
    assert no_image["registry"].status == "skip"
    assert "pass --image" in no_image["registry"].summary


def test_low_disk() -> None:
    facts = replace(HEALTHY, disk=Disk("/var/lib/docker", GIB, 100 * GIB))
    disk = by_name(facts)["disk"]
    assert disk.status == "fail"
    assert disk.summary.startswith("only 1.0 GiB free of 100.0 GiB on /var/lib/docker")
    assert disk.fix is not None and "docker builder prune" in disk.fix


def test_json_shape() -> None:
    data = as_data(evaluate(replace(HEALTHY, disk="the daemon is remote (tcp://x:2376)")))
    assert data["ok"] is True
    checks = data["checks"]
    assert isinstance(checks, list)
    assert checks[-1] == {
        "name": "disk",
        "status": "skip",
        "summary": "not checked: the daemon is remote (tcp://x:2376)",
        "fix": None,
    }


def test_parse_binfmt_and_read_a_binfmt_dir(tmp_path: Path) -> None:
    text = (
        "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n"
        "offset 0\nmagic 7f454c46\n"
    )
    entry = parse_binfmt("qemu-aarch64", text)
    assert entry == QEMU_ARM64
    assert entry.arch == "arm64"
    (tmp_path / "status").write_text("enabled\n")
    (tmp_path / "register").write_text("")
    (tmp_path / "qemu-aarch64").write_text(text)
    (tmp_path / "qemu-s390x").write_text("disabled\ninterpreter /x\nflags: F\n")
    entries = read_binfmt(tmp_path)
    assert entries is not None
    assert [(e.name, e.enabled) for e in entries] == [("qemu-aarch64", True), ("qemu-s390x", False)]
    (tmp_path / "status").write_text("disabled\n")
    entries = read_binfmt(tmp_path)
    assert entries is not None and not any(e.enabled for e in entries)
    assert read_binfmt(tmp_path / "missing") is None


def test_cache_export_caveats_of_the_docker_driver_are_a_warning_with_advice() -> None:
    """The docker driver shares the daemon's cache (a prune during an export breaks it, as
    seen on this project's engine) and one ref per multi-platform build keeps one platform:
    a warning that still passes, with what to do."""
    check = by_name(HEALTHY)["cache-export"]
    assert check.status == "warn" and check.ok
    assert "prune" in check.summary and "docker/buildx#1044" in check.summary
    assert check.fix is not None and "prune only between builds" in check.fix
    assert "fix: prune only between builds" in render(evaluate(HEALTHY))


def test_cache_export_impossible_with_the_classic_store() -> None:
    classic = replace(HEALTHY, preflight=replace(HEALTHY.preflight, containerd_store=False))
    check = by_name(classic)["cache-export"]
    assert check.status == "fail" and "classic image store" in check.summary


def test_cache_export_one_platform_on_a_container_builder_has_no_caveat() -> None:
    container = replace(
        HEALTHY,
        platforms=("linux/amd64",),
        preflight=replace(HEALTHY.preflight, builder=replace(BUILDER, driver="docker-container")),
    )
    assert by_name(container)["cache-export"].status == "ok"


def test_attestations_need_the_containerd_store_on_the_docker_driver() -> None:
    """`--attest` (mab's pipelines, what `mab verify` checks) fails on the classic store."""
    assert by_name(HEALTHY)["attestations"].status == "ok"
    assert "containerd image store" in by_name(HEALTHY)["attestations"].summary
    classic = replace(HEALTHY, preflight=replace(HEALTHY.preflight, containerd_store=False))
    check = by_name(classic)["attestations"]
    assert check.status == "warn" and "cannot carry attestations" in check.summary
    assert check.fix is not None and "containerd-snapshotter" in check.fix
    container = replace(
        HEALTHY,
        preflight=replace(HEALTHY.preflight, builder=replace(BUILDER, driver="docker-container")),
    )
    assert by_name(container)["attestations"].summary.endswith("(its own store)")
