from __future__ import annotations

from textwrap import dedent

import pytest

from mab.detection.compose import BuildSpec, compose_sets, compose_specs, merge_compose
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


def test_credentials_in_a_remote_context_are_never_shown() -> None:
    _, warnings = specs(
        """
        services:
          a:
            build: https://x-token:ghp_SECRET1@github.com/acme/tool.git#main
          b:
            build:
              context: https://gitlab.example/acme/tool.git?private_token=SECRET2
        """
    )
    assert warnings == [
        "compose.yaml: service a: skipped: context https://***@github.com/acme/tool.git#main "
        "is not a local directory",
        "compose.yaml: service b: skipped: context https://gitlab.example/acme/tool.git?*** "
        "is not a local directory",
    ]
    assert "SECRET" not in " ".join(warnings)


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


def test_variables_come_from_env_and_unresolved_args_are_left_out() -> None:
    data = parse_data(
        dedent(
            """
            services:
              web:
                build:
                  context: ./web
                  args:
                    - VITE_API_URL=https://api.${DOMAIN?Variable not set}
                    - PRICE=costs $$5
                    - TOKEN=${TOKEN}
                    - CHANNEL=${CHANNEL:-stable}
            """
        ),
        "compose.yaml",
    )
    found, warnings = compose_specs(data, "compose.yaml", {"DOMAIN": "example.test"})
    assert found[0].args == (
        ("VITE_API_URL", "https://api.example.test"),
        ("PRICE", "costs $5"),
        ("CHANNEL", "stable"),
    )
    [warning] = warnings
    assert warning.startswith("compose.yaml: service web: build arg TOKEN left out")
    assert "variable TOKEN is not set" in warning
    # Without the .env value the required variable is reported, never baked in.
    found, warnings = compose_specs(data, "compose.yaml", {})
    assert all("${" not in value for _, value in found[0].args)
    assert any("DOMAIN is required (Variable not set)" in w for w in warnings)


def test_an_unresolved_context_skips_the_service() -> None:
    data = parse_data("services:\n  web:\n    build: ${APP_DIR}\n", "compose.yaml")
    found, [warning] = compose_specs(data, "compose.yaml", {})
    assert found == []
    assert "skipped: variable APP_DIR is not set" in warning


def test_sets_pair_each_main_file_with_its_override_and_extras() -> None:
    sets, left_out = compose_sets(
        [
            "compose.yaml",
            "compose.override.yaml",
            "docker-compose.override.yml",
            "docker-compose.yml",
            "docker-compose.prod.yml",
            "docker-compose.test.yml",
            "deploy/docker-compose.override.yml",
            "deploy/docker-compose.yml",
            "solo/compose.staging.yaml",
        ]
    )
    assert [s.files for s in sets] == [
        ("compose.yaml", "compose.override.yaml"),
        ("compose.yaml", "docker-compose.prod.yml"),
        ("deploy/docker-compose.yml", "deploy/docker-compose.override.yml"),
        ("solo/compose.staging.yaml",),
    ]
    assert left_out == [
        ("docker-compose.yml", "not read: compose reads compose.yaml and not this one"),
        ("docker-compose.test.yml", "not read: a compose file for test, not for shipping"),
    ]


def test_merge_follows_compose() -> None:
    base = {
        "name": "shop",
        "services": {
            "api": {
                "build": {"context": "./api", "args": ["MODE=prod", "KEEP=1"]},
                "ports": ["80:80"],
            },
            "web": {"build": "./web"},
            "db": {"image": "postgres"},
        },
    }
    override = {
        "services": {
            "api": {"build": {"target": "dev", "args": {"MODE": "dev"}}, "ports": ["81:81"]},
            "web": {"build": {"dockerfile": "Dockerfile.dev"}},
            "e2e": {"build": {"context": ".", "dockerfile": "web/Dockerfile.e2e"}},
        }
    }
    merged = merge_compose(base, override)
    assert merged["name"] == "shop"
    assert merged["services"]["api"] == {
        "build": {"context": "./api", "target": "dev", "args": {"MODE": "dev", "KEEP": "1"}},
        "ports": ["81:81"],
    }
    assert merged["services"]["web"]["build"] == {
        "context": "./web",
        "dockerfile": "Dockerfile.dev",
    }
    assert merged["services"]["e2e"]["build"]["context"] == "."
    assert merged["services"]["db"] == {"image": "postgres"}
    assert merge_compose(None, base) == base
