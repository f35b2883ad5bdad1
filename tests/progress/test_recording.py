"""`Recording.open` where the recording cannot go: a wrong path is the user's to fix (exit 2),
a read-only folder the machine's (exit 3, as the README's exit codes say), both before any
build starts and without touching what is there."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mab.errors import EXIT_ENVIRONMENT, EXIT_USAGE, MabError
from mab.progress.recording import Recording

PLATFORMS = ("linux/amd64",)
QA = Path(__file__).resolve().parents[1] / "fixtures" / "qa"


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder bind-mounted read-only onto itself (as root, permission bits are ignored, so a
    mode of 0o555 would not stop a write); skipped where mounting is not allowed."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "kept.rawjson").write_bytes((QA / "single-raw.rawjson").read_bytes())
    mounted = subprocess.run(
        ["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_folder_is_the_environment(read_only_folder: Path) -> None:
    target = read_only_folder / "kept.rawjson"
    with pytest.raises(MabError) as info:
        Recording.open(target, PLATFORMS)
    assert info.value.exit_code == EXIT_ENVIRONMENT
    assert "cannot write the recording: Read-only file system" in info.value.message
    assert info.value.hint and "writable folder" in info.value.hint
    assert target.read_bytes() == (QA / "single-raw.rawjson").read_bytes()


@pytest.mark.parametrize("where", ["missing/rec.rawjson", "a-file/rec.rawjson", "."])
def test_a_wrong_path_is_the_users(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("a file where a folder should be\n")
    with pytest.raises(MabError) as info:
        Recording.open(tmp_path / where, PLATFORMS)
    assert info.value.exit_code == EXIT_USAGE
    assert info.value.hint == "give --record a file path in an existing folder"
