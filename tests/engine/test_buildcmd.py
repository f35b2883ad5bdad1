"""mab.engine.buildcmd: the request, its defaults from `.mab.yml`, and the exact buildx
command line."""

from __future__ import annotations

import pytest

from mab.config.settings import Settings
from mab.engine.buildcmd import (
    BuildRequest,
    buildx_argv,
    image_from_tag,
    parse_build_arg,
    shown_argv,
    with_defaults,
)
from mab.errors import EXIT_USAGE, UserError

EXPORT = "mode=max,oci-mediatypes=true,image-manifest=true,ignore-error=true"


def test_full_command_line() -> None:
    req = BuildRequest(
        context="app",
        file="app/Dockerfile.prod",
        platforms=("linux/amd64", "linux/arm64"),
        tags=("r.example/app:1", "r.example/app:latest"),
        push=True,
        cache_from=("type=registry,ref=r.example/app:c1", "type=registry,ref=r.example/app:c2"),
        cache_to="type=inline",
        no_cache=True,
        target="runtime",
        build_args=(("VERSION", "1.2"), ("EMPTY", "")),
        builder="ci",
        extra_args=("--provenance=false", "--sbom=false"),
    )
    assert buildx_argv(req) == [
        "docker", "buildx", "build", "--progress=rawjson",
        "--builder", "ci",
        "--file", "app/Dockerfile.prod",
        "--platform", "linux/amd64,linux/arm64",
        "--tag", "r.example/app:1", "--tag", "r.example/app:latest",
        "--push",
        "--cache-from", "type=registry,ref=r.example/app:c1",
        "--cache-from", "type=registry,ref=r.example/app:c2",
        "--cache-to", "type=inline",
        "--no-cache",
        "--target", "runtime",
        "--build-arg", "VERSION=1.2", "--build-arg", "EMPTY=",
        "--provenance=false", "--sbom=false",
        "app",
    ]  # fmt: skip


def test_minimal_command_line() -> None:
    assert buildx_argv(BuildRequest(load=True)) == [
        "docker", "buildx", "build", "--progress=rawjson", "--load", ".",
    ]  # fmt: skip


def test_a_context_is_never_an_option() -> None:
    argv = buildx_argv(BuildRequest(context="--output=type=local,dest=/"))
    assert argv[-1] == "./--output=type=local,dest=/"


def test_push_and_load_are_exclusive() -> None:
    with pytest.raises(UserError) as err:
        BuildRequest(push=True, load=True)
    assert err.value.exit_code == EXIT_USAGE


def test_parse_build_arg() -> None:
    assert parse_build_arg("A=b=c") == ("A", "b=c")
    assert parse_build_arg("A=") == ("A", "")
    with pytest.raises(UserError, match="not KEY=VALUE"):
        parse_build_arg("A")
    with pytest.raises(UserError):
        parse_build_arg("=x")


@pytest.mark.parametrize(
    ("tag", "image"),
    [
        ("app", "app"),
        ("app:1", "app"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("localhost:5000/team/app:1.2", "localhost:5000/team/app"),
        ("ghcr.io/o/app@sha256:abc", "ghcr.io/o/app"),
        ("ghcr.io/o/app:1@sha256:abc", "ghcr.io/o/app"),
    ],
)
def test_image_from_tag(tag: str, image: str) -> None:
    assert image_from_tag(tag) == image


def test_a_tag_names_no_cache_the_config_does() -> None:
    """mab reads no cache nobody named: `-t` alone adds no --cache-from (a first build would
    show 'importing cache manifest' failures for refs that never existed)."""
    tagged = BuildRequest(platforms=("linux/amd64",), tags=("localhost:5000/app:1",))
    assert (with_defaults(tagged, Settings()).cache_from, tagged.cache_to) == ((), None)
    named = with_defaults(tagged, Settings(image="ghcr.io/o/app"))
    assert named.cache_from == ("type=registry,ref=ghcr.io/o/app:buildcache-linux-amd64",)


def test_a_build_outside_ci_reads_the_default_caches_and_writes_none() -> None:
    req = with_defaults(
        BuildRequest(platforms=("linux/arm64",)), Settings(image="r/app"), export=False
    )
    assert req.cache_from == ("type=registry,ref=r/app:buildcache-linux-arm64",)
    assert req.cache_to is None


def test_single_platform_reads_and_writes_its_own_cache() -> None:
    req = with_defaults(
        BuildRequest(platforms=("linux/arm64",)), Settings(image="localhost:5000/app")
    )
    assert req.cache_from == ("type=registry,ref=localhost:5000/app:buildcache-linux-arm64",)
    assert req.cache_to == f"type=registry,ref=localhost:5000/app:buildcache-linux-arm64,{EXPORT}"


def test_single_platform_with_branch_reads_branch_then_default() -> None:
    req = with_defaults(
        BuildRequest(platforms=("linux/amd64",)),
        Settings(image="r/app"),
        branch_slug="feature-x",
    )
    assert req.cache_from == (
        "type=registry,ref=r/app:buildcache-linux-amd64-feature-x",
        "type=registry,ref=r/app:buildcache-linux-amd64",
    )
    assert req.cache_to is not None
    assert req.cache_to.startswith("type=registry,ref=r/app:buildcache-linux-amd64-feature-x,")


def test_multi_platform_reads_every_cache_and_exports_none() -> None:
    req = with_defaults(BuildRequest(), Settings(image="r/app"))
    assert req.platforms == ("linux/amd64", "linux/arm64")  # from the settings
    assert req.cache_from == (
        "type=registry,ref=r/app:buildcache-linux-amd64",
        "type=registry,ref=r/app:buildcache-linux-arm64",
    )
    assert req.cache_to is None
    assert req.multi_platform


def test_user_cache_flags_replace_the_defaults() -> None:
    settings = Settings(image="r/app")
    mine = BuildRequest(platforms=("linux/amd64",), cache_to="type=inline")
    assert with_defaults(mine, settings).cache_from == ()
    assert with_defaults(mine, settings).cache_exports == ("type=inline",)
    off = with_defaults(BuildRequest(platforms=("linux/amd64",), no_cache=True), settings)
    assert (off.cache_from, off.cache_to) == ((), None)


def test_no_defaults_without_an_image_or_for_other_backends() -> None:
    assert with_defaults(BuildRequest(platforms=("linux/amd64",)), Settings()).cache_from == ()
    gha = Settings(image="r/app", cache="gha")
    assert with_defaults(BuildRequest(platforms=("linux/amd64",)), gha).cache_from == ()


def test_flags_override_config_platforms() -> None:
    req = with_defaults(BuildRequest(platforms=("linux/arm64",)), Settings())
    assert req.platforms == ("linux/arm64",)


def test_shown_argv_hides_build_arg_values() -> None:
    argv = buildx_argv(BuildRequest(build_args=(("TOKEN", "s3cret"), ("A", "x y"))))
    assert shown_argv(argv) == (
        "docker buildx build --progress=rawjson --build-arg 'TOKEN=***' --build-arg 'A=***' ."
    )


def test_detected_image_comes_first() -> None:
    req = BuildRequest(platforms=("linux/amd64",), tags=("localhost:5000/other:1",))
    done = with_defaults(req, Settings(image="r/base"), image="ghcr.io/acme/shop/api")
    assert done.cache_from == ("type=registry,ref=ghcr.io/acme/shop/api:buildcache-linux-amd64",)
