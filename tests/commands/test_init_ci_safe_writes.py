"""`mab init-ci` writes its files all or nothing, one run at a time, and says why when it can't.

Everything runs on the real file system. The tests run as root here, and root ignores permission
bits, so "read-only" is made real in other ways, each said in its test: the immutable attribute
(`chattr +i`), a read-only bind mount, a file where a folder is expected, a full tmpfs. Each
skips with the reason when this machine cannot make that state.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mab.files import writeset
from tests.commands.conftest import Mab
from tests.commands.test_init_ci import WORKFLOW, tree_digest
from tests.fixture_repos import copy_fixture_repo

EXIT_ENVIRONMENT = 3
EXIT_USAGE = 2


def _sh(*argv: str) -> bool:
    if shutil.which(argv[0]) is None:
        return False
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    if not _sh("chattr", "+i", str(path)):
        pytest.skip("chattr +i is not available here (needs root and ext4/xfs/btrfs)")
    try:
        yield
    finally:
        _sh("chattr", "-i", str(path))


@contextmanager
def mounted(*argv: str, target: Path) -> Iterator[None]:
    if not _sh("mount", *argv, str(target)):
        pytest.skip(f"cannot `mount {' '.join(argv)}` here (needs root in a mount namespace)")
    try:
        yield
    finally:
        _sh("umount", str(target))


def assert_refused(run: tuple[int, str, str], code: int, *words: str) -> None:
    status, _, err = run
    assert status == code, err
    assert "Traceback" not in err
    # Lines before the error say what detection chose (the default branch and its evidence).
    assert "\nmab: error: cannot write" in "\n" + err, err
    for word in words:
        assert word in err, err


def test_read_only_repository_root_writes_nothing(mab: Mab, tmp_path: Path) -> None:
    # Read-only root: the immutable attribute on the repository folder (root ignores mode bits).
    repo = copy_fixture_repo("node", tmp_path)
    before = tree_digest(repo)
    with immutable(repo):
        run = mab("init-ci", str(repo))
    assert_refused(run, EXIT_ENVIRONMENT, WORKFLOW, ".mab.yml", "not writable")
    assert tree_digest(repo) == before


def test_read_only_github_folder_writes_nothing(mab: Mab, tmp_path: Path) -> None:
    # Read-only `.github/`: a read-only bind mount of the folder onto itself.
    repo = copy_fixture_repo("custom-workflow", tmp_path)
    before = tree_digest(repo)
    github = repo / ".github"
    with mounted("--bind", str(github), target=github):
        if not _sh("mount", "-o", "remount,bind,ro", str(github)):
            pytest.skip("cannot remount a bind mount read-only here")
        run = mab("init-ci", str(repo), "--default-branch", "trunk")
    assert_refused(run, EXIT_ENVIRONMENT, ".github/workflows", "not writable")
    assert tree_digest(repo) == before


def test_github_that_is_a_file_writes_nothing(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    (repo / ".github").write_text("not a folder\n")
    before = tree_digest(repo)
    run = mab("init-ci", str(repo), "--github")
    assert_refused(run, EXIT_USAGE, ".github is a file, not a folder")
    assert tree_digest(repo) == before


def test_a_full_disk_writes_nothing(mab: Mab, tmp_path: Path) -> None:
    # A full disk: the repository on a 1 MiB tmpfs, filled up but for a few KiB, so the
    # first file fits and the second does not.
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=1m", "tmpfs", target=disk):
        repo = copy_fixture_repo("node", disk)
        assert mab("init-ci", str(repo))[0] == 0
        before = tree_digest(repo)
        stat = os.statvfs(disk)
        room = 6 * 1024  # one file's room: the new .mab.yml or a page of the workflow
        (disk / "filler").write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - room))
        run = mab("init-ci", str(repo), "--strategy", "qemu", "--cache", "gha")
        after = tree_digest(repo)
    assert_refused(run, EXIT_ENVIRONMENT, "No space left", "nothing was written")
    assert after == before


def test_a_failed_rename_puts_the_first_file_back(
    mab: Mab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mocked: the second of two renames failing after the first succeeded cannot be produced
    # on demand on a real file system, so Path.replace fails on its second call.
    repo = copy_fixture_repo("node", tmp_path)
    assert mab("init-ci", str(repo))[0] == 0
    before = tree_digest(repo)
    real_replace = Path.replace
    calls: list[str] = []

    def replace(self: Path, target: Path) -> Path:
        calls.append(str(target))
        if len(calls) == 2:
            raise OSError(5, "Input/output error", str(target))
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    run = mab("init-ci", str(repo), "--strategy", "qemu")
    monkeypatch.undo()
    assert_refused(run, EXIT_ENVIRONMENT, "put back as it was")
    assert len(calls) >= 2 and calls[0].endswith(WORKFLOW)  # the workflow had been replaced
    assert tree_digest(repo) == before


def test_a_symlinked_workflow_is_written_through(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    shared = repo / "ci" / "images.yml"
    shared.parent.mkdir()
    shared.write_text("")  # an empty file: nothing mab would refuse to own
    shared.unlink()
    link = repo / WORKFLOW
    link.parent.mkdir(parents=True)
    link.symlink_to(Path("../../ci/images.yml"))
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    assert "through the link to" in err
    assert link.is_symlink()
    assert shared.read_text().startswith("# Managed by `mab init-ci`")
    assert mab("init-ci", str(repo), "--check")[0] == 0


def test_a_second_run_waits_for_the_lock_then_refuses(
    mab: Mab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    before = tree_digest(repo)
    monkeypatch.setattr(writeset, "LOCK_WAIT_S", 0.3)
    with writeset.repo_lock(repo):
        run = mab("init-ci", str(repo))
    status, _, err = run
    assert status == EXIT_ENVIRONMENT and "another `mab init-ci` is writing" in err, err
    assert tree_digest(repo) == before  # the lock file is gone again too


def test_a_second_run_goes_on_once_the_first_is_done(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    released = threading.Event()

    def hold() -> None:
        with writeset.repo_lock(repo):
            time.sleep(0.5)
        released.set()

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.1)
    code, _, err = mab("init-ci", str(repo))
    holder.join()
    assert code == 0, err
    assert released.is_set()
    assert not writeset.lock_path(repo).exists()


def test_two_runs_at_once_leave_one_consistent_set(tmp_path: Path) -> None:
    repo = copy_fixture_repo("monorepo", tmp_path)
    argv = [sys.executable, "-m", "mab", "init-ci", str(repo)]
    runs = [
        subprocess.Popen([*argv, *extra], stderr=subprocess.PIPE, text=True)
        for extra in (["--strategy", "qemu"], ["--cache", "gha"])
    ]
    errors = [p.communicate(timeout=120)[1] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], errors
    check = subprocess.run([*argv, "--check"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    assert not writeset.lock_path(repo).exists()


@pytest.mark.parametrize("what", ["folder", "file"])
def test_a_link_out_of_the_repository_is_refused(mab: Mab, tmp_path: Path, what: str) -> None:
    """`.github` linking to a folder elsewhere (or the workflow to a file elsewhere): nothing is
    written there, the command says which link leaves the repository, exit 2."""
    repo = copy_fixture_repo("node", tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if what == "folder":
        (repo / ".github").symlink_to(elsewhere, target_is_directory=True)
        named = ".github is a link to"
    else:
        (repo / WORKFLOW).parent.mkdir(parents=True)
        (repo / WORKFLOW).symlink_to(elsewhere / "mab.yml")  # a file mab would create
        named = f"{WORKFLOW} is a link to"
    before = tree_digest(repo)
    code, _, err = mab("init-ci", str(repo), "--github")
    assert code == EXIT_USAGE, err
    assert named in err and "outside the repository" in err
    assert tree_digest(repo) == before
    assert list(elsewhere.iterdir()) == []


def test_a_rewritten_file_keeps_its_owner_and_hard_links(mab: Mab, tmp_path: Path) -> None:
    """Runs as root here, so the file can belong to someone else (uid 4321)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file another owner")
    repo = copy_fixture_repo("node", tmp_path)
    assert mab("init-ci", str(repo), "--github")[0] == 0
    workflow = repo / WORKFLOW
    text = workflow.read_text()
    workflow.write_text(text.replace("timeout-minutes: 60", "timeout-minutes: 61", 1))
    os.chown(workflow, 4321, 4321)
    twin = repo / "ci-copy.yml"
    os.link(workflow, twin)
    inode = workflow.stat().st_ino
    code, _, err = mab("init-ci", str(repo), "--github")
    assert code == 0, err
    st = workflow.stat()
    assert (st.st_uid, st.st_gid, st.st_ino, st.st_nlink) == (4321, 4321, inode, 2)
    assert twin.read_text() == text
