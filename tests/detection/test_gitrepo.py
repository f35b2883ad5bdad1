"""Default-branch detection on real git repositories made with the git CLI (the remote is a
bare repository on disk, so `git ls-remote` really runs, without a network)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mab.detection.gitrepo import ask_remote_head, default_branch, read_remote
from tests.fixture_repos import copy_fixture_repo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.test", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def repo(tmp_path: Path, branch: str, name: str = "work") -> Path:
    root = tmp_path / name
    root.mkdir()
    git(root, "init", "-q", "-b", branch)
    (root / "Dockerfile").write_text("FROM alpine\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "first")
    return root


def bare_remote(tmp_path: Path, head: str) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", head, str(remote))
    return remote


def test_origin_head_wins(tmp_path: Path) -> None:
    root = repo(tmp_path, "add-ci")
    git(root, "remote", "add", "origin", "https://git.invalid/acme/app.git")
    git(root, "update-ref", "refs/remotes/origin/trunk", "HEAD")
    git(root, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    choice = default_branch(root)
    assert (choice.branch, choice.checked_out) == ("trunk", "add-ci")
    assert "refs/remotes/origin/HEAD" in choice.evidence


def test_the_remote_is_asked_when_origin_head_is_missing(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path, "develop")
    root = repo(tmp_path, "develop")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "develop")
    git(root, "switch", "-q", "-c", "add-ci")
    assert ask_remote_head(str(remote)) == "develop"
    choice = default_branch(root)
    assert choice.branch == "develop"
    assert "the remote origin names develop" in choice.evidence
    # Not asking (or a remote that cannot answer) leaves only the feature branch: no answer.
    assert default_branch(root, ask_remote=False).branch is None


def test_an_unreachable_remote_fails_fast_and_falls_back(tmp_path: Path) -> None:
    assert ask_remote_head("https://git.invalid/acme/app.git", timeout=10) is None
    assert ask_remote_head(str(tmp_path / "nothing-here.git")) is None


@pytest.mark.parametrize("branch", ["main", "master"])
def test_a_local_main_or_master_is_the_fallback(tmp_path: Path, branch: str) -> None:
    root = repo(tmp_path, branch)
    git(root, "switch", "-q", "-c", "add-ci")
    git(root, "pack-refs", "--all")  # the branch now lives only in packed-refs
    assert not (root / ".git/refs/heads" / branch).exists()
    choice = default_branch(root)
    assert choice.branch == branch
    assert f"{branch} is a local branch" in choice.evidence


def test_a_feature_branch_alone_is_no_evidence(tmp_path: Path) -> None:
    root = repo(tmp_path, "add-ci")
    git(root, "remote", "add", "origin", "https://git.invalid/acme/app.git")
    choice = default_branch(root)
    assert choice.branch is None
    assert "add-ci" in choice.evidence


def test_worktrees_read_head_from_their_own_git_dir(tmp_path: Path) -> None:
    root = repo(tmp_path, "main")
    git(root, "remote", "add", "origin", "git@github.com:acme/app.git")
    git(root, "worktree", "add", "-q", "-b", "feature", str(tmp_path / "wt"))
    choice = default_branch(tmp_path / "wt", ask_remote=False)
    assert (choice.branch, choice.checked_out) == ("main", "feature")
    remote = read_remote(tmp_path / "wt")
    assert remote is not None and remote.path == "acme/app"


def test_no_git_repository_assumes_main(tmp_path: Path) -> None:
    choice = default_branch(tmp_path)
    assert choice.branch == "main" and "no git repository" in choice.evidence


@pytest.mark.parametrize(
    ("fixture", "branch"),
    [("feature-branch", None), ("master-config", "master"), ("node", "main")],
)
def test_fixture_repositories(tmp_path: Path, fixture: str, branch: str | None) -> None:
    assert default_branch(copy_fixture_repo(fixture, tmp_path)).branch == branch


@pytest.mark.parametrize(
    "url",
    ["--upload-pack=touch {marker};", "-u touch {marker}", "ext::sh -c touch% {marker}"],
)
def test_a_hostile_remote_url_runs_nothing(tmp_path: Path, url: str) -> None:
    """The URL in `.git/config` is the repository's: an option or a transport helper in it
    must not reach git as one (the feature-branch case asks the remote)."""
    marker = tmp_path / "ran"
    root = repo(tmp_path, "add-ci")
    git(root, "config", "remote.origin.url", url.format(marker=marker))
    choice = default_branch(root)
    assert not marker.exists()
    assert choice.branch is None


def test_the_repository_config_plays_no_part_in_asking_the_remote(tmp_path: Path) -> None:
    """`core.gitProxy` (or `core.sshCommand`) in the repository's own config would run a
    command: git runs outside the repository."""
    marker = tmp_path / "ran"
    proxy = tmp_path / "proxy.sh"
    proxy.write_text(f"#!/bin/sh\ntouch {marker}\n", encoding="utf-8")
    proxy.chmod(0o755)
    root = repo(tmp_path, "add-ci")
    git(root, "config", "remote.origin.url", "git://git.invalid/acme/app.git")
    git(root, "config", "core.gitProxy", str(proxy))
    default_branch(root)
    assert not marker.exists()


def test_relative_remote_paths_are_asked_from_the_repository(tmp_path: Path) -> None:
    bare_remote(tmp_path, "develop")
    root = repo(tmp_path, "develop")
    git(root, "remote", "add", "origin", "../remote.git")
    git(root, "push", "-q", "origin", "develop")
    git(root, "switch", "-q", "-c", "add-ci")
    assert default_branch(root).branch == "develop"
