"""A Dockerfile that copies what a checkout lacks (a `dist/` that `npm run build` makes): mab
runs the maker first when it knows it (`pre-build`), and `.mab.yml`'s `pre-build:` replaces it."""

from __future__ import annotations

from pathlib import Path

from tests.commands.conftest import Mab
from tests.fixture_repos import copy_fixture_repo

COMMAND = "cd web && npm ci && npm run build"


def test_the_maker_is_found_and_run_first(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("prebuild-dist", tmp_path)
    code, out, err = mab("init-ci", str(repo), "--explain")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("  pre-build"))
    assert row.split("<-") == [
        f"  pre-build   {COMMAND}  ",
        " it copies web/dist, which the build script of web/package.json makes",
    ]
    code, _, err = mab("init-ci", str(repo), "--default-branch", "main")
    assert code == 0, err
    assert f"pre-build: {COMMAND}" in (repo / ".github/workflows/mab.yml").read_text()


def test_an_unknown_maker_is_named_and_the_image_left_out(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("prebuild-dist", tmp_path)
    (repo / "web/package.json").write_text('{"name": "web"}\n')  # no build script
    code, _, err = mab("init-ci", str(repo), "--default-branch", "main")
    assert code == 2
    assert "Dockerfile: it copies web/dist, not in the repository (made by something" in err


def test_with_pre_build_both_providers_run_it_before_the_build(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("prebuild-dist", tmp_path)
    (repo / ".mab.yml").write_text(
        f"images:\n  - name: site\n    dockerfile: Dockerfile\n    pre-build: {COMMAND} --x\n"
    )
    code, _, err = mab("init-ci", str(repo), "--github", "--gitlab", "--default-branch", "main")
    assert code == 0, err
    github = (repo / ".github/workflows/mab.yml").read_text()
    assert f"pre-build: {COMMAND} --x" in github
    pre, build = github.index("id: mab-pre-build"), github.index("id: mab-build\n")
    assert pre < build and "MAB_PRE_BUILD: ${{ matrix.image.pre-build }}" in github
    gitlab = (repo / ".gitlab/ci/mab.yml").read_text()
    assert f"MAB_PRE_BUILD: {COMMAND} --x" in gitlab
    assert gitlab.index('- sh -ec "$MAB_PRE_BUILD"\n    - mab_build\n') > 0
    assert mab("init-ci", str(repo), "--check")[0] == 0
