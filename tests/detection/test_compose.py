from __future__ import annotations

from textwrap import dedent

import pytest

from mab.detection.compose import BuildSpec, compose_specs
from mab.files.yamlio import parse_data


def specs(text: str) -> tuple[list[BuildSpec], list[str]]:
    return compose_specs(parse_data(dedent(text), "compose.yaml"), "compose.yaml")


def test_long_and_short_build_forms() -> None:
    found, warnings = specs(
        """
        services:
          api:
            build:
              context: ./services/api
              dockerfile: docker/Dockerfile.prod
              target: runtime
              args:
                NODE_ENV: production
                RETRIES: 3
                DEBUG: false
                FROM_ENV:
          worker:
            build: ./services/worker
          db:
            image: postgres:16
        """
    )
    assert warnings == []
    assert found == [
        BuildSpec(
            name="api",
            context="./services/api",
            dockerfile="docker/Dockerfile.prod",
            target="runtime",
            args=(("NODE_ENV", "production"), ("RETRIES", "3"), ("DEBUG", "false")),
        ),
        BuildSpec(name="worker", context="./services/worker"),
    ]


def test_list_form_args_and_variable_defaults() -> None:
    found, _ = specs(
        """
        services:
          web:
            build:
              context: ${WEB_DIR:-web}
              args:
                - VERSION=${VERSION:-1.2.3}
                - TOKEN
                - EMPTY=
              platforms: [linux/amd64, linux/arm64]
        """
    )
    assert found == [
        BuildSpec(
            name="web",
            context="web",
            args=(("VERSION", "1.2.3"), ("EMPTY", "")),
            platforms=("linux/amd64", "linux/arm64"),
        )
    ]


def test_build_without_context_uses_the_compose_directory() -> None:
    found, _ = specs(
        """
        services:
          app:
            build:
              dockerfile: app.Dockerfile
        """
    )
    assert found == [BuildSpec(name="app", context=".", dockerfile="app.Dockerfile")]


def test_inline_dockerfiles_and_remote_contexts_are_skipped_with_a_warning() -> None:
    found, warnings = specs(
        """
        services:
          inline:
            build:
              dockerfile_inline: |
                FROM alpine
          remote:
            build: https://github.com/acme/tool.git#main
          local:
            build: .
        """
    )
    assert [s.name for s in found] == ["local"]
    assert warnings == [
        "compose.yaml: service inline: skipped: `dockerfile_inline` has no Dockerfile to analyse",
        "compose.yaml: service remote: skipped: context https://github.com/acme/tool.git#main "
        "is not a local directory",
    ]


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        ("- a\n- b\n", "compose.yaml: not a compose file (expected a mapping at the top)"),
        ("services: [api]\n", "compose.yaml: `services` should be a mapping of service names"),
        (
            "services:\n  api:\n    build: [x]\n",
            "compose.yaml: service api: `build` should be a path or a mapping",
        ),
        (
            "services:\n  api:\n    build:\n      args: 3\n",
            "compose.yaml: service api: `args` should be a list or a mapping (args ignored)",
        ),
    ],
)
def test_malformed_compose_data_gives_warnings(text: str, warning: str) -> None:
    assert warning in specs(text)[1]


def test_empty_compose_file_has_no_images() -> None:
    assert compose_specs(None, "compose.yaml") == ([], [])
