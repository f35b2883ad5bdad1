"""The `mab` runner profile (`mab init-ci --gitlab --gitlab-runner mab`): build jobs that install
mab and run `mab build --ci`, with the summaries as artifacts and the metrics as GitLab's
metrics report.

The jobs' shell runs against fake `docker`, `python3` and `mab` commands here (what they are
called with); `tests/gitlab/test_gitlab_ci_local.py` runs the profile's pipeline for real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mab import __version__
from mab.config.distribution import DISTRIBUTION
from mab.config.settings import GitlabSettings, Settings
from mab.detection.detect import detect
from mab.files.yamlio import dump_roundtrip
from mab.generators import gitlab
from mab.progress.ci import METRICS_FILE, SUMMARY_JSON, SUMMARY_MARKDOWN
from tests.fixture_repos import copy_fixture_repo
from tests.gitlab.fakejob import JobRunner

MAB = Settings(gitlab=GitlabSettings(runner="mab"))
# python3 -m venv DIR: a venv whose python is this script and whose mab is FAKE_MAB.
FAKE_PYTHON = r"""#!/bin/sh
case "$1 $2" in
  "-m venv")
    for dir; do :; done
    mkdir -p "$dir/bin"
    cp "$MAB_TEST_BIN/python3" "$dir/bin/python"
    cp "$MAB_TEST_BIN/fake-mab" "$dir/bin/mab" ;;
  "-m pip") echo "pip $*" >> "$MAB_TEST_LOG" ;;
esac
"""
FAKE_MAB = r"""#!/bin/sh
echo "mab $*" >> "$MAB_TEST_LOG"
[ "$1" = "--version" ] && exit 0
while [ $# -gt 0 ]; do
  if [ "$1" = "--metadata-file" ]; then
    printf '{"containerimage.digest": "sha256:%064d"}\n' 7 > "$2"
  fi
  shift
done
mkdir -p "$MAB_REPORT_DIR"
for name in summary.json summary.md metrics.txt; do echo "$name" > "$MAB_REPORT_DIR/$name"; done
exit "${MAB_TEST_MAB_EXIT:-0}"
"""


def mab_pipeline(tmp: Path, settings: Settings = MAB) -> dict[str, Any]:
    project = detect(copy_fixture_repo("node", tmp))
    data: dict[str, Any] = yaml.safe_load(dump_roundtrip(gitlab.pipeline(project, settings)))
    return data


@pytest.fixture
def jobs(tmp_path: Path) -> JobRunner:
    runner = JobRunner(tmp_path)
    for name, text in (("python3", FAKE_PYTHON), ("fake-mab", FAKE_MAB)):
        (runner.bin / name).write_text(text)
        (runner.bin / name).chmod(0o755)
    return runner


def test_build_jobs_install_mab_and_keep_its_reports(tmp_path: Path) -> None:
    doc = mab_pipeline(tmp_path)
    template, build = doc[".mab-runner"], doc["mab-build-node"]
    assert template["variables"]["MAB_PIP_SPEC"] == f"{DISTRIBUTION}=={__version__}"
    assert "mab_install" in build["script"]
    assert build["script"].index("mab_install") < build["script"].index("mab_ci_build")
    assert build["artifacts"] == {
        "when": "always",
        "paths": [".mab/node/digests/", ".mab/node/report/"],
        "reports": {"metrics": f".mab/node/report/{METRICS_FILE}"},
        "expire_in": "1 week",
    }
    assert "mab_install" not in doc["mab-merge-node"]["script"]
    assert template["image"].endswith("-cli") and template["services"]  # Docker-in-Docker
    assert "cache" in build  # the dependency caches, as with dind


def test_the_job_runs_mab_build_ci_per_platform_with_the_caches(
    jobs: JobRunner, tmp_path: Path
) -> None:
    doc = mab_pipeline(tmp_path / "repo")
    env = {"MAB_TEST_BIN": str(jobs.bin), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    calls = jobs.run(doc, "mab-build-node", entry=1, **env)
    spec = doc[".mab-runner"]["variables"]["MAB_PIP_SPEC"]
    assert any(c.startswith("pip -m pip install") and c.endswith(spec) for c in calls)
    (build,) = [c for c in calls if c.startswith("mab build")]
    image = "registry.example.com/acme/app"
    assert build.startswith(
        "mab build --ci --platform linux/arm64 --file Dockerfile --cache-backend registry"
        f" --cache-prefix {image} . -- --output type=image,name={image},push-by-digest=true"
    )
    assert "--cache-read-only" not in build  # the default branch writes the caches
    report = tmp_path / ".mab/node/report"
    assert {p.name for p in report.iterdir()} == {SUMMARY_JSON, SUMMARY_MARKDOWN, METRICS_FILE}
    digest = (tmp_path / ".mab/node/digests/linux-arm64").read_text().strip()
    assert digest == "sha256:" + "0" * 63 + "7"
    feature = jobs.run(doc, "mab-build-node", CI_COMMIT_BRANCH="feature", **env)
    (build,) = [c for c in feature if c.startswith("mab build")]
    assert " --cache-read-only " in build


def test_a_failed_build_keeps_its_reports_and_fails_the_job(
    jobs: JobRunner, tmp_path: Path
) -> None:
    doc = mab_pipeline(tmp_path / "repo")
    env = {"MAB_TEST_BIN": str(jobs.bin), "MAB_TEST_MAB_EXIT": "1"}
    jobs.run(doc, "mab-build-node", fails=True, **env)
    assert (tmp_path / ".mab/node/report" / SUMMARY_JSON).exists()
    assert not (tmp_path / ".mab/node/digests/linux-amd64").exists()
