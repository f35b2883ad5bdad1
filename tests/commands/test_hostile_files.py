"""Files a repository holds in the place of compose files, overrides, bake files, `.mab.yml`,
`.env`, Makefiles and scripts are read by one reader: a FIFO, a link to /dev/zero or an alias
bomb ends the command at once with exit 2 and a message naming the file, never a hang, a
MemoryError or minutes of parsing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.commands.conftest import Mab
from tests.files.test_reader import alias_bomb

EXIT_USAGE = 2


def fifo(path: Path) -> None:
    os.mkfifo(path)


def dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def bomb(path: Path) -> None:
    path.write_text(alias_bomb(), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN true\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("make", [fifo, dev_zero], ids=["fifo", "dev-zero"])
@pytest.mark.parametrize(
    "name",
    [
        "compose.yaml",
        "compose.override.yaml",
        "docker-bake.hcl",
        ".mab.yml",
        ".env",
        "Makefile",
        "build.sh",
    ],
)
def test_init_ci_refuses_a_file_that_is_not_regular(
    repo: Path, name: str, make: Callable[[Path], None], mab: Mab
) -> None:
    if name in (".env", "compose.override.yaml"):
        (repo / "compose.yaml").write_text("services: {app: {build: .}}\n", encoding="utf-8")
    make(repo / name)
    code, _, err = mab("init-ci", "--dry-run", str(repo))
    assert code == EXIT_USAGE, err
    assert f"{name}: a " in err and "not a regular file" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["compose.yaml", ".mab.yml"])
def test_an_alias_bomb_fails_fast(repo: Path, name: str, mab: Mab) -> None:
    bomb(repo / name)
    code, _, err = mab("init-ci", "--dry-run", str(repo))
    assert code == EXIT_USAGE
    assert f"{name}: its YAML aliases expand to over 1,000,000 nodes" in err


@pytest.mark.parametrize("make", [fifo, dev_zero, bomb], ids=["fifo", "dev-zero", "bomb"])
def test_lint_refuses_a_hostile_config(
    repo: Path, make: Callable[[Path], None], mab: Mab, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(repo / ".mab.yml")
    monkeypatch.chdir(repo)
    code, _, err = mab("lint", str(repo / "Dockerfile"))
    assert code == EXIT_USAGE
    assert ".mab.yml: " in err


def test_init_ci_runs_no_command_named_by_the_remote_url(repo: Path, mab: Mab) -> None:
    """The pre-commit hook's case: a repository whose only branch is a feature branch (so the
    remote is asked for its HEAD) and whose remote URL is an option that runs a command."""
    import subprocess

    marker = repo.parent / "ran"
    for argv in (
        ["init", "-q", "-b", "feature"],
        ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x"],
        ["config", "remote.origin.url", f"--upload-pack=touch {marker};"],
    ):
        subprocess.run(["git", *argv], cwd=repo, check=True, capture_output=True)
    code, _, err = mab("init-ci", "--dry-run", str(repo))
    assert not marker.exists()
    assert "Traceback" not in err and code in (0, 2)
