"""Signing and verifying what a generated GitLab pipeline publishes.

Every build attests provenance (`mode=max` in a public project, `CI_PROJECT_VISIBILITY`) and,
unless `MAB_SBOM` is `"false"` (`Settings.sbom`), an SBOM (`mab_attest_flags` in
`mab-build.sh`); `mab_merge` keeps the digest of the index it makes in `<workdir>/published`.
Then, per image:

- `mab-sign-<image>` (unless `Settings.sign` is off, or `MAB_SIGN` is `"false"` for a
  pipeline): cosign signs the digest keylessly with GitLab's OIDC token (`id_tokens:
  SIGSTORE_ID_TOKEN`, audience `sigstore`, on this job only) and checks the signature names
  this project. In Docker-based profiles it runs in the Docker CLI image (Alpine's cosign
  package); a shell runner needs cosign installed.
- `mab-verify-<image>`: `mab verify` on the digest against the image's platforms (Python's
  image; a shell runner's python3), and a finding fails the pipeline.

Both are plain jobs (no Docker daemon, no builder); their registry logins go to a Docker
config of their own (`mab_release_config`)."""

from __future__ import annotations

from typing import Any

from mab.config.settings import Settings
from mab.config.types import GitlabRunner
from mab.files.yamlio import quoted
from mab.generators.gitlab import pins as gitlab_pins
from mab.generators.gitlab import shell as gitlab_shell
from mab.generators.gitlab.jobs import ANY_REF, ImageJobValues

RESOURCE = "mab-release.sh"
NEVER_WHEN_OFF = '$MAB_SIGN == "false"'


def published_artifacts(merge: dict[str, Any], values: ImageJobValues) -> None:
    """The merge job keeps the digest it published, for the jobs below."""
    merge["artifacts"] = {"paths": [f"{values.workdir}/published"], "expire_in": "1 day"}


def template_variables(template: dict[str, Any], settings: Settings) -> None:
    """`MAB_SBOM` for the build jobs (`mab_attest_flags`)."""
    template["variables"]["MAB_SBOM"] = quoted("true" if settings.sbom else "false")


def _login_lines(logins: tuple[gitlab_shell.Login, ...]) -> list[str]:
    return [f'echo "{x.password}" | mab_release_login "{x.registry}" "{x.user}"' for x in logins]


def _job(
    template: str,
    values: ImageJobValues,
    needs: list[dict[str, Any]],
    runner: GitlabRunner,
    image: str,
    logins: tuple[gitlab_shell.Login, ...],
    call: str,
    variables: dict[str, Any],
) -> dict[str, Any]:
    """A job on mab's hidden job for its runner placement, without its Docker set-up."""
    job: dict[str, Any] = {"extends": template}
    if runner != "shell":
        job["image"] = image
        job["services"] = []  # no Docker daemon: the registry is all these jobs talk to
    job["variables"] = {"MAB_IMAGE": values.image, "MAB_DIR": values.workdir, **variables}
    if values.push != "true":
        job["variables"]["MAB_PUSH"] = values.push
    job["needs"] = needs
    job["rules"] = [{"if": ANY_REF}]
    job["before_script"] = [gitlab_shell.functions(RESOURCE), *_login_lines(logins)]
    job["script"] = [call]
    return job


def sign_job(
    template: str,
    values: ImageJobValues,
    merge_name: str,
    runner: GitlabRunner,
    logins: tuple[gitlab_shell.Login, ...],
) -> dict[str, Any]:
    needs = [{"job": merge_name, "artifacts": True}]
    job = _job(
        template, values, needs, runner, gitlab_pins.DOCKER_CLI_IMAGE, logins, "mab_sign", {}
    )
    job["id_tokens"] = {"SIGSTORE_ID_TOKEN": {"aud": "sigstore"}}
    job["rules"] = [{"if": NEVER_WHEN_OFF, "when": "never"}, *job["rules"]]
    return job


def verify_job(
    template: str,
    values: ImageJobValues,
    merge_name: str,
    sign_name: str | None,
    runner: GitlabRunner,
    logins: tuple[gitlab_shell.Login, ...],
    settings: Settings,
    pip_spec: str,
) -> dict[str, Any]:
    needs: list[dict[str, Any]] = [{"job": merge_name, "artifacts": True}]
    if sign_name:  # optional: a pipeline with MAB_SIGN=false has no sign job
        needs.append({"job": sign_name, "artifacts": False, "optional": True})
    variables = {
        "MAB_ALL_PLATFORMS": values.platforms,
        "MAB_PIP_SPEC": pip_spec,
        "MAB_SIGN": quoted("true" if settings.sign else "false"),
        "MAB_SBOM": quoted("true" if settings.sbom else "false"),
    }
    image = gitlab_pins.PYTHON_IMAGE
    return _job(template, values, needs, runner, image, logins, "mab_verify", variables)


def release_jobs(
    template: str,
    values: ImageJobValues,
    merge_name: str,
    runner: GitlabRunner,
    logins: tuple[gitlab_shell.Login, ...],
    settings: Settings,
    pip_spec: str,
) -> dict[str, dict[str, Any]]:
    """`mab-sign-<image>` (unless signing is off) and `mab-verify-<image>`."""
    jobs: dict[str, dict[str, Any]] = {}
    sign_name = f"mab-sign-{values.name}" if settings.sign else None
    if sign_name:
        jobs[sign_name] = sign_job(template, values, merge_name, runner, logins)
    jobs[f"mab-verify-{values.name}"] = verify_job(
        template, values, merge_name, sign_name, runner, logins, settings, pip_spec
    )
    return jobs
