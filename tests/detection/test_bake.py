from __future__ import annotations

import json
from textwrap import dedent

from hypothesis import given, settings
from hypothesis import strategies as st

from mab.detection.bake import bake_specs
from mab.detection.compose import BuildSpec


def hcl(text: str) -> tuple[list[BuildSpec], list[str]]:
    return bake_specs(dedent(text), "docker-bake.hcl")


def test_targets_with_variables_and_inherits() -> None:
    found, warnings = hcl(
        """
        # comments in all three styles
        // are fine
        /* even
           across lines */
        variable "REGISTRY" { default = "ghcr.io/acme" }
        variable "GO_VERSION" {
          default = "1.23"
        }
        variable "BASE" {
          default = "golang:${GO_VERSION}"
        }

        group "default" {
          targets = ["api", "web"]
        }

        target "_common" {
          args = {
            GO_VERSION = GO_VERSION
            CGO_ENABLED = 0
          }
          platforms = ["linux/amd64", "linux/arm64"]
        }

        target "api" {
          inherits   = ["_common"]
          context    = "services/api"
          dockerfile = "build/Dockerfile"
          target     = "runtime"
          args = {
            BASE_IMAGE = "${BASE}"
            "LITERAL" = "$${NOT_A_VAR}"
          }
          tags = ["${REGISTRY}/api:latest"]
        }

        target "web" {
          dockerfile = "web.Dockerfile"
          platforms = [
            "linux/amd64",
          ]
        }
        """
    )
    assert warnings == []
    assert found == [
        BuildSpec(
            name="api",
            context="services/api",
            dockerfile="build/Dockerfile",
            target="runtime",
            args=(
                ("GO_VERSION", "1.23"),
                ("CGO_ENABLED", "0"),
                ("BASE_IMAGE", "golang:1.23"),
                ("LITERAL", "${NOT_A_VAR}"),
            ),
            platforms=("linux/amd64", "linux/arm64"),
        ),
        BuildSpec(name="web", context=".", dockerfile="web.Dockerfile", platforms=("linux/amd64",)),
    ]


def test_expressions_it_cannot_evaluate_are_warnings() -> None:
    found, warnings = hcl(
        """
        variable "TAG" { default = "dev" }
        function "tag" {
          params = [name]
          result = ["acme/${name}:${TAG}"]
        }
        target "app" {
          tags   = tag("app")
          labels = { "org.opencontainers.image.version" = TAG }
          args   = { A = "1", B = upper(TAG) }
          description = <<EOT
        A multi-line { description
        EOT
        }
        target "odd" {
          context = notequal(TAG, "") ? "odd" : "."
        }
        """
    )
    assert found == [BuildSpec(name="app", context=".")]
    assert warnings == [
        "docker-bake.hcl: target app: line 10: cannot evaluate `args` (ignored)",
        "docker-bake.hcl: target odd: line 16: cannot evaluate `context` (target skipped)",
    ]


def test_inline_dockerfiles_are_skipped() -> None:
    found, warnings = hcl('target "x" {\n  dockerfile-inline = "FROM alpine"\n}\n')
    assert found == []
    assert warnings == [
        "docker-bake.hcl: target x: skipped: `dockerfile-inline` has no Dockerfile to analyse"
    ]


def test_a_broken_file_is_one_warning() -> None:
    found, warnings = hcl('target "api" {\n  context = "api"\n')
    assert found == []
    assert warnings == ["docker-bake.hcl:2: cannot read this bake file (unexpected end of file)"]
    assert hcl('target "api" }\n')[1] == [
        "docker-bake.hcl:1: cannot read this bake file (expected '{' after target, found '}')"
    ]


def test_json_bake_files() -> None:
    text = json.dumps(
        {
            "variable": {"TAG": {"default": "1.0"}},
            "group": {"default": {"targets": ["app"]}},
            "target": {
                "app": {"context": "app", "args": {"VERSION": "${TAG}"}, "target": "prod"},
            },
        }
    )
    assert bake_specs(text, "docker-bake.json") == (
        [BuildSpec(name="app", context="app", target="prod", args=(("VERSION", "1.0"),))],
        [],
    )


def test_broken_json_is_a_warning() -> None:
    found, warnings = bake_specs('{"target": {', "docker-bake.json")
    assert found == []
    assert warnings[0].startswith("docker-bake.json:1: cannot read this bake file")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                'target "a" {',
                'variable "V" {',
                "}",
                "{",
                "[",
                "]",
                "=",
                ",",
                '"x"',
                '"${V}"',
                "context",
                "args",
                "inherits",
                "\n",
                "<<EOT\n",
                "EOT",
                "/*",
                "*/",
                "#",
                "f(",
                ")",
            ]
        )
        | st.text(max_size=4)
    ).map(" ".join)
)
def test_any_text_gives_specs_or_warnings_never_an_error(text: str) -> None:
    found, warnings = bake_specs(text, "docker-bake.hcl")
    assert all(w.startswith("docker-bake.hcl") for w in warnings)
    assert all(s.context for s in found)


def test_deeply_nested_values_are_a_warning() -> None:
    found, warnings = hcl('target "a" {\n  args = ' + "[" * 5000 + "\n}\n")
    assert found == []
    assert warnings == ["docker-bake.hcl: cannot read this bake file (nested too deeply)"]
