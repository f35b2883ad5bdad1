"""`mab init-ci` end to end over the fixture corpus: files written, re-runs, bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from ruamel.yaml import YAML

from tests.commands.conftest import Mab
from tests.fixture_repos import FIXTURE_REPOS, copy_fixture_repo

WORKFLOW = ".github/workflows/mab.yml"


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("name", FIXTURE_REPOS)
def test_writes_workflow_and_settings_then_check_passes(
    mab: Mab, tmp_path: Path, name: str
) -> None:
    repo = copy_fixture_repo(name, tmp_path)
    code, _, err = mab("init-ci", str(repo), "--github", "--force")
    assert code == 0, err
    text = (repo / WORKFLOW).read_text()
    assert text.startswith("# Managed by `mab init-ci`")
    assert yaml.safe_load(text) == YAML(typ="safe").load(text)
    assert (repo / ".mab.yml").exists()
    code, _, err = mab("init-ci", str(repo), "--check")
    assert code == 0, err
    assert "up to date" in err


def test_dry_run_prints_a_diff_and_writes_nothing(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    before = tree_digest(repo)
    code, out, _ = mab("init-ci", str(repo), "--dry-run")
    assert code == 0
    assert f"+++ b/{WORKFLOW}" in out and "+++ b/.mab.yml" in out
    assert tree_digest(repo) == before


def test_check_fails_when_the_workflow_drifted(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    assert mab("init-ci", str(repo))[0] == 0
    path = repo / WORKFLOW
    path.write_text(path.read_text().replace("linux/arm64", "linux/s390x", 1))
    code, _, err = mab("init-ci", str(repo), "--check")
    assert code == 1
    assert f"{WORKFLOW}: is out of date" in err


def test_settings_are_kept_for_the_next_run(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    assert mab("init-ci", str(repo), "--strategy", "qemu", "--cache", "gha")[0] == 0
    settings = yaml.safe_load((repo / ".mab.yml").read_text())
    assert settings["strategy"] == "qemu" and settings["cache"] == "gha"
    first = (repo / WORKFLOW).read_text()
    assert mab("init-ci", str(repo))[0] == 0
    assert (repo / WORKFLOW).read_text() == first


def test_user_comment_extra_step_and_job_survive_a_rerun(mab: Mab, tmp_path: Path) -> None:
    # The fixture carries a workflow an older mab wrote, then customised by its team: comments,
    # a schedule trigger, a smoke-test step inside mab's job, and a job of their own.
    repo = copy_fixture_repo("custom-workflow", tmp_path)
    before = (repo / WORKFLOW).read_text()
    assert "v4.2.2" in before
    code, _, err = mab("init-ci", str(repo), "--platform", "linux/amd64,linux/arm64,linux/arm/v7")
    assert code == 0, err
    after = (repo / WORKFLOW).read_text()
    assert "name: Container images  # shown on the Actions tab" in after
    assert "# Our smoke test must pass before any image is built." in after
    assert after.index("id: mab-checkout") < after.index("./scripts/smoke.sh")
    assert after.index("./scripts/smoke.sh") < after.index("id: mab-buildx")
    assert "# weekly rebuild for base image updates" in after
    assert "# Tell the team when a release is out." in after and "notify:" in after
    assert "v4.2.2" not in after and "# v7.0.1" in after
    assert "linux/arm/v7" in after
    assert yaml.safe_load(after)["jobs"]["notify"]["steps"][0]["run"] == 'echo "released"'
    assert mab("init-ci", str(repo), "--check")[0] == 0


def test_no_dockerfile_is_a_clear_error(mab: Mab, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("nothing to build\n")
    code, out, err = mab("init-ci", str(tmp_path))
    assert code == 2
    assert "no Dockerfile found" in err and "Traceback" not in err
    assert out == ""
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]


def test_invalid_yaml_on_disk_is_named_and_left_untouched(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    assert mab("init-ci", str(repo))[0] == 0
    path = repo / WORKFLOW
    broken = path.read_bytes() + b"jobs: [unclosed\n  x: {\n"
    path.write_bytes(broken)
    before = tree_digest(repo)
    code, _, err = mab("init-ci", str(repo))
    assert code == 2
    assert f"{WORKFLOW}:" in err and "Traceback" not in err
    assert tree_digest(repo) == before
    assert path.read_bytes() == broken


def test_a_workflow_mab_did_not_write_needs_force(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    path = repo / WORKFLOW
    path.parent.mkdir(parents=True)
    mine = (
        b"name: mine\non: push\njobs:\n  test:\n    runs-on: ubuntu-24.04\n"
        b"    steps:\n      - run: make test\n"
    )
    path.write_bytes(mine)
    code, _, err = mab("init-ci", str(repo))
    assert code == 4
    assert "--force" in err
    assert path.read_bytes() == mine
    assert not (repo / ".mab.yml").exists()
    code, _, err = mab("init-ci", str(repo), "--force")
    assert code == 0, err
    merged = path.read_text()
    assert "make test" in merged and "id: mab-" in merged


def test_unknown_platform_lists_valid_forms(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    code, _, err = mab("init-ci", str(repo), "--platform", "linux/arm65")
    assert code == 2
    assert "unknown platform 'linux/arm65'" in err and "linux/arm64" in err


def test_invalid_settings_file_is_reported_by_field(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    (repo / ".mab.yml").write_text("strategy: fast\nplatforms: [linux/amd64]\ncolour: red\n")
    before = tree_digest(repo)
    code, _, err = mab("init-ci", str(repo))
    assert code == 2
    assert "mab: error: .mab.yml:1: strategy: 'fast' is not one of: native, qemu" in err
    assert tree_digest(repo) == before
    (repo / ".mab.yml").write_text("strategy: qemu\nplatforms: [linux/amd64]\ncolour: red\n")
    code, _, err = mab("init-ci", str(repo))
    assert code == 2
    assert ".mab.yml:3: colour: unknown setting (known: cache, default-branch," in err


def test_dry_run_and_check_together_are_refused(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("node", tmp_path)
    assert mab("init-ci", str(repo), "--dry-run", "--check")[0] == 2


GITLAB_ROOT = ".gitlab-ci.yml"
GITLAB_MAB = ".gitlab/ci/mab.yml"


def test_gitlab_include_is_added_and_the_users_pipeline_kept(mab: Mab, tmp_path: Path) -> None:
    repo = copy_fixture_repo("monorepo", tmp_path)
    original = (
        "# our pipeline\nstages: [test]\n\ntest:\n  stage: test\n  script: [make test]  # keep\n"
    )
    (repo / GITLAB_ROOT).write_text(original)
    code, _, err = mab("init-ci", str(repo), "--gitlab")
    assert code == 0, err
    root = (repo / GITLAB_ROOT).read_text()
    assert root.startswith("# our pipeline\n")
    assert "script: [make test]  # keep" in root
    assert yaml.safe_load(root)["include"] == [{"local": GITLAB_MAB}]
    jobs = yaml.safe_load((repo / GITLAB_MAB).read_text())
    stages = {job["stage"] for job in jobs.values() if isinstance(job, dict) and "stage" in job}
    assert stages <= set(yaml.safe_load(root)["stages"])
    assert mab("init-ci", str(repo), "--check")[0] == 0
    # Switching to the component form replaces mab's inline jobs and keeps the include.
    code, _, err = mab("init-ci", str(repo), "--use-component", "gitlab.com/acme/ci/mab-build@1")
    assert code == 0, err
    doc = yaml.safe_load((repo / GITLAB_MAB).read_text())
    assert list(doc) == ["include"]
    assert all(i["component"] == "gitlab.com/acme/ci/mab-build@1" for i in doc["include"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("stages: [build\n", f"{GITLAB_ROOT}:"),
        ("include: 42\n", "`include:` has a form mab cannot edit"),
        ("mab-build-api:\n  script: [echo mine]\n", "already defines job(s) mab generates"),
    ],
)
def test_gitlab_root_file_problems_write_nothing(
    mab: Mab, tmp_path: Path, content: str, message: str
) -> None:
    repo = copy_fixture_repo("monorepo", tmp_path)
    (repo / GITLAB_ROOT).write_text(content)
    before = tree_digest(repo)
    code, _, err = mab("init-ci", str(repo), "--gitlab")
    assert code == 2
    assert message in err and "Traceback" not in err
    assert tree_digest(repo) == before
