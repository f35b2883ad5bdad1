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
# Shapes init-ci used to get wrong (each with its test in tests/commands/test_init_ci_repos.py).
SHAPE_REPOS = (
    "node-nocache",  # no cache mount: a hint comment in the workflow
    "compose-override",  # compose.override.yaml adds a service; ${VAR?err}, $$ and .env
    "dockerfile-variants",  # tests/, examples/ and an unbuilt Dockerfile.dev beside real images
    "binary-dockerfile",  # a "Dockerfile" of random bytes, one in Latin-1
    "master-config",  # on master, with a .mab.yml that names no default branch
    "bake-subfolder",  # docker/docker-bake.hcl: paths from the root, a default group, e2e/
)
# Repositories where init-ci must refuse to write (exit 2), leaving every file as it was.
REFUSED_REPOS = (
    "feature-branch",  # only a feature branch checked out, no origin/HEAD
    "no-remote",  # no git remote, so no registry to push to
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
