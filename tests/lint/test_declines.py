"""Where a fix could change the image or break the build, the rule reports and does not edit:
each case here is a shape seen in public Dockerfiles."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lint.conftest import Run


def _findings(
    tmp_path: Path, mab: Callable[..., Run], text: str, name: str = "Dockerfile"
) -> list[dict[str, object]]:
    (tmp_path / ".git").mkdir(exist_ok=True)
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    _, out, _ = mab("lint", "--json", str(path))
    found: list[dict[str, object]] = json.loads(out)["findings"]
    return found


CASES = {
    # removing the mount point fails with "Device or resource busy"
    "rm-mount-point": (
        "FROM rust:1.83\nRUN cargo install cargo-chef --locked && rm -rf $CARGO_HOME/registry/\n",
        "removes $CARGO_HOME/registry/",
    ),
    "cache-cleaned": (
        "FROM node:22\nCOPY package.json package-lock.json ./\n"
        "RUN npm ci && npm cache clean --force\n",
        "npm cache clean",
    ),
    "npx": (
        "FROM node:22\nCOPY package.json package-lock.json ./\n"
        "RUN npm ci && npx playwright install firefox\n",
        "npx",
    ),
    "link-into-cache": (
        "FROM debian:bookworm\nRUN rm -rf /var/cache/apt/archives && ln -s /pkg /var/cache/apt/"
        "archives && apt-get update && apt-get install -y curl\n",
        "works on /var/cache/apt/archives",
    ),
    "copied-out": (
        "FROM maven:3.9 AS build\nCOPY pom.xml .\nRUN mvn dependency:go-offline\n"
        "FROM eclipse-temurin:21\nCOPY --from=build /root/.m2/repository /deps\n",
        "copies /root/.m2/repository out of this stage",
    ),
    "run-from-cache": (
        "FROM maven:3.9 AS build\nCOPY pom.xml .\nRUN mvn dependency:go-offline\n"
        'FROM build AS dev\nCMD ["mvn", "spring-boot:run"]\n',
        "may build or run from what it downloads",
    ),
    "windows": (
        "FROM mcr.microsoft.com/dotnet/sdk:8.0-nanoserver-ltsc2022\nCOPY app.csproj .\n"
        "RUN dotnet restore\n",
        "Windows image",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mab101_reports_without_an_edit(case: str, tmp_path: Path, mab: Callable[..., Run]) -> None:
    text, why = CASES[case]
    found = [f for f in _findings(tmp_path, mab, text) if f["rule"] == "MAB101"]
    assert found, "no MAB101 finding"
    assert any(why in str(f["message"]) and not f["fixable"] for f in found), found


def test_apt_mounts_its_download_cache_only(tmp_path: Path, mab: Callable[..., Run]) -> None:
    """Not /var/lib/apt (extended_states is a file of the image) nor its lists (a later step
    may read them from the image; a RUN that deletes them would empty the mount)."""
    run = "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists"
    for tail in ("/", "/*", ""):
        text = f"FROM debian:bookworm\n{run}{tail}\n" if tail else f"FROM debian:bookworm\n{run}\n"
        found = [f for f in _findings(tmp_path, mab, text) if f["rule"] == "MAB101"]
        assert [f["fixable"] for f in found] == [True], found
        assert "/var/lib/apt" not in str(found[0]["message"]).split("(")[0], found


def test_a_mount_of_part_of_the_cache_is_the_users_choice(
    tmp_path: Path, mab: Callable[..., Run]
) -> None:
    text = (
        "FROM golang:1.22\nCOPY go.mod go.sum ./\n"
        "RUN --mount=type=cache,target=/go/pkg/mod/cache go mod download\n"
    )
    assert _findings(tmp_path, mab, text) == []


def test_an_arg_stays_above_shell_scripts_and_xx_helpers(
    tmp_path: Path, mab: Callable[..., Run]
) -> None:
    text = (
        "FROM --platform=$BUILDPLATFORM debian:bookworm AS build\nARG TARGETARCH\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends clang\n"
        'SHELL ["/bin/bash", "-c"]\nRUN xx-apt-get install -y libc6-dev\n'
    )
    found = [f for f in _findings(tmp_path, mab, text) if f["rule"] == "MAB107"]
    assert found and found[0]["fixable"], found
    assert "the fix moves it above line 4" in str(found[0]["message"])
    text = text.replace("clang\nSHELL", "clang\nRUN ./configure\nSHELL")
    found = [f for f in _findings(tmp_path, mab, text) if f["rule"] == "MAB107"]
    assert "moves it above line 4, which may read it" in str(found[0]["message"])


def test_a_dockerfile_under_a_folder_of_templates_is_not_edited(
    tmp_path: Path, mab: Callable[..., Run]
) -> None:
    (tmp_path / "eng" / "dockerfile-templates").mkdir(parents=True)
    (tmp_path / "eng" / "dockerfile-templates" / "Dockerfile.linux").write_text("FROM {{b}}\n")
    text = "FROM python:3.12\nRUN pip install flask\n"
    found = _findings(tmp_path, mab, text, "src/3.12/Dockerfile")
    assert found and not any(f["fixable"] for f in found)
    assert "rendered from the templates in eng/dockerfile-templates" in str(found[0]["message"])


def test_a_user_from_an_unknown_base_image_gets_no_home_mount(
    tmp_path: Path, mab: Callable[..., Run]
) -> None:
    """quay.io/jupyter/base-notebook runs as jovyan: a mount of /root/.cache/pip (and the
    dropped --no-cache-dir) would put pip's cache into the image."""
    text = "FROM quay.io/jupyter/base-notebook\nRUN pip install --no-cache-dir flask\n"
    found = [f for f in _findings(tmp_path, mab, text) if f["rule"] == "MAB101"]
    assert found and not found[0]["fixable"], found
    assert "user of the base image" in str(found[0]["message"])
    found = _findings(tmp_path, mab, "FROM quay.io/jupyter/base-notebook\nUSER root\n" + text[35:])
    assert any(f["fixable"] for f in found), found
