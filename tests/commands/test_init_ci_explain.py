"""`mab init-ci --explain`: the images with each field's evidence, on stdout; nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.conftest import Mab
from tests.detection.test_detect import write
from tests.detection.test_evidence import WORKFLOW
from tests.fixture_repos import copy_fixture_repo


def test_explain_shows_each_field_with_its_file_and_line_and_writes_nothing(
    mab: Mab, tmp_path: Path
) -> None:
    root = write(
        tmp_path,
        {
            ".github/workflows/release.yml": WORKFLOW,
            "build/server/Dockerfile": "FROM alpine AS release\n",
            ".devcontainer/Dockerfile": "FROM alpine\n",
        },
    )
    code, out, _ = mab("init-ci", str(root), "--explain")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "1 image(s), each field with its evidence:"
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:12]}
    assert rows["target"] == ["release", "<-", ".github/workflows/release.yml:17"]
    assert rows["images"] == ["ghcr.io/acme/server", "<-", ".github/workflows/release.yml:17"]
    assert rows["tags"] == [
        "type=semver,pattern={{version}}",
        "<-",
        ".github/workflows/release.yml:17",
    ]
    assert "  already pushed by .github/workflows/release.yml:17" in lines
    assert any(".devcontainer/Dockerfile: it is a dev container's" in line for line in lines)
    assert sorted(p.name for p in root.iterdir()) == [".devcontainer", ".github", "build"]


def test_a_normal_run_names_each_image_and_its_source_on_stderr(mab: Mab, tmp_path: Path) -> None:
    root = write(tmp_path, {"docker/dockerfile": "FROM alpine\nCOPY go.mod .\n", "go.mod": ""})
    code, _, err = mab("init-ci", str(root), "--dry-run", "--default-branch", "main")
    assert code == 0, err
    assert "mab: image app: docker/dockerfile (context .) from its file name" in err


README = Path(__file__).parents[2] / "README.md"


@pytest.mark.parametrize("name", ["release-workflow", "bake-subfolder"])
def test_the_readme_shows_the_real_explain_output(mab: Mab, tmp_path: Path, name: str) -> None:
    repo = copy_fixture_repo(name, tmp_path)
    code, out, err = mab("init-ci", str(repo), "--explain")
    assert code == 0, err
    shown = "".join(f"  {line}" if line.strip() else line for line in out.splitlines(True))
    assert shown in README.read_text()  # indented as a list item's code block


def test_build_args_that_ci_fills_in_and_the_ci_platforms(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("release-workflow", tmp_path)
    workflow = repo / ".github/workflows/release.yml"
    workflow.write_text(
        workflow.read_text()
        .replace("linux/amd64,linux/arm64", "linux/amd64,linux/arm/v7")
        .replace(
            "VERSION=${{ github.ref_name }}",
            "VERSION=${{ github.ref_name }}\n            MODE=prod",
        )
    )
    code, _, err = mab("init-ci", str(repo), "--image", "ghcr.io/acme/server-next")
    assert code == 0, err
    assert "mab: platforms: linux/amd64, linux/arm/v7 (as the repository's builds name them)" in err
    text = (repo / ".github/workflows/mab.yml").read_text()
    assert "MODE=prod" in text and "github.ref_name" not in text
    assert "linux/arm/v7" in (repo / ".mab.yml").read_text()
    assert mab("init-ci", str(repo), "--check")[0] == 0


def test_mab_yml_excludes_an_image_and_sets_build_args(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("bake-subfolder", tmp_path)
    (repo / ".mab.yml").write_text(
        "images:\n  - name: web\n    exclude: true\n"
        "  - name: api\n    build-args: {TAG: stable, EXTRA: '1'}\n"
    )
    code, _, err = mab("init-ci", str(repo), "--default-branch", "main")
    assert code == 0, err
    assert "mab: left out: web (.mab.yml excludes it)" in err
    text = (repo / ".github/workflows/mab.yml").read_text()
    assert "web/Dockerfile" not in text
    assert "TAG=stable" in text and "EXTRA=1" in text and "TAG=dev" not in text
    assert mab("init-ci", str(repo), "--check")[0] == 0


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("dockerfile: docker/gone.Dockerfile", "images: api: dockerfile: docker/gone.Dockerfile"),
        ("context: nowhere", "images: api: context: nowhere: no such folder"),
    ],
)
def test_a_setting_naming_a_missing_path_is_refused(
    mab: Mab, tmp_path: Path, entry: str, message: str
) -> None:
    repo = copy_fixture_repo("bake-subfolder", tmp_path)
    (repo / ".mab.yml").write_text(f"images:\n  - name: api\n    {entry}\n")
    code, _, err = mab("init-ci", str(repo), "--default-branch", "main")
    assert code == 2 and message in err
    assert not (repo / ".github").exists()
