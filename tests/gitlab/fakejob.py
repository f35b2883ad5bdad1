"""A generated GitLab job's shell, run under `sh -e` against a fake `docker`.

The fake logs every call (one line each) and keeps buildx builders as directories in a state
directory, so jobs run side by side see each other's builders as jobs on one host do:
`buildx create` registers a builder (after `MAB_TEST_CREATE_DELAY` seconds; a second one of
the same name fails as buildx's does), `buildx rm` removes it, `buildx inspect NAME` fails for
a builder that is not there (or, with `MAB_TEST_NO_CONTAINERS`, for any named builder: no
BuildKit image to start one with), and a build on a removed builder fails. This stands in for
GitLab and Docker where the real ones cannot run (GitLab's runner is not here); the real
engine runs the same functions in tests/gitlab/test_gitlab_ci_local.py.

`ci` values stand for predefined and project CI/CD variables: they win over the file's
`variables:`, as in GitLab. `JobRunner(tmp)`: `.run(doc, job, entry, **ci)` runs one job to
the end and returns its docker calls; `.start(...)` starts one and `.finish(started)` waits
for it (jobs at once).
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAKE_DOCKER = r"""#!/bin/sh
echo "$*" >> "$MAB_TEST_LOG"
state="$MAB_TEST_STATE"
case "$1 $2" in
  "version --format") echo "linux/amd64" ;;
  "login -u") echo "logged in, config in ${DOCKER_CONFIG:-default}" >> "$MAB_TEST_LOG" ;;
  "buildx inspect")
    name=""
    for arg in "$@"; do case "$arg" in buildx|inspect|--bootstrap) ;; *) name=$arg ;; esac; done
    if [ -n "$name" ]; then
      if [ -n "${MAB_TEST_NO_CONTAINERS:-}" ] || [ ! -d "$state/builder-$name" ]; then
        echo "ERROR: no builder \"$name\" found" >&2; exit 1
      fi
    fi
    printf 'Name:   %s\nDriver: %s\n\nNodes:\nName:   n0\nPlatforms: %s\n' \
      "${name:-${BUILDX_BUILDER:-default}}" "${MAB_TEST_DRIVER:-docker-container}" \
      "${MAB_TEST_PLATFORMS:-linux/amd64, linux/amd64/v2}" ;;
  "buildx create")
    sleep "${MAB_TEST_CREATE_DELAY:-0}"
    if ! mkdir "$state/builder-$4" 2>/dev/null; then
      echo "ERROR: existing instance for \"$4\"" >&2; exit 1
    fi ;;
  "buildx rm") rm -rf "$state/builder-$3" ;;
  "buildx build")
    if [ -n "${BUILDX_BUILDER:-}" ] && [ ! -d "$state/builder-$BUILDX_BUILDER" ]; then
      echo "ERROR: no builder \"$BUILDX_BUILDER\" found" >&2; exit 1
    fi
    if [ -e .mab ] || [ -e .mab-cache ]; then echo "mab files in the project" >> "$MAB_TEST_LOG"; fi
    while [ $# -gt 0 ]; do
      if [ "$1" = "--metadata-file" ]; then
        printf '{\n  "containerimage.digest": "sha256:%064d"\n}\n' 7 > "$2"
      fi
      shift
    done ;;
esac
"""

CI_ENV = {
    "CI_REGISTRY": "registry.example.com",
    "CI_REGISTRY_USER": "gitlab-ci-token",
    "CI_REGISTRY_PASSWORD": "s3cret",
    "CI_REGISTRY_IMAGE": "registry.example.com/acme/app",
    "CI_COMMIT_REF_SLUG": "main",
    "CI_COMMIT_SHORT_SHA": "abc1234",
    "CI_COMMIT_BRANCH": "main",
    "CI_DEFAULT_BRANCH": "main",
    "CI_COMMIT_TAG": "",
    "CI_JOB_ID": "42",
    "CI_PIPELINE_ID": "900",
}
_VAR = re.compile(r"\$(\w+)")
_IF = re.compile(r"\$(\w+)(?: == \$(\w+))?")


def rule_matches(expression: str, env: dict[str, str]) -> bool:
    """GitLab's `if:` for the forms mab writes: `$A`, `$A == $B`, joined by `||`."""
    for alternative in expression.split("||"):
        match = _IF.fullmatch(alternative.strip())
        assert match, f"a rule mab does not write: {alternative!r}"
        left, right = env.get(match.group(1), ""), match.group(2)
        if (right is None and left) or (right is not None and left == env.get(right, "")):
            return True
    return False


def job_env(doc: dict[str, Any], job: str, entry: int = 0, **ci: str) -> dict[str, str] | None:
    """The environment GitLab gives `job` (matrix entry `entry`) in a pipeline with `ci`, or
    None when its rules leave it out of the pipeline."""
    template, spec = doc[doc[job]["extends"]], doc[job]
    env = {**CI_ENV, **ci}
    variables = {**template["variables"], **spec["variables"]}
    if "parallel" in spec:  # GitLab expands each item's lists into one job per combination
        jobs = [
            dict(zip(item, combo, strict=True))
            for item in spec["parallel"]["matrix"]
            for combo in itertools.product(
                *(v if isinstance(v, list) else [v] for v in item.values())
            )
        ]
        variables.update(jobs[entry])
        env["CI_NODE_INDEX"] = str(entry + 1)
    rule = next((r for r in template["rules"] if rule_matches(r["if"], env)), None)
    if rule is None:
        return None
    variables.update(rule.get("variables", {}))
    for k, v in variables.items():  # GitLab expands $VARIABLES in variable values
        env[k] = _VAR.sub(lambda m: env.get(m.group(1), ""), v)
    # What `ci` names stands for predefined and project CI/CD variables, which take
    # precedence over the file's `variables:`.
    return {**os.environ, **env, **ci}


@dataclass(frozen=True)
class Started:
    process: subprocess.Popen[str]
    log: Path


class JobRunner:
    """Jobs of one pipeline on one host: a project directory, a fake docker, shared state."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.bin = tmp / "bin"
        self.state = tmp / "docker-state"
        self.bin.mkdir(exist_ok=True)
        self.state.mkdir(exist_ok=True)
        (self.bin / "docker").write_text(FAKE_DOCKER)
        (self.bin / "docker").chmod(0o755)
        self.count = itertools.count()

    def start(
        self,
        doc: dict[str, Any],
        job: str,
        entry: int = 0,
        *,
        shell: tuple[str, ...] = ("sh", "-e"),
        cwd: Path | None = None,
        **ci: str,
    ) -> Started:
        env = job_env(doc, job, entry, **ci)
        assert env is not None, f"{job} does not run in this pipeline"
        log = self.tmp / f"calls-{job}-{entry}-{next(self.count)}.log"
        env.update(MAB_TEST_LOG=str(log), MAB_TEST_STATE=str(self.state))
        env["PATH"] = f"{self.bin}:{env['PATH']}"
        template = doc[doc[job]["extends"]]
        script = "\n".join([*template["before_script"], *doc[job]["script"]])
        process = subprocess.Popen(
            [*shell, "-c", script],
            cwd=cwd or self.tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return Started(process, log)

    def finish(self, started: Started, *, fails: bool = False) -> list[str]:
        """The job's docker calls; with `fails`, it must fail, and its stderr comes back."""
        stdout, stderr = started.process.communicate(timeout=120)
        assert "s3cret" not in stdout + stderr
        if fails:
            assert started.process.returncode != 0
            return stderr.splitlines()
        assert started.process.returncode == 0, stdout + stderr
        return started.log.read_text().splitlines() if started.log.exists() else []

    def run(
        self, doc: dict[str, Any], job: str, entry: int = 0, *, fails: bool = False, **kw: Any
    ) -> list[str]:
        return self.finish(self.start(doc, job, entry, **kw), fails=fails)


def builds(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("buildx build --platform")]
