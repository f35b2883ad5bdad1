"""The fixture corpus: realistic repository shapes under tests/fixtures/repos/<name>/.

Git cannot track a directory named `.git`, so each fixture keeps its git metadata in `dot-git/`;
`copy_fixture_repo` copies a fixture and renames that back to `.git`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPOS_DIR = Path(__file__).parent / "fixtures" / "repos"
FIXTURE_REPOS = (
    "node",
    "python-uv",
    "python-poetry",
    "go",
    "rust",
    "monorepo",
    "nolock",
    "custom-workflow",
)


def copy_fixture_repo(name: str, dest: Path) -> Path:
    """Copy fixture repo `name` to `dest/name` (with `dot-git` renamed to `.git`); return it."""
    source = REPOS_DIR / name
    if not source.is_dir():
        raise FileNotFoundError(f"no fixture repo named {name!r} in {REPOS_DIR}")
    target = dest / name
    shutil.copytree(source, target)
    dot_git = target / "dot-git"
    if dot_git.is_dir():
        dot_git.rename(target / ".git")
    return target
