"""On the real engine: a build job's dependency cache carried through BuildKit and back.

The Docker-in-Docker profile's build job restores GitLab's cache into `.mab-cache/`, copies it
into the Dockerfile's cache mount (`mab_cache_in`), builds, and copies the mount back out
(`mab_cache_out`) for GitLab to save. Here the job's own lines run with `sh` and the functions
of generators/gitlab/resources/mab-cache.sh against the host's engine; GitLab's restore and save
are the folder the test fills and reads (no GitLab runs here), and the build in between is a
`docker buildx build` of the project's Dockerfile, as `mab_build` would run it.

Two mounts: a plain one for root, and one written for a non-root user
(`uid=1000,gid=1000,mode=0775`). BuildKit keys a cache mount on those options, so the copies
must carry them to reach the cache the build reads, and the user must be able to write to what
was copied in (before, neither held: the copy filled another cache, as root).
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from mab.config.settings import Settings
from mab.detection.dockerfile import parse_dockerfile
from mab.detection.project import Image, Lockfile, Project
from mab.files.yamlio import dump_roundtrip
from mab.generators import gitlab
from mab.generators.gitlab.shell import functions
from tests import engine_env

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("engine_ready")]


def _job_lines(dockerfile: str) -> tuple[list[str], list[str]]:
    """The build job's script lines before and after `mab_build`, as generated."""
    info = parse_dockerfile(dockerfile, "Dockerfile")
    lockfiles = (Lockfile("package-lock.json", "npm"),)
    project = Project(images=(Image("app", ".", "Dockerfile", info=info, lockfiles=lockfiles),))
    doc = yaml.safe_load(dump_roundtrip(gitlab.pipeline(project, Settings())))
    script: list[str] = doc["mab-build-app"]["script"]
    at = script.index("mab_build")
    return script[:at], script[at + 1 :]


def _sh(lines: list[str], cwd: Path, tmp_path: Path) -> None:
    text = "\n".join([functions("mab-build.sh"), functions("mab-cache.sh"), *lines])
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MAB_BUSYBOX_IMAGE": engine_env.BASE_IMAGE,
        "CI_JOB_ID": uuid.uuid4().hex[:12],
        "MAB_DIR": str(tmp_path / "mab"),
        "DOCKER_CONFIG": str(Path.home() / ".docker"),
    }
    done = subprocess.run(
        ["sh", "-e", "-c", text], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


@pytest.mark.parametrize(
    ("user", "options"),
    [("1000:1000", ",uid=1000,gid=1000,mode=0775"), ("0:0", "")],
    ids=["non-root", "root"],
)
def test_a_cache_mount_is_carried_in_and_back_out(tmp_path: Path, user: str, options: str) -> None:
    home = f"/home/app-{uuid.uuid4().hex[:8]}"  # a cache no other build on the engine shares
    mount = f"--mount=type=cache,target={home}/.npm{options}"
    dockerfile = (
        f"FROM {engine_env.BASE_IMAGE}\n"
        f"USER {user}\n"
        # What GitLab restored must be there, and the build's user must be able to add to it.
        f"RUN {mount} test -f {home}/.npm/restored && touch {home}/.npm/added\n"
    )
    before, after = _job_lines(dockerfile)
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    (project / "package-lock.json").write_text("{}\n", encoding="utf-8")
    cache_dir = project / before[0].split()[1]  # mab_cache_in DIR ID TARGET OPTIONS
    cache_dir.mkdir(parents=True)
    (cache_dir / "restored").write_text("from the last pipeline\n", encoding="utf-8")

    _sh(before, project, tmp_path)
    assert not (project / ".mab-cache").exists()  # out of the build context before the build
    # Never --no-cache here: BuildKit hands a --no-cache build fresh cache mounts. The step is
    # new anyway (its path is this test's own).
    build = ["docker", "buildx", "build", "--progress=plain", str(project)]
    done = subprocess.run(build, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    _sh(after, project, tmp_path)

    assert sorted(p.name for p in cache_dir.iterdir()) == ["added", "restored"]
