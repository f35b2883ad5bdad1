"""`mab init-ci` on repository shapes it used to get wrong: re-runs that flipped a file, the
wrong default branch, Dockerfiles that are not images, compose overrides and variables, no
remote. Each shape is a fixture under tests/fixtures/repos/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from mab.detection.detect import detect
from mab.detection.project import ImageRequest
from tests.commands.conftest import Mab
from tests.commands.test_init_ci import tree_digest
from tests.fixture_repos import FIXTURE_REPOS, REFUSED_REPOS, SHAPE_REPOS, copy_fixture_repo

WORKFLOW = ".github/workflows/mab.yml"
README_DEMO = Path(__file__).parents[1] / "e2e" / "project"


def workflow(repo: Path) -> str:
    return (repo / WORKFLOW).read_text(encoding="utf-8")


def settings(repo: Path) -> dict[str, object]:
    data = yaml.safe_load((repo / ".mab.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("provider", ["--github", "--gitlab"])
@pytest.mark.parametrize("name", FIXTURE_REPOS + SHAPE_REPOS)
def test_check_passes_after_a_run_and_a_second_run_changes_nothing(
    mab: Mab, tmp_path: Path, name: str, provider: str
) -> None:
    repo = copy_fixture_repo(name, tmp_path)
    code, _, err = mab("init-ci", str(repo), provider, "--force")
    assert code == 0, err
    after_first = tree_digest(repo)
    code, _, err = mab("init-ci", str(repo), "--check")
    assert code == 0, err
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    assert tree_digest(repo) == after_first


def test_the_missing_cache_hint_is_kept_and_goes_when_the_mount_comes(
    mab: Mab, tmp_path: Path
) -> None:
    repo = copy_fixture_repo("node-nocache", tmp_path)
    assert mab("init-ci", str(repo))[0] == 0
    assert "# mab: No dependency cache for npm: Dockerfile mounts no cache" in workflow(repo)
    assert mab("init-ci", str(repo), "--check")[0] == 0
    dockerfile = repo / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            "RUN npm ci", "RUN --mount=type=cache,target=/root/.npm npm ci"
        )
    )
    assert mab("init-ci", str(repo))[0] == 0
    assert "No dependency cache" not in workflow(repo)
    assert mab("init-ci", str(repo), "--check")[0] == 0


# --- the default branch ---------------------------------------------------------------------


def test_a_feature_branch_alone_is_refused(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("feature-branch", tmp_path)
    before = tree_digest(repo)
    code, _, err = mab("init-ci", str(repo))
    assert code == 2
    assert "cannot tell the default branch" in err and "add-ci" in err
    assert "--default-branch" in err and "Traceback" not in err
    assert tree_digest(repo) == before
    code, _, err = mab("init-ci", str(repo), "--default-branch", "main")
    assert code == 0, err
    on = yaml.safe_load(workflow(repo))["on"]
    assert on["push"]["branches"] == ["main"]
    assert on["pull_request"]["branches"] == ["main"]
    assert settings(repo)["default-branch"] == "main"
    assert mab("init-ci", str(repo), "--check")[0] == 0  # the file's choice now stands


def test_a_settings_file_without_default_branch_still_detects_it(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("master-config", tmp_path)
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    assert "default branch: master (master is checked out" in err
    assert yaml.safe_load(workflow(repo))["on"]["push"]["branches"] == ["master"]
    text = (repo / ".mab.yml").read_text()
    assert text.splitlines()[1] == "# Our choices; the rest is detected."  # after the schema
    assert settings(repo)["default-branch"] == "master"


# --- which Dockerfiles are images -----------------------------------------------------------


def test_compose_override_services_and_variables(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("compose-override", tmp_path)
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    text = workflow(repo)
    assert "${DOMAIN" not in text and "$$" not in text and "SENTRY_DSN" not in text
    assert "VITE_API_URL=https://api.example.test" in text
    assert "GREETING=costs $5" in text and "BUILD_CHANNEL=stable" in text
    assert "NODE_ENV=development" in text  # the override's arg wins, the base's others stay
    assert "APP_MODULE=app.main:dev_app" in text
    assert "build arg SENTRY_DSN left out: variable SENTRY_DSN is not set" in err
    # The playwright service exists only in the override; it runs tests, so it is left out...
    assert "Dockerfile.playwright" not in text
    assert (
        "frontend/Dockerfile.playwright: compose.yaml: service playwright builds it: a test runner"
        in err
    )
    assert "      - name: playwright" in err
    assert mab("init-ci", str(repo), "--check")[0] == 0
    # ...and named in .mab.yml, it is built as the override defines it: the repository as context.
    config = repo / ".mab.yml"
    config.write_text(config.read_text() + "images:\n  - name: playwright\n")
    requests = (ImageRequest("playwright"),)
    builds = {i.name: (i.context, i.dockerfile) for i in detect(repo, requests).images}
    assert builds == {
        "backend": ("backend", "backend/Dockerfile"),
        "frontend": ("frontend", "frontend/Dockerfile"),
        "playwright": (".", "frontend/Dockerfile.playwright"),
    }
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    assert "frontend/Dockerfile.playwright" in workflow(repo)
    assert "VITE_API_URL=http://backend:8000" in workflow(repo)
    assert mab("init-ci", str(repo), "--check")[0] == 0


def test_an_unknown_image_name_in_settings_is_a_warning(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    (repo / ".mab.yml").write_text("version: 1\nimages:\n  - name: ghost\n")
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    assert ".mab.yml: images: ghost: no image has that name" in err


def test_test_example_and_unbuilt_variant_dockerfiles_are_left_out(
    mab: Mab, tmp_path: Path
) -> None:
    repo = copy_fixture_repo("dockerfile-variants", tmp_path)
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    text = workflow(repo)
    assert "Dockerfile.debug" in text  # the Makefile builds it
    for left_out in (
        "tests/Dockerfile",
        "examples/client/Dockerfile",
        "Dockerfile.dev",
        "release.Dockerfile",
    ):
        assert left_out not in text
        assert f"  {left_out}: " in err
    assert "release.Dockerfile: it copies bin/inventory, not in the repository" in err
    assert "add it to .mab.yml" in err
    # `images:` in .mab.yml brings one back.
    config = repo / ".mab.yml"
    config.write_text(
        config.read_text()
        + "images:\n  - name: integration\n    dockerfile: tests/Dockerfile\n    context: .\n"
    )
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    assert "tests/Dockerfile" in workflow(repo)
    assert "  tests/Dockerfile: " not in err
    assert mab("init-ci", str(repo), "--check")[0] == 0


def test_a_dockerfile_that_is_not_text_is_refused(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("binary-dockerfile", tmp_path)
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    assert "Dockerfile: not a Dockerfile, it is not a text file (it holds NUL bytes)" in err
    assert "app/Dockerfile.legacy: not a Dockerfile, it is not UTF-8 text" in err
    text = workflow(repo)
    assert "app/Dockerfile" in text and "Dockerfile.legacy" not in text
    assert "context: ." not in text  # no job for the root's "Dockerfile"


def test_only_non_text_dockerfiles_is_a_clear_error(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("binary-dockerfile", tmp_path)
    shutil.rmtree(repo / "app")
    before = tree_digest(repo)
    code, _, err = mab("init-ci", str(repo))
    assert code == 2
    assert "not a text file" in err and "no Dockerfile found" in err
    assert "Traceback" not in err
    assert tree_digest(repo) == before


def test_no_remote_needs_an_image_before_writing(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("no-remote", tmp_path)
    before = tree_digest(repo)
    code, _, err = mab("init-ci", str(repo))
    assert code == 2
    assert "no git remote" in err and "--image" in err and "Traceback" not in err
    assert tree_digest(repo) == before
    # --check writes nothing: it warns, and reports the files as not written yet.
    code, _, err = mab("init-ci", str(repo), "--check")
    assert code == 1 and "warning: no git remote" in err
    assert tree_digest(repo) == before
    code, out, err = mab("init-ci", str(repo), "--dry-run")
    assert code == 0, err
    assert "warning: no git remote" in err and "registry.example.com" in out
    assert tree_digest(repo) == before
    code, _, err = mab("init-ci", str(repo), "--image", "ghcr.io/acme/hello")
    assert code == 0, err
    assert "registry.example.com" not in workflow(repo)
    assert settings(repo)["image"] == "ghcr.io/acme/hello"
    assert mab("init-ci", str(repo), "--check")[0] == 0


@pytest.mark.parametrize("name", REFUSED_REPOS)
def test_refused_repositories_are_left_byte_for_byte(mab: Mab, tmp_path: Path, name: str) -> None:
    repo = copy_fixture_repo(name, tmp_path)
    before = tree_digest(repo)
    for extra in ((), ("--gitlab",), ("--github", "--platform", "linux/amd64")):
        code, _, err = mab("init-ci", str(repo), *extra)
        assert code == 2, err
        assert "Traceback" not in err
    assert tree_digest(repo) == before


def test_the_readme_demo_builds_only_the_real_image(mab: Mab) -> None:
    code, out, err = mab("init-ci", "--dry-run", str(README_DEMO))
    assert code == 0, err
    assert "Dockerfile.fail" not in out and "Dockerfile.cross" not in out
    assert "variants/Dockerfile.fail: a Dockerfile variant" in err
    assert [(i.context, i.dockerfile) for i in detect(README_DEMO).images] == [(".", "Dockerfile")]


def test_mab_build_finds_the_ci_image_of_an_image_added_by_hand(tmp_path: Path) -> None:
    from mab.commands.running import ci_image
    from mab.config.file import load_settings
    from mab.engine.buildcmd import BuildRequest

    repo = copy_fixture_repo("dockerfile-variants", tmp_path)
    request = BuildRequest(context=str(repo), file=str(repo / "tests" / "Dockerfile"))
    assert ci_image(repo, request, load_settings(repo)) is None  # left out: CI builds no such image
    (repo / ".mab.yml").write_text(
        "version: 1\nimages:\n  - name: integration\n    dockerfile: tests/Dockerfile\n"
        "    context: .\n"
    )
    found = ci_image(repo, request, load_settings(repo))
    assert found == "ghcr.io/acme/inventory/integration"
