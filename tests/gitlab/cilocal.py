"""Running a generated GitLab pipeline for real with `gitlab-ci-local` (npm) and the host's shell.

- `gitlab_ci_local()`: its executable (`$MAB_GITLAB_CI_LOCAL` or PATH), or skip with the reason.
  On Node.js 20 use release 4.52 (later ones need Node 22); it copies the project with `rsync`.
- `git_repo(path)`: make `path` a git repository on `main` with a GitLab remote, committed
  (gitlab-ci-local reads the branch, the commit and the default branch from git).
- `run_pipeline(repo, variables)`: the whole pipeline, every job in the shell executor, in a
  state directory and home of the test's own; `PipelineRun.job_logs` holds each job's log.
- `build_summary(text, platform)`: a build's `--progress=rawjson` stream, as printed into a job
  log between other lines, read through mab's own decoder and build model into the summary
  `mab build --json` prints.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel
from mab.progress.summary import Summary

PIPELINE_TIMEOUT_S = 1500  # a cold emulated build on a loaded 2-core machine takes minutes
GIT_ID = ["-c", "user.email=ci@example.com", "-c", "user.name=ci"]
REMOTE = "https://gitlab.example.com/acme/app.git"


def gitlab_ci_local() -> str:
    """The executable, or skip (the reason is printed, and shown by `-ra`)."""
    found = os.environ.get("MAB_GITLAB_CI_LOCAL") or shutil.which("gitlab-ci-local")
    reason = ""
    if not found:
        reason = "gitlab-ci-local is not installed (npm install -g gitlab-ci-local@4.52.0)"
    elif shutil.which("rsync") is None:
        reason = "gitlab-ci-local needs rsync, which is not installed"
    if reason:
        print(f"skipping: {reason}")
        pytest.skip(reason)
    assert found is not None
    return found


def git(repo: Path, *argv: str) -> str:
    done = subprocess.run(
        ["git", *GIT_ID, "-C", str(repo), *argv], capture_output=True, text=True, check=True
    )
    return done.stdout


def commit(repo: Path, message: str, *paths: str) -> None:
    """Commit `paths` (everything when none), and let `origin/main` follow, as after a push."""
    git(repo, "add", *(paths or ("-A",)))
    git(repo, "commit", "-qm", message)
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")


def git_repo(path: Path) -> Path:
    git(path, "init", "-q", "-b", "main")
    git(path, "remote", "add", "origin", REMOTE)
    commit(path, "the project")
    git(path, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    return path


@dataclass(frozen=True)
class PipelineRun:
    exit_code: int
    output: str  # gitlab-ci-local's own output: every job's lines, then PASS/FAIL per job
    job_logs: dict[str, str]  # job log file name (without .log) -> its text

    def logs(self, prefix: str) -> list[str]:
        return [text for name, text in sorted(self.job_logs.items()) if name.startswith(prefix)]


def run_pipeline(repo: Path, variables: dict[str, str], state: str) -> PipelineRun:
    """Every job of `repo`'s pipeline in the shell executor (in one copy of the project: with
    `--shell-isolation`, 4.52 hands on no artifacts). `repo/state` keeps gitlab-ci-local's
    copies, artifacts, logs and pipeline counter (`$CI_PIPELINE_ID`) from run to run; git sees
    it as untracked, so it is no part of the copies."""
    (repo / state / "home").mkdir(parents=True, exist_ok=True)
    argv = [gitlab_ci_local(), "--shell-executor-no-image", "--no-artifacts-to-source"]
    # One job at a time, as on runners of their own: two builds at once on one engine that
    # import registry caches were seen to miss every step of one of them now and then.
    argv += ["--concurrency", "1"]
    argv += ["--state-dir", state, "--home", f"{state}/home"]
    for name, value in variables.items():
        argv += ["--variable", f"{name}={value}"]
    output = repo / state / "output"
    shutil.rmtree(output, ignore_errors=True)
    done = subprocess.run(
        argv,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=PIPELINE_TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    logs = {p.stem: p.read_text(encoding="utf-8") for p in output.glob("*.log")}
    return PipelineRun(done.returncode, done.stdout + done.stderr, logs)


def build_summary(text: str, platform: str) -> dict[str, Any]:
    """What `mab build --json` would have said about the build in `text` (one platform)."""
    decoder = StreamDecoder()
    model = BuildModel((platform,))
    for event in [*decoder.feed(text.encode()), *decoder.close()]:
        model.apply(event)
    model.finish(0)
    summary: dict[str, Any] = Summary.from_model(model).to_json()
    return summary
