"""The corpus scorecard's extractor (benchmarks/corpus_extract.py) reads what a repository's own
files build: `docker build` lines, build-push/bake actions with their matrix, called workflows,
goreleaser's dockers. Small trees of our own; no docker needed (bake files are not used here)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

from corpus_extract import build_call, extract


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def found(root: Path) -> set[tuple[str, str, str, str]]:
    return {(f.dockerfile, f.context, f.target, f.source) for f in extract(root)}


def test_docker_build_options_expanded_variables_and_the_context() -> None:
    words = ["docker", "buildx", "build", "-t", "x", "--file=docker/Dockerfile", "$TAGS", "."]
    assert build_call(words) == ("docker/Dockerfile", ".", "", False)
    assert build_call(["podman", "build", "--target", "prod", "-o", "type=image,push=true", "app"])
    assert build_call(["docker", "build", "-f", "Dockerfile", "$CTX"]) is None
    assert build_call(["docker", "run", "--rm", "img"]) is None


def test_run_scripts_keep_expressions_whole_and_join_continued_lines(tmp_path: Path) -> None:
    workflow = """\
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: |
          docker buildx build --build-arg SHA=${{ github.sha }} \\
            -f build/app.Dockerfile --push .
"""
    root = tree(tmp_path, {".github/workflows/release.yml": workflow})
    assert found(root) == {("build/app.Dockerfile", ".", "", ".github/workflows/release.yml:6")}


def test_build_push_action_with_an_include_matrix_and_env(tmp_path: Path) -> None:
    workflow = """\
env:
  CTX: services
jobs:
  images:
    strategy:
      matrix:
        include:
          - {path: "", name: amd64}
          - {path: "arm64/", name: arm64}
    steps:
      - uses: docker/build-push-action@v6
        with:
          context: ${{ env.CTX }}
          file: docker/${{ matrix.path }}Dockerfile
          push: true
"""
    root = tree(tmp_path, {".github/workflows/images.yml": workflow})
    assert found(root) == {
        ("docker/Dockerfile", "services", "", ".github/workflows/images.yml:11"),
        ("docker/arm64/Dockerfile", "services", "", ".github/workflows/images.yml:11"),
    }


def test_called_workflows_and_goreleaser_dockers(tmp_path: Path) -> None:
    caller = """\
jobs:
  vote:
    uses: acme/.github/.github/workflows/docker-build.yaml@main
    with:
      context: vote
"""
    goreleaser = "dockers:\n  - dockerfile: release.Dockerfile\n    image_templates: [x]\n"
    root = tree(tmp_path, {".github/workflows/vote.yml": caller, ".goreleaser.yml": goreleaser})
    assert found(root) == {
        ("vote/Dockerfile", "vote", "", ".github/workflows/vote.yml:3"),
        ("release.Dockerfile", ".", "", ".goreleaser.yml:2"),
    }
