"""What a GitLab pipeline can be asked for, checked before anything is generated.

mab never quietly generates something other than what was asked: a choice the GitLab pipeline
cannot honour is refused with a `UserError` (exit 2) naming the fix.

- The layer cache is the registry's (one tag per platform); `--cache gha|local|s3` are GitHub's.
- The CI/CD component is the Docker-in-Docker profile only, and its reference is a component
  path, `<host>/<group>/<project>/<component>@<version>`.
- GitLab.com's runner tags (`saas-linux-small-*`) exist on GitLab.com only. A project whose git
  remote is another host (a self-managed GitLab) names its runner tags itself, with
  `--gitlab-tag PLATFORM=TAG` or `gitlab.tags` in `.mab.yml`: one per platform for the native
  strategy, one for the first platform with QEMU. A project with no remote, or one on
  github.com (mirrored into GitLab.com), gets GitLab.com's tags.
"""

from __future__ import annotations

import re

from mab.config.settings import CONFIG_FILE, Settings
from mab.detection.project import Project
from mab.errors import UserError

SAAS_HOSTS = ("gitlab.com", "www.gitlab.com")
MIRRORED_HOSTS = ("github.com", "www.github.com")  # CI/CD for external repositories: GitLab.com
COMPONENT_EXAMPLE = "$CI_SERVER_FQDN/<group>/<project>/mab-build@<version>"
# host, at least group/project/component, then @version (a tag, branch, SHA or ~latest)
_COMPONENT_REF = re.compile(r"^[^\s/@]+(/[^\s/@]+){3,}@[^\s@]+$")


def self_managed_host(project: Project) -> str | None:
    """The remote's host where it is neither GitLab.com nor mirrored there; else None."""
    remote = project.remote
    if remote is None or remote.host in (*SAAS_HOSTS, *MIRRORED_HOSTS):
        return None
    return remote.host


def check_pipeline(project: Project, settings: Settings) -> None:
    """Refuse what `.gitlab/ci/mab.yml` cannot honour."""
    _check_cache(settings)
    _check_tags(project, settings)


def check_component(ref: str, project: Project, settings: Settings) -> None:
    """Refuse what an `include: - component:` of mab's component cannot honour."""
    if not _COMPONENT_REF.match(ref):
        raise UserError(
            f"--use-component {ref!r} is not a component path",
            hint=f"give the whole path and a version, e.g. {COMPONENT_EXAMPLE} "
            "(the project where mab's gitlab/templates/mab-build.yml is published)",
        )
    if settings.gitlab.runner != "dind":
        raise UserError(
            f"mab's CI/CD component runs Docker-in-Docker only, not --gitlab-runner "
            f"{settings.gitlab.runner}",
            hint="drop --gitlab-runner (or gitlab.runner in .mab.yml) to use the component, "
            "or drop --use-component (gitlab.component) for the inline pipeline",
        )
    _check_cache(settings)
    _check_tags(project, settings)


def _check_cache(settings: Settings) -> None:
    if settings.cache != "registry":
        raise UserError(
            f"GitLab pipelines keep the layer cache in the registry; --cache {settings.cache} "
            "is for GitHub Actions only",
            hint=f"drop --cache (or set `cache: registry` in {CONFIG_FILE}) for GitLab, or "
            "generate the GitHub workflow alone with --github",
        )


def _check_tags(project: Project, settings: Settings) -> None:
    host = self_managed_host(project)
    if host is None or settings.gitlab.runner == "shell":  # shell: explicit tags only anyway
        return
    wanted = settings.platforms if settings.strategy == "native" else settings.platforms[:1]
    missing = [p for p in wanted if settings.gitlab.tag_for(p) is None]
    if missing:
        flags = " ".join(f"--gitlab-tag {p}=TAG" for p in missing)
        raise UserError(
            f"the git remote is {host}, not GitLab.com: its runners do not have GitLab.com's "
            f"runner tags (saas-linux-small-*), and none is given for {', '.join(missing)}",
            hint=f"name your runners' tags: {flags} (or gitlab.tags in {CONFIG_FILE})",
        )


def runner_tag(project: Project, settings: Settings, platform: str) -> str | None:
    """The runner tag of `platform`'s build job: an explicit one, else GitLab.com's (Docker
    profiles on GitLab.com only), else none."""
    explicit = settings.gitlab.tag_for(platform)
    if explicit is not None or settings.gitlab.runner == "shell":
        return explicit
    if self_managed_host(project) is not None:
        return None
    return settings.gitlab_tag(platform)
