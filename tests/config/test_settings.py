"""The declaration itself: defaults, flags applied over the file, platforms, runner labels."""

from __future__ import annotations

import pytest

from mab.config.file import override, parse_config
from mab.config.settings import (
    GithubSettings,
    GitlabSettings,
    S3Cache,
    Settings,
    normalize_platform,
    parse_platforms,
    platform_slug,
)
from mab.errors import UserError
from mab.generators import github
from tests.generators.github_cases import EMULATED


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().strategy = "qemu"  # type: ignore[misc]


def test_flags_override_by_dotted_path_and_none_changes_nothing() -> None:
    base = parse_config("strategy: qemu\ngithub: {workflow: ci, use-action: true}\n")
    changed = override(
        base,
        {"cache": "gha", "github.workflow": "build", "gitlab.runner": "shell", "image": None},
    )
    assert changed.strategy == "qemu" and changed.cache == "gha"
    assert changed.github == GithubSettings(workflow="build", use_action=True)
    assert changed.gitlab == GitlabSettings(runner="shell")
    assert base.github.workflow == "ci"  # the original is untouched


def test_the_s3_cache_needs_its_bucket_from_flags_too() -> None:
    with pytest.raises(UserError) as info:
        override(Settings(), {"cache": "s3"}, hint="pass --s3-bucket and --s3-region")
    assert info.value.message == "cache: s3 needs the s3 section: bucket and region"
    assert info.value.hint == "pass --s3-bucket and --s3-region"
    s3 = S3Cache(bucket="b", region="r")
    assert override(Settings(), {"cache": "s3", "s3": s3}).s3 == s3


def test_arm64_v8_is_read_as_arm64_once() -> None:
    settings = parse_config("platforms: [linux/arm64/v8, linux/amd64, linux/arm64]\n")
    assert settings.platforms == ("linux/arm64", "linux/amd64")


def test_runner_labels_override_the_native_defaults() -> None:
    settings = Settings(
        platforms=("linux/amd64", "linux/arm64", "linux/s390x"),
        github=GithubSettings(runners={"linux/amd64": "big-x86"}),
        gitlab=GitlabSettings(tags={"linux/s390x": "mainframe"}),
    )
    assert [settings.github_runner(p) for p in settings.platforms] == [
        "big-x86", "ubuntu-24.04-arm", None,
    ]  # fmt: skip
    assert [settings.gitlab_tag(p) for p in settings.platforms] == [
        "saas-linux-small-amd64", "saas-linux-small-arm64", "mainframe",
    ]  # fmt: skip


def test_platform_flags_are_normalised_and_checked() -> None:
    assert parse_platforms(" linux/AMD64 ,linux/arm64/v8,,linux/arm64") == (
        "linux/amd64",
        "linux/arm64",
    )
    assert normalize_platform("linux/arm/v7") == "linux/arm/v7"
    assert platform_slug("linux/arm/v7") == "linux-arm-v7"
    with pytest.raises(UserError, match="unknown platform 'linux/sparc'"):
        parse_platforms("linux/sparc")
    with pytest.raises(UserError, match="no platform given"):
        parse_platforms(" , ")


def test_registry_user_from_the_file_reaches_the_login_step() -> None:
    settings = parse_config("registry-user: robot-acme\nimage: docker.io/acme/tool\n")
    text = str(github.workflow(EMULATED, settings))
    assert "robot-acme" in text
    assert "robot-acme" not in str(github.workflow(EMULATED, Settings(image="docker.io/acme/tool")))


def test_image_settings_by_name() -> None:
    settings = parse_config("images: [{name: api, target: prod}]\n")
    assert settings.image_settings("api") is not None
    assert settings.image_settings("web") is None
