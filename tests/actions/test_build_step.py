"""The action's `mab-build` step on its own: inputs in, the `mab build` command line out.

Runs the step's script with bash as a runner does, with `MAB` pointing at a stand-in that
prints its arguments, one per line, so every input's mapping is visible without a build.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.actions.harness import BASH, load_action

DEFAULTS = {
    "MAB_CONTEXT": ".",
    "MAB_FILE": "",
    "MAB_PLATFORMS": "linux/amd64,linux/arm64",
    "MAB_IMAGE": "",
    "MAB_TAGS": "",
    "MAB_PUSH": "false",
    "MAB_CACHE_BACKEND": "registry",
    "MAB_CACHE_PREFIX": "",
    "MAB_CACHE_READ_ONLY": "false",
    "MAB_BUILD_ARGS": "",
    "MAB_TARGET": "",
}


def _script() -> str:
    steps = load_action()["runs"]["steps"]
    script: str = next(s for s in steps if s.get("id") == "mab-build")["run"]
    return script


def run_build_step(tmp_path: Path, **inputs: str) -> tuple[int, list[str], str]:
    fake = tmp_path / "mab"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n', encoding="utf-8")
    fake.chmod(0o755)
    script = tmp_path / "step.sh"
    script.write_text(_script(), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", **DEFAULTS, **inputs, "MAB": str(fake)}
    done = subprocess.run(
        [*BASH, str(script)], env=env, capture_output=True, text=True, check=False, timeout=30
    )
    return done.returncode, done.stdout.splitlines(), done.stdout + done.stderr


def test_defaults(tmp_path: Path) -> None:
    code, argv, _ = run_build_step(tmp_path)
    assert code == 0
    assert argv == ["build", "--ci", "--no-tui", "--platform", "linux/amd64,linux/arm64", "."]


def test_tags_push_and_per_platform_caches(tmp_path: Path) -> None:
    code, argv, _ = run_build_step(
        tmp_path,
        MAB_IMAGE="ghcr.io/acme/app",
        MAB_TAGS="ghcr.io/acme/app:1\n\n  ghcr.io/acme/app:latest  \n",
        MAB_PUSH="true",
        MAB_BUILD_ARGS="VERSION=1.2\nNOTE=two words\n",
        MAB_FILE="docker/Dockerfile",
        MAB_TARGET="runtime",
        MAB_CACHE_READ_ONLY="true",
        MAB_CONTEXT="services/api",
    )
    assert code == 0
    assert argv == [
        *("build", "--ci", "--no-tui", "--platform", "linux/amd64,linux/arm64"),
        *("--file", "docker/Dockerfile", "--target", "runtime"),
        *("--tag", "ghcr.io/acme/app:1", "--tag", "ghcr.io/acme/app:latest"),
        *("--build-arg", "VERSION=1.2", "--build-arg", "NOTE=two words"),
        *("--cache-backend", "registry", "--cache-prefix", "ghcr.io/acme/app"),
        *("--cache-read-only", "--push", "services/api"),
    ]


def test_push_without_tags_pushes_by_digest(tmp_path: Path) -> None:
    code, argv, _ = run_build_step(tmp_path, MAB_IMAGE="r/app", MAB_PUSH="true")
    assert code == 0
    assert argv[-3:] == [
        "--",
        "--output",
        "type=image,name=r/app,push-by-digest=true,name-canonical=true,push=true",
    ]
    assert argv[-4] == "."


def test_cache_none_and_gha_prefix(tmp_path: Path) -> None:
    _, argv, _ = run_build_step(tmp_path, MAB_CACHE_BACKEND="none", MAB_IMAGE="r/app")
    assert argv[5:7] == ["--cache-backend", "none"]
    _, argv, _ = run_build_step(tmp_path, MAB_CACHE_BACKEND="gha", MAB_CACHE_PREFIX="app")
    assert argv[5:9] == ["--cache-backend", "gha", "--cache-prefix", "app"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"MAB_PUSH": "yes"}, "push must be true or false"),
        ({"MAB_PUSH": "true"}, "push needs tags, or an image"),
    ],
)
def test_mistakes_fail_the_step_with_an_annotation(
    tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    code, _, output = run_build_step(tmp_path, **inputs)
    assert code == 2
    assert f"::error title=mab::{message}" in output


def test_inputs_never_reach_the_script_as_text(tmp_path: Path) -> None:
    evil = '"; touch pwned; echo "'
    code, argv, _ = run_build_step(tmp_path, MAB_TARGET=evil, MAB_TAGS=f"r/app:$(id)\n{evil}")
    assert code == 0
    assert evil in argv and "r/app:$(id)" in argv
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
