"""A Dockerfile that copies what a checkout lacks (a `dist/` that `npm run build` makes): mab
names the maker and the `pre-build:` command; with that setting, CI runs it before the build."""

from __future__ import annotations

from pathlib import Path

from tests.commands.conftest import Mab
from tests.fixture_repos import copy_fixture_repo

COMMAND = "cd web && npm ci && npm run build"


def test_the_maker_and_the_pre_build_command_are_named(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("prebuild-dist", tmp_path)
    code, _, err = mab("init-ci", str(repo), "--default-branch", "main")
    assert code == 2
    assert "it copies web/dist, not in the repository (made by the build script of" in err
    assert f"        pre-build: {COMMAND}" in err


def test_with_pre_build_both_providers_run_it_before_the_build(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("prebuild-dist", tmp_path)
    (repo / ".mab.yml").write_text(
        f"images:\n  - name: site\n    dockerfile: Dockerfile\n    pre-build: {COMMAND}\n"
    )
    code, _, err = mab("init-ci", str(repo), "--github", "--gitlab", "--default-branch", "main")
    assert code == 0, err
    github = (repo / ".github/workflows/mab.yml").read_text()
    assert f"pre-build: {COMMAND}" in github
    pre, build = github.index("id: mab-pre-build"), github.index("id: mab-build\n")
    assert pre < build and "MAB_PRE_BUILD: ${{ matrix.image.pre-build }}" in github
    gitlab = (repo / ".gitlab/ci/mab.yml").read_text()
    assert f"MAB_PRE_BUILD: {COMMAND}" in gitlab
    assert gitlab.index('- sh -ec "$MAB_PRE_BUILD"\n    - mab_build\n') > 0
    assert mab("init-ci", str(repo), "--check")[0] == 0
