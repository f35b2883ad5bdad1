"""Files that are not the source are reported with where to make the change and never
edited: a Dockerfile rendered from a template or carrying a generated header (fixtures
`templated`, `generated`), one reached through a symbolic link, one outside the repository.
`mab lint` on a directory also reads `.mab.yml`'s images and the Dockerfiles init-ci leaves out."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lint.conftest import Run, copy_fixture


@pytest.mark.parametrize("name", ["templated", "generated"])
def test_rendered_files_are_reported_not_edited(
    name: str, tmp_path: Path, mab: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = copy_fixture(name, tmp_path)
    (repo / ".git").mkdir()
    monkeypatch.chdir(repo)
    original = (repo / "Dockerfile").read_bytes()
    code, out, err = mab("lint", "--fix")
    assert (repo / "Dockerfile").read_bytes() == original
    assert code == 1
    assert "+++" not in out
    where = "Dockerfile.j2" if name == "templated" else "generated"
    assert "mab: not edited: Dockerfile is" in err and where in err
    assert "[fixable]" not in out and "not fixed:" in out


def test_a_symlinked_dockerfile_is_not_written_through(
    tmp_path: Path, mab: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = copy_fixture("npm", tmp_path)
    (repo / ".git").mkdir()
    (repo / "docker").mkdir()
    (repo / "Dockerfile").rename(repo / "docker" / "Dockerfile.real")
    (repo / "Dockerfile").symlink_to("docker/Dockerfile.real")
    original = (repo / "docker" / "Dockerfile.real").read_bytes()
    monkeypatch.chdir(repo)
    code, out, _ = mab("lint", "--fix", "Dockerfile")
    assert (repo / "docker" / "Dockerfile.real").read_bytes() == original
    assert (repo / "Dockerfile").is_symlink()
    assert "symbolic link: change docker/Dockerfile.real" in out
    assert code == 1
    # The file itself, named by its own path, is fixed.
    code, out, _ = mab("lint", "--fix", "docker/Dockerfile.real")
    assert (repo / "docker" / "Dockerfile.real").read_bytes() != original


def test_a_dockerfile_outside_the_repository_is_not_edited(
    tmp_path: Path, mab: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = copy_fixture("npm", tmp_path)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "Dockerfile").symlink_to(outside / "Dockerfile")
    original = (outside / "Dockerfile").read_bytes()
    monkeypatch.chdir(repo)
    code, out, _ = mab("lint", "--fix", "Dockerfile")
    assert (outside / "Dockerfile").read_bytes() == original
    assert "outside the repository" in out and code == 1


def test_a_directory_lints_mab_yml_images_and_every_shipped_dockerfile(
    tmp_path: Path, mab: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "build").mkdir()
    # An image only .mab.yml names (no conventional Dockerfile name), and a variant that no
    # build script names (init-ci leaves it out; it still ships).
    (repo / "build" / "app.recipe").write_text(
        "FROM node:22\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\n"
    )
    (repo / "Dockerfile").write_text("FROM python:3.12\nRUN pip install flask\n")
    (repo / "Dockerfile.debug").write_text("FROM golang:1.22\nRUN go install example.com/x@v1\n")
    (repo / ".mab.yml").write_text(
        "images:\n  - name: app\n    dockerfile: build/app.recipe\n    context: .\n"
    )
    monkeypatch.chdir(repo)
    _, out, err = mab("lint", "--json")
    paths = {f["path"] for f in json.loads(out)["findings"]}
    assert paths == {"build/app.recipe", "Dockerfile", "Dockerfile.debug"}, err
