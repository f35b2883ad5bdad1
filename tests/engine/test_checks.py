"""mab.engine.checks: reading what docker says, and judging a builder against a build."""

from __future__ import annotations

import textwrap

import pytest

from mab.engine.checks import (
    BuilderInfo,
    check_image_store,
    check_platforms,
    emulator_fix,
    exports_need_image_store,
    normalize_builder_platform,
    parse_buildx_version,
    parse_inspect_text,
    uses_containerd_store,
)


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("github.com/docker/buildx v0.13.1 788433953af10f2a698f5c07611dddce2e08c7a0", (0, 13, 1)),
        ("github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3", (0, 13, 1)),
        ("github.com/docker/buildx v0.11.2-desktop.5 f20ec1393426", (0, 11, 2)),
        ("github.com/docker/buildx v0.20", (0, 20, 0)),
        ("no version here", None),
    ],
)
def test_parse_buildx_version(text: str, version: tuple[int, int, int] | None) -> None:
    assert parse_buildx_version(text) == version


def test_parse_inspect_text() -> None:
    text = textwrap.dedent(
        """\
        Name:          mybuilder
        Driver:        docker-container
        Last Activity: 2024-05-01 10:00:00 +0000 UTC

        Nodes:
        Name:                  mybuilder0
        Endpoint:              unix:///var/run/docker.sock
        Status:                running
        BuildKit version:      v0.13.2
        Platforms:             linux/amd64*, linux/amd64/v2, linux/arm64/v8, linux/386
        """
    )
    info = parse_inspect_text(text)
    assert info == BuilderInfo(
        "mybuilder",
        "docker-container",
        ("linux/amd64", "linux/amd64/v2", "linux/arm64", "linux/386"),
    )


def test_normalize_builder_platform() -> None:
    assert normalize_builder_platform(" linux/arm64/v8* ") == "linux/arm64"
    assert normalize_builder_platform("linux/arm/v7") == "linux/arm/v7"


def test_containerd_store_from_driver_status() -> None:
    assert uses_containerd_store([["driver-type", "io.containerd.snapshotter.v1"]])
    assert not uses_containerd_store([["Backing Filesystem", "extfs"]])
    assert not uses_containerd_store(None)


def test_inline_cache_needs_no_image_store() -> None:
    assert not exports_need_image_store([])
    assert not exports_need_image_store(["type=inline"])
    assert exports_need_image_store(["type=registry,ref=r/app:cache,mode=max"])
    assert exports_need_image_store(["type=local,dest=/tmp/c"])


CLASSIC = BuilderInfo("default", "docker", ("linux/amd64", "linux/386"))


def test_classic_store_refuses_multi_platform_and_cache_export() -> None:
    multi = check_image_store(CLASSIC, False, True, [])
    assert multi.status == "fail"
    assert "several platforms" in multi.summary
    assert multi.fix and "containerd-snapshotter" in multi.fix
    assert "--driver docker-container" in multi.fix
    export = check_image_store(CLASSIC, False, False, ["type=registry,ref=r/a:c"])
    assert export.status == "fail"
    assert "export a build cache" in export.summary
    assert check_image_store(CLASSIC, False, False, ["type=inline"]).ok
    assert check_image_store(CLASSIC, True, True, ["type=registry,ref=r/a:c"]).ok
    container = BuilderInfo("b", "docker-container", ())
    assert check_image_store(container, False, True, ["type=registry,ref=r/a:c"]).ok


def test_missing_platform_names_the_emulator_fix() -> None:
    result = check_platforms(CLASSIC, ["linux/amd64", "linux/arm64"])
    assert result.status == "fail"
    assert "linux/arm64" in result.summary
    assert result.fix is not None
    assert "tonistiigi/binfmt --install arm64" in result.fix
    assert "apt-get install qemu-user-static binfmt-support" in result.fix
    assert check_platforms(CLASSIC, ["linux/amd64"]).ok
    assert "arm,s390x" in emulator_fix(["linux/s390x", "linux/arm/v7"])
