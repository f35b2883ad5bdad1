"""`mab init-ci` on the repository shapes the corpus scorecard (benchmarks/corpus_images.py)
found it getting wrong on public repositories. Each test writes a small tree of its own that
reproduces one shape (never a public repository's files) and reads the images from the build
matrix of the GitHub workflow `--dry-run` prints, as a user would read them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.commands.conftest import Mab

Images = set[tuple[str, str]]


def repo_of(root: Path, files: dict[str, str]) -> Path:
    """A committed git repository with a GitHub remote, holding `files`."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-C", str(root)]
    for argv in (
        ["init", "-q", "-b", "main"],
        ["remote", "add", "origin", "https://github.com/acme/app.git"],
        ["add", "-A"],
        ["commit", "-qm", "shape"],
    ):
        subprocess.run([*git, *argv], check=True, capture_output=True)
    return root


def images(mab: Mab, root: Path) -> Images:
    """(Dockerfile, context) of every image in the dry-run's GitHub workflow."""
    code, out, err = mab("init-ci", str(root), "--github", "--dry-run")
    assert code == 0, err
    section = out.split("+++ b/.github/workflows/mab.yml\n", 1)[1].split("\n--- ", 1)[0]
    text = "\n".join(line[1:] for line in section.splitlines() if line.startswith("+"))
    rows = yaml.safe_load(text)["jobs"]["build"]["strategy"]["matrix"]["image"]
    return {(row["file"], row["context"]) for row in rows}


APP = 'FROM busybox:1\nCOPY app.sh /app.sh\nCMD ["/app.sh"]\n'


def test_two_clones_in_folders_of_other_names_write_the_same_files(
    mab: Mab, tmp_path: Path
) -> None:
    files = {"Dockerfile": APP, "app.sh": "echo hi\n"}
    first = repo_of(tmp_path / "app", files)
    second = repo_of(tmp_path / "my-checkout-of-app", files)
    for root in (first, second):
        code, _, err = mab("init-ci", str(root), "--github", "--gitlab")
        assert code == 0, err
    for rel in (".github/workflows/mab.yml", ".gitlab/ci/mab.yml", ".mab.yml"):
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_a_dev_container_dockerfile_is_not_an_image(mab: Mab, tmp_path: Path) -> None:
    root = repo_of(
        tmp_path / "app",
        {
            "Dockerfile": APP,
            "app.sh": "echo hi\n",
            ".devcontainer/Dockerfile": "FROM busybox:1\nRUN echo tools\n",
            ".devcontainer/devcontainer.json": '{"build": {"dockerfile": "Dockerfile"}}\n',
        },
    )
    assert images(mab, root) == {("Dockerfile", ".")}


def test_lower_case_dockerfile_names_are_found(mab: Mab, tmp_path: Path) -> None:
    root = repo_of(
        tmp_path / "app",
        {
            "docker/dockerfile": "FROM busybox:1\nCOPY package.json /app/\n",
            "container/dist.dockerfile": "FROM busybox:1\nCOPY ./container/ /etc/app/\n",
            "container/run.sh": "echo hi\n",
            "package.json": "{}\n",
        },
    )
    assert images(mab, root) == {("docker/dockerfile", "."), ("container/dist.dockerfile", ".")}


def test_dockerfiles_in_variant_folders_copying_root_paths_take_the_root_as_context(
    mab: Mab, tmp_path: Path
) -> None:
    variant = "FROM busybox:1\nCOPY ./docker/{v}/entrypoint.sh /\nCOPY ./public /public\n"
    root = repo_of(
        tmp_path / "app",
        {
            "docker/alpine/Dockerfile": variant.format(v="alpine"),
            "docker/alpine/entrypoint.sh": "exec app\n",
            "docker/debian/Dockerfile": variant.format(v="debian"),
            "docker/debian/entrypoint.sh": "exec app\n",
            "public/index.html": "<p>hi</p>\n",
        },
    )
    assert images(mab, root) == {
        ("docker/alpine/Dockerfile", "."),
        ("docker/debian/Dockerfile", "."),
    }


