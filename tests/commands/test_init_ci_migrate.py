"""Re-running `mab init-ci` over a workflow an older mab wrote, with one job pair per image and
the team's own edits, brings it to one `build` and one `merge` job and keeps every edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.commands.conftest import Mab
from tests.commands.test_init_ci import WORKFLOW
from tests.fixture_repos import copy_fixture_repo
from tests.generators.test_github_size import RELEASE_BLOCK
from tests.generators.test_validators import _run, _tool

OLD_WORKFLOW = Path(__file__).parents[1] / "fixtures" / "workflows" / "monorepo-per-image-jobs.yml"


def _migrated(mab: Mab, tmp_path: Path) -> tuple[Path, str]:
    repo = copy_fixture_repo("monorepo", tmp_path)
    (repo / WORKFLOW).parent.mkdir(parents=True)
    shutil.copy(OLD_WORKFLOW, repo / WORKFLOW)
    code, _, err = mab("init-ci", str(repo))
    assert code == 0, err
    return repo, (repo / WORKFLOW).read_text()


def test_per_image_jobs_become_one_build_and_one_merge(mab: Mab, tmp_path: Path) -> None:
    _, text = _migrated(mab, tmp_path)
    doc = yaml.safe_load(text)
    assert list(doc["jobs"]) == ["build", "merge", "sign", "verify", "notify"]
    images = [e["name"] for e in doc["jobs"]["build"]["strategy"]["matrix"]["image"]]
    assert images == ["api", "worker", "migrate", "web"]
    # half the old size, plus the signing and verification the old file did not have
    assert len(text.splitlines()) < len(OLD_WORKFLOW.read_text().splitlines()) / 2 + RELEASE_BLOCK


def test_the_teams_edits_survive_the_migration(mab: Mab, tmp_path: Path) -> None:
    _, text = _migrated(mab, tmp_path)
    doc = yaml.safe_load(text)
    build = doc["jobs"]["build"]
    # A key the team added to a per-image job, with its comment.
    assert "continue-on-error: false  # the team wants a red run on any failure" in text
    # Their step in the worker's job: still after the check-out, with its comment, and still
    # only for the worker.
    ids = [s.get("id", s.get("name")) for s in build["steps"]]
    assert ids.index("Lint the worker") == ids.index("mab-checkout") + 1
    lint = build["steps"][ids.index("Lint the worker")]
    assert lint["if"] == "matrix.image.name == 'worker'"
    assert "# The worker's lint gate runs before its image is built." in text
    # Their job, its comment, and what it waits for.
    assert doc["jobs"]["notify"]["needs"] == "merge"
    assert "# Post to the team channel once the images are out.\n  notify:" in text
    assert '- cron: "5 4 * * 0"  # weekly, for base image updates' in text


def test_a_migrated_workflow_is_stable_and_valid(mab: Mab, tmp_path: Path) -> None:
    repo, text = _migrated(mab, tmp_path)
    assert mab("init-ci", str(repo), "--check")[0] == 0
    assert mab("init-ci", str(repo))[0] == 0
    assert (repo / WORKFLOW).read_text() == text
    path = str(repo / WORKFLOW)
    schema = [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", path]
    for argv in (schema, [_tool("actionlint"), "-no-color", path]):
        result = _run(argv)
        assert result.returncode == 0, result.stdout + result.stderr
    zizmor = _run([_tool("zizmor"), "--offline", "--min-severity", "medium", path])
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
