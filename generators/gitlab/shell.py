"""The shell a generated GitLab job runs: mab's functions, registry logins, the builder.

GitLab runs `before_script` and `script` in one shell, so the shared `before_script` of mab's
hidden job defines POSIX `sh` functions (the `docker:*-cli` image has busybox `sh`, not bash)
and each job's `script` calls them. The functions are real shell files in this package
(`resources/*.sh`, read with `importlib.resources`, checked by shellcheck in the tests) and are
pasted into the job as they are: a component ships only YAML, and the `docker:*-cli` image has
no Python. Values reach them through job variables (`MAB_IMAGE`, `MAB_PLATFORMS`, ...), never
by pasting text into code.

- `mab-build.sh`: `mab_builder` (the `docker-container` builder `$MAB_BUILDER`, made by one job
  at a time under `flock`, removed only by the job that made it when it cannot start; else the
  current builder), `mab_build` (one `docker buildx build` for `$MAB_PLATFORMS`, pushed by
  digest, per-platform layer caches), `mab_merge` (tags the digests as one image), and the
  Docker Hub mirror (`$MAB_REGISTRY_MIRROR`, GitLab's dependency proxy or any pull-through
  mirror) for the BuildKit, binfmt and busybox images.
- `mab-shell-runner.sh`: a Docker config of the job's own on a shell runner.
- `mab-pick.sh` (component only): which platforms this matrix job builds.
- `mab-cache.sh`: carry `RUN --mount=type=cache` directories between GitLab's cache and BuildKit.
- `mab-ci.sh` (the `mab` profile): install mab and build with `mab build --ci`.
- `mab-release.sh` (the sign and verify jobs): cosign and `mab verify` on the published digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from mab.config.types import GitlabRunner

BUILDER = "mab-builder"
CI_LOGIN = ("$CI_REGISTRY", "$CI_REGISTRY_USER", "$CI_REGISTRY_PASSWORD")
RESOURCES = (
    "mab-build.sh",
    "mab-shell-runner.sh",
    "mab-pick.sh",
    "mab-cache.sh",
    "mab-ci.sh",
    "mab-release.sh",
)
SHELL_CLEANUP = 'rm -rf "${TMPDIR:-/tmp}/mab-docker-$CI_JOB_ID"'
MAB_CLEANUP = 'rm -rf "${TMPDIR:-/tmp}/mab-venv-$CI_JOB_ID"'


@cache
def resource_text(name: str) -> str:
    """The text of `resources/<name>`, as shipped in the package."""
    return resources.files(__package__).joinpath("resources", name).read_text(encoding="utf-8")


def functions(name: str) -> str:
    """A resource without its header comment (the shellcheck directive and what the file
    is for): what a job pastes in."""
    lines = resource_text(name).splitlines()
    start = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    return "\n".join(lines[start:]).strip("\n") + "\n"


@dataclass(frozen=True)
class Login:
    """One `docker login`: the registry host and the expressions for user and password."""

    registry: str
    user: str
    password: str

    def command(self) -> str:
        return (
            f'echo "{self.password}" | docker login -u "{self.user}" '
            f'--password-stdin "{self.registry}"'
        )


def before_script(
    runner: GitlabRunner,
    logins: tuple[Login, ...],
    *,
    cache_mounts: bool,
    pick_platforms: bool = False,
) -> list[str]:
    """The shared `before_script`: the functions, then the job's set-up calls."""
    names = ["mab-build.sh"]
    if runner == "shell":
        names.append("mab-shell-runner.sh")
    if pick_platforms:
        names.append("mab-pick.sh")
    if cache_mounts:
        names.append("mab-cache.sh")
    if runner == "mab":
        names.append("mab-ci.sh")
    lines = ["\n".join(functions(n) for n in names)]
    if runner == "shell":
        lines.append("mab_own_docker_config")
    lines.extend(login.command() for login in logins)
    lines += ["mab_login_mirror", "mab_builder"]
    return lines


def after_script(runner: GitlabRunner) -> list[str]:
    """What a job leaves on a long-lived host, removed (none in Docker-in-Docker)."""
    if runner == "shell":
        return [SHELL_CLEANUP]
    if runner == "mab":
        return [MAB_CLEANUP]
    return []