def test_a_compose_file_of_browser_tests_is_not_read(mab: Mab, tmp_path: Path) -> None:
    compose = "services:\n  runner:\n    build: ./runner\n  app:\n    build: ../\n"
    root = repo_of(
        tmp_path / "app",
        {
            "Dockerfile": APP,
            "app.sh": "echo hi\n",
            "playwright/docker-compose.yml": compose,
            "playwright/runner/Dockerfile": "FROM busybox:1\nRUN echo browsers\n",
        },
    )
    assert images(mab, root) == {("Dockerfile", ".")}


def test_a_windows_dockerfile_is_not_built_for_linux(mab: Mab, tmp_path: Path) -> None:
    windows = "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY app.sh C:/app.sh\n"
    root = repo_of(
        tmp_path / "app",
        {
            "debian/Dockerfile": "FROM busybox:1\nCOPY app.sh /app.sh\n",
            "windows/servercore/Dockerfile": windows,
            "app.sh": "echo hi\n",
        },
    )
    assert images(mab, root) == {("debian/Dockerfile", ".")}


BAKE = """\
group "default" {
  targets = ["image"]
}
target "image" {
  dockerfile = "Dockerfile"
}
target "lint" {
  dockerfile = "hack/lint.Dockerfile"
  output = ["type=cacheonly"]
}
target "vendor" {
  dockerfile = "hack/vendor.Dockerfile"
  target = "update"
  output = ["."]
}
"""


def test_bake_targets_that_output_no_image_are_not_images(mab: Mab, tmp_path: Path) -> None:
    root = repo_of(
        tmp_path / "app",
        {
            "docker-bake.hcl": BAKE,
            "Dockerfile": APP,
            "app.sh": "echo hi\n",
            "hack/lint.Dockerfile": "FROM busybox:1\nCOPY . /src\nRUN echo lint\n",
            "hack/vendor.Dockerfile": "FROM busybox:1 AS update\nCOPY . /src\n",
        },
    )
    assert images(mab, root) == {("Dockerfile", ".")}


PUBLISH = """\
on: {push: {tags: ["v*"]}}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: |
          TAGS="-t acme/app:${{ github.ref_name }} -t acme/app:latest"
          docker buildx build --build-arg SHA=${{ github.sha }} $TAGS -f docker/Dockerfile --push .
"""


def test_a_run_step_with_expanded_tags_before_the_context_builds_from_that_context(
    mab: Mab, tmp_path: Path
) -> None:
    root = repo_of(
        tmp_path / "app",
        {
            ".github/workflows/release.yml": PUBLISH,
            "docker/Dockerfile": "FROM busybox:1\nRUN echo built\n",
        },
    )
    code, out, err = mab("init-ci", str(root), "--explain")
    assert code == 0, err
    assert re.search(r"^  context +\. +<- \.github/workflows/release\.yml:8$", out, re.M), out


def test_a_dockerfile_variant_named_only_by_a_tiltfile_is_not_an_image(
    mab: Mab, tmp_path: Path
) -> None:
    root = repo_of(
        tmp_path / "app",
        {
            "Dockerfile": APP,
            "Dockerfile-tilt": "FROM busybox:1\nCOPY app.sh /app.sh\nRUN echo live-reload\n",
            "Tiltfile": "docker_build('app', '.', dockerfile='Dockerfile-tilt')\n",
            "app.sh": "echo hi\n",
        },
    )
    assert images(mab, root) == {("Dockerfile", ".")}


def test_a_compose_file_in_a_development_folder_is_not_read(mab: Mab, tmp_path: Path) -> None:
    compose = "services:\n  pdf:\n    build:\n      context: .\n      dockerfile: Dockerfile.pdf\n"
    root = repo_of(
        tmp_path / "app",
        {
            "docker/Dockerfile": "FROM busybox:1\nCOPY app.sh /app.sh\n",
            "docker/development/compose.yml": compose,
            "docker/development/Dockerfile.pdf": "FROM busybox:1\nRUN echo pdf\n",
            "app.sh": "echo hi\n",
        },
    )
    assert images(mab, root) == {("docker/Dockerfile", ".")}
