"""`github.buildx` / `gitlab.buildx`: the builder CI sets up, validated where it is declared,
and what the GitHub workflow makes of it."""

from __future__ import annotations

import msgspec
import pytest

from mab.config.settings import BuildxSettings, GithubSettings, Settings
from mab.generators.github.actionsteps import buildx, image_output


def settings(**buildx_fields: object) -> Settings:
    return Settings(github=GithubSettings(buildx=BuildxSettings(**buildx_fields)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"driver": "remote"}, "driver remote needs an endpoint"),
        ({"endpoint": "tcp://b:1234"}, "endpoint is for driver remote"),
        ({"driver": "docker", "driver_opts": ("image=x",)}, "driver docker takes no driver-opts"),
        ({"driver_opts": ("image",)}, "KEY=VALUE"),
        ({"driver_opts": ("=x",)}, "KEY=VALUE"),
        ({"driver_opts": ("image=a b",)}, "KEY=VALUE"),
    ],
)
def test_a_builder_setting_that_cannot_work_is_refused(
    fields: dict[str, object], message: str
) -> None:
    data = {"github": {"buildx": {k.replace("_", "-"): v for k, v in fields.items()}}}
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(data, Settings)


def test_the_default_builder_step_has_no_inputs() -> None:
    assert "with" not in buildx(Settings())


def test_the_docker_driver_pushes_to_a_staging_tag_and_skips_the_clean_up() -> None:
    given = settings(driver="docker")
    assert dict(buildx(given)["with"]) == {"driver": "docker", "cleanup": False}
    output = image_output(given, "reg/app", "${{ matrix.platform.slug }}")
    assert output.startswith("type=image,name=reg/app:mab-staging-${{ matrix.platform.slug }},")
    assert "push-by-digest" not in output
    assert "push-by-digest=true" in image_output(Settings(), "reg/app", "s")


def test_driver_opts_and_an_endpoint_reach_the_action() -> None:
    mirror = settings(driver_opts=("image=mirror.example/moby/buildkit:v0.23.0", "network=host"))
    assert dict(buildx(mirror)["with"]) == {
        "driver-opts": "image=mirror.example/moby/buildkit:v0.23.0\nnetwork=host"
    }
    remote = settings(driver="remote", endpoint="tcp://buildkitd:1234")
    assert dict(buildx(remote)["with"]) == {"driver": "remote", "endpoint": "tcp://buildkitd:1234"}
