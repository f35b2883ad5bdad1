"""Two shell-runner jobs starting at once on one real engine (scripts/engine-up.sh) both succeed.

Each is the `shell` profile's build job, run with `sh -e` and the host's Docker, for its own
pipeline (two pushes at once); they share the runner's temporary directory (the builder lock)
and its buildx state (a `BUILDX_CONFIG` of the test's own, so no other test sees the builder).
The engine has no BuildKit image to start a `docker-container` builder with, so each job makes
`mab-builder`, finds it cannot start, removes the builder it made, and builds with the current
(`docker` driver) builder: the path where, before, one job removed the other's builder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from mab.config.settings import GitlabSettings, Settings
from mab.detection.project import DockerfileInfo, Image, Project, Stage
from mab.files.yamlio import dump_roundtrip
from mab.generators import gitlab
from tests import engine_env as engine_check
from tests.gitlab.fakejob import job_env

BASE = "localhost:5000/base/busybox:1"


@pytest.mark.engine
@pytest.mark.usefixtures("engine_ready")
def test_two_shell_jobs_at_once_on_one_engine_both_build_and_push(tmp_path: Path) -> None:
    repo = f"{engine_check.REGISTRY}/mabtest/gitlab-two-{os.getpid()}"
    info = DockerfileInfo("Dockerfile", (Stage(0, BASE, 1),))
    project = Project(images=(Image("app", ".", "Dockerfile", info=info),))
    settings = Settings(  # no SBOM: BuildKit's scanner image is on Docker Hub, out of reach
        gitlab=GitlabSettings(runner="shell"), image=repo, platforms=("linux/amd64",), sbom=False
    )
    doc = yaml.safe_load(dump_roundtrip(gitlab.pipeline(project, settings)))
    script = "\n".join([*doc[".mab-runner"]["before_script"], *doc["mab-build-app"]["script"]])
    shared = {
        "TMPDIR": str(tmp_path / "runner-tmp"),  # one runner host: one lock file
        "BUILDX_CONFIG": str(tmp_path / "buildx"),
        "MAB_BUILDER": f"mab-builder-{os.getpid()}",
        "MAB_REGISTRY_USER": "mab",  # the local registry on :5000 is open: any login works
        "MAB_REGISTRY_PASSWORD": "any",
    }
    (tmp_path / "runner-tmp").mkdir()
    jobs = []
    for job in ("1", "2"):
        project_dir = tmp_path / f"job-{job}"
        project_dir.mkdir()
        (project_dir / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo job {job} > /job\n")
        ci = {**shared, "CI_JOB_ID": f"{os.getpid()}{job}", "CI_PIPELINE_ID": f"70{job}"}
        env = job_env(doc, "mab-build-app", **ci)
        assert env is not None
        jobs.append(
            subprocess.Popen(
                ["sh", "-e", "-c", script],
                cwd=project_dir,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [j.communicate(timeout=600)[0] for j in jobs]
    for job, output in zip(jobs, outputs, strict=True):
        assert job.returncode == 0, output[-4000:]
    for n, output in enumerate(outputs, start=1):
        digest = (tmp_path / f"job-{n}/.mab/app/digests/linux-amd64").read_text().strip()
        assert digest.startswith("sha256:"), output[-2000:]
        pushed = subprocess.run(
            ["docker", "buildx", "imagetools", "inspect", f"{repo}@{digest}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert pushed.returncode == 0, pushed.stderr
