"""Never a second publisher: an image the repository's CI already pushes is not pushed by a
second pipeline, unless mab is told to replace the jobs that push it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.commands.conftest import Mab
from tests.detection.test_detect import write
from tests.detection.test_evidence import WORKFLOW

RELEASE = ".github/workflows/release.yml"
LINT_JOB = "jobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo lint\n"


def repo(tmp_path: Path) -> Path:
    root = write(
        tmp_path / "server",
        {
            RELEASE: WORKFLOW.replace("jobs:\n", LINT_JOB),
            "build/server/Dockerfile": "FROM alpine\n",
        },
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(
        ["git", "-C", str(root), "remote", "add", "origin", "https://github.com/acme/server.git"],
        check=True,
    )
    return root


def test_an_image_the_ci_pushes_is_refused_with_the_publishers_file_and_line(
    mab: Mab, tmp_path: Path
) -> None:
    root = repo(tmp_path)
    before = sorted(p.relative_to(root) for p in root.rglob("*") if ".git/" not in str(p))
    code, _, err = mab("init-ci", str(root), "--default-branch", "main")
    assert code == 4
    lines = (root / RELEASE).read_text().splitlines()
    line = next(n for n, t in enumerate(lines, 1) if "docker/build-push-action" in t)
    assert f"ghcr.io/acme/server (server) is pushed by {RELEASE}:{line}" in err
    assert f"--replace {RELEASE}" in err
    assert sorted(p.relative_to(root) for p in root.rglob("*") if ".git/" not in str(p)) == before
    code, _, err = mab("init-ci", str(root), "--default-branch", "main", "--dry-run")
    assert code == 0 and "a second publisher would race these" in err


def test_another_image_name_is_no_second_publisher(mab: Mab, tmp_path: Path) -> None:
    root = repo(tmp_path)
    code, _, err = mab(
        "init-ci", str(root), "--default-branch", "main", "--image", "ghcr.io/acme/server-mab"
    )
    assert code == 0, err
    assert "ghcr.io/acme/server-mab" in (root / ".github/workflows/mab.yml").read_text()


def test_replace_takes_over_the_publishing_job_and_keeps_the_others(
    mab: Mab, tmp_path: Path
) -> None:
    root = repo(tmp_path)
    code, _, err = mab("init-ci", str(root), "--default-branch", "main", "--replace", RELEASE)
    assert code == 0, err
    assert f"{RELEASE}: job image now built by mab" in err
    text = (root / RELEASE).read_text()
    assert "\n  lint:\n" in text and "\n  image:\n" not in text
    assert "ref: ghcr.io/acme/server" in text and "target: release" in text
    assert not (root / ".github/workflows/mab.yml").exists()
    assert mab("init-ci", str(root), "--check")[0] == 0
    code, _, err = mab("init-ci", str(root))
    assert code == 0 and (root / RELEASE).read_text() == text


def test_replace_names_a_workflow(mab: Mab, tmp_path: Path) -> None:
    root = repo(tmp_path)
    code, _, err = mab("init-ci", str(root), "--default-branch", "main", "--replace", "Makefile")
    assert code == 2 and "--replace Makefile: not a GitHub workflow" in err
