"""The repository's `.pre-commit-hooks.yaml`, run by the real pre-commit (`try-repo`) from a
temporary clone of this checkout's HEAD, against a project of its own: `mab-lint` fails on a
Dockerfile without a cache mount and passes once fixed; `mab-init-ci-check` fails until the
pipelines are written. pre-commit installs the hook into its own virtualenv (about a minute)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lint.conftest import Run, copy_fixture
from tests.lint.conftest import mab as mab

pytestmark = pytest.mark.validators
SOURCE = Path(__file__).resolve().parents[2]


def _git(cwd: Path, *argv: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *argv],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=120,
    )


def _try_repo(
    project: Path, hooks: Path, hook: str, home: Path
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), hook, "--all-files"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def test_hooks_run_under_pre_commit(tmp_path: Path, mab: Callable[..., Run]) -> None:
    if not (SOURCE / ".git").exists():
        pytest.skip("needs this checkout as a git repository")
    hooks = tmp_path / "hooks"
    subprocess.run(["git", "clone", "-q", str(SOURCE), str(hooks)], check=True, timeout=300)
    assert (hooks / ".pre-commit-hooks.yaml").exists(), "commit .pre-commit-hooks.yaml first"
    project = copy_fixture("npm", tmp_path)
    (project / ".github").mkdir()
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "project")
    home = tmp_path / "pre-commit-home"

    result = _try_repo(project, hooks, "mab-lint", home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "MAB101 cache-mount-missing" in result.stdout
    result = _try_repo(project, hooks, "mab-init-ci-check", home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "would be created" in result.stdout

    assert mab("lint", "--fix", str(project))[0] == 0
    assert mab("init-ci", str(project), "--image", "ghcr.io/acme/app")[0] == 0
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "fixed")
    for hook in ("mab-lint", "mab-init-ci-check"):
        result = _try_repo(project, hooks, hook, home)
        assert result.returncode == 0, result.stdout + result.stderr
