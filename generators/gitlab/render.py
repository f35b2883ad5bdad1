"""The GitLab CI pipeline for a project's multi-arch images. Pure: a model in, a map out.

`pipeline(project, settings)` is mab's own file `.gitlab/ci/mab.yml` (the user's
`.gitlab-ci.yml` includes it); `component_include(ref, project, settings)` is the same build
through mab's CI/CD component (`gitlab/templates/mab-build.yml`, produced by
`gitlab_component.component_text`). Both return ruamel `CommentedMap`s to dump with
`mab.files.yamlio.dump_roundtrip`, whose quoting reads the same under YAML 1.1 (GitLab) and 1.2.

Jobs
    `.mab-runner` (hidden: runner profile, rules, shell functions), then per image
    `mab-build-<image>` and `mab-merge-<image>`. Nothing global (`variables:`, `default:`,
    `workflow:`, `stages:`) is set, since the file is included into the user's pipeline; the jobs
    use stage `build`, which GitLab's default stages have.

Runner profiles (`Settings.gitlab.runner`)
    `dind`: `docker:<version>-cli` with a `docker:<version>-dind` service over TLS
    (`DOCKER_TLS_CERTDIR: "/certs"`) and a fresh `docker-container` builder per job. `shell`: the
    host's Docker; one builder, `mab-builder`, created when missing and kept between jobs (with
    its cache mounts and layers); each job logs in through a Docker config of its own. Shell
    runners get runner tags only where `--gitlab-tag` names them, since GitLab.com's tags mean
    nothing on a self-managed runner. `mab`: Docker-in-Docker jobs whose build installs mab
    and runs `mab build --ci` (its summaries kept as artifacts, its metrics as the job's
    metrics report). What cannot be honoured is refused (`gitlab_choices`).

Strategies (`Settings.strategy`)
    `native`: `parallel: matrix:` with one entry per platform, `tags: [$MAB_RUNNER_TAG]` from
    `gitlab_choices.runner_tag` (GitLab.com: `saas-linux-small-amd64`, `saas-linux-small-arm64`;
    a self-managed remote names its own; a platform without one builds under QEMU on the
    first platform's runner). `qemu`: one job registers QEMU's binfmt handlers
    (`tonistiigi/binfmt`) and builds every platform in one build. Either way each build
    pushes by digest (`push-by-digest=true,name-canonical=true`), keeps the digest as a
    one-day artifact, and `mab-merge-<image>` joins the digests with `docker buildx imagetools
    create`, tagged `<ref slug>`, `sha-<short sha>`, and on tags the git tag, plus `X.Y.Z`,
    `X.Y` and `latest` for a release tag `vX.Y.Z` (as on GitHub).

Layer cache
    In the registry next to the image (`$CI_REGISTRY_IMAGE` unless configured), one tag per
    platform, `<image>:buildcache-<os>-<arch>` (`mab.registry.cacherefs`), exported with
    `mode=max`, OCI
    media types, an image manifest and `ignore-error=true`. Every build reads it; only pipelines
    for the default branch write it (`MAB_CACHE_EXPORT`, set by `rules:`; tags only read it).
    With QEMU, the per-platform exports are extra `type=cacheonly` builds of layers already
    built. `Settings.cache` other than `registry` (`gha`, `local`, `s3`) is refused.

Dependency caches
    GitLab `cache:` entries carried into the Dockerfile's cache mounts; see `gitlab_deps`.

Registry logins
    `$CI_REGISTRY` with `$CI_REGISTRY_USER` / `$CI_REGISTRY_PASSWORD` (the job token), through
    `--password-stdin`; any other registry with `$MAB_REGISTRY_USER` (or `registry_user` from
    the settings) and `$MAB_REGISTRY_PASSWORD`, CI/CD variables to set as masked. Nothing
    secret is echoed to the log.
"""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from mab import __version__
from mab.config.distribution import DISTRIBUTION
from mab.config.file import override
from mab.config.settings import Settings
from mab.config.types import GitlabRunner
from mab.detection.project import Image, Project
from mab.errors import UserError
from mab.files.yamlio import to_commented
from mab.generators.gitlab import choices as gitlab_choices
from mab.generators.gitlab import deps as gitlab_deps
from mab.generators.gitlab import release as gitlab_release
from mab.generators.gitlab.component import component_inputs
from mab.generators.gitlab.jobs import ImageJobValues, Profile, Runner, build_job, merge_job
from mab.generators.gitlab.jobs import runner_template as _runner_template
from mab.generators.gitlab.shell import CI_LOGIN, Login
from mab.registry import cacherefs

TEMPLATE = ".mab-runner"
CI_IMAGE = "$CI_REGISTRY_IMAGE"
CACHE_NOTE = (
    "The Dockerfile's cache mounts, keyed on lockfiles and saved on the default branch only;\n"
    "on a miss, this ref's latest copy (the last cache), then the default branch's."
)


def runners(project: Project, settings: Settings) -> tuple[Runner, ...]:
    """The build entries: one per platform (native) or one for all (qemu)."""
    tags = [gitlab_choices.runner_tag(project, settings, p) for p in settings.platforms]
    first = next((t for t in tags if t), None)
    if settings.strategy == "qemu":
        return (Runner(",".join(settings.platforms), first),)
    return tuple(Runner(p, t or first) for p, t in zip(settings.platforms, tags, strict=True))


def image_values(project: Project, settings: Settings, image: Image) -> ImageJobValues:
    ref = cacherefs.image_ref(
        project, override(settings, {"image": settings.image or CI_IMAGE}), image
    )
    own = settings.image_settings(image.name)
    extra: list[str] = []
    for name, value in image.args:
        extra += ["--build-arg", f"{name}={value}"]
    return ImageJobValues(
        name=image.name,
        image=ref,
        cache_repository=ref,
        context=(own.context if own and own.context else None) or image.context,
        dockerfile=(own.dockerfile if own and own.dockerfile else None) or image.dockerfile,
        target=(own.target if own and own.target else None) or image.target or "",
        platforms=",".join(settings.platforms),
        strategy=settings.strategy,
        extra_args=tuple(extra),
        pre_build=image.pre_build or "",
    )


def login_for(project: Project, settings: Settings, ref: str) -> Login:
    """CI_REGISTRY's job-token login for the project's own registry, variables otherwise."""
    own = [CI_IMAGE]
    if project.remote is not None and project.remote.provider == "gitlab":
        own.append(project.remote.default_image)
    if any(ref == o or ref.startswith(o + "/") for o in own):
        return Login(*CI_LOGIN)
    user = settings.registry_user
    if not user or "{{" in user:  # a GitHub expression is no use here
        user = "$MAB_REGISTRY_USER"
    return Login(cacherefs.registry_host(ref), user, "$MAB_REGISTRY_PASSWORD")


def profile_name(settings: Settings) -> GitlabRunner:
    return settings.gitlab.runner


def mab_pip_spec() -> str:
    """What the `mab` profile's jobs install: this mab's distribution at this version."""
    return f"{DISTRIBUTION}=={__version__}"


def _require_images(project: Project) -> None:
    if not project.images:
        raise UserError(
            "no image to build: mab found no Dockerfile, compose service or bake target",
            hint="add a Dockerfile (or pass --dockerfile), then run `mab init-ci` again",
        )


def pipeline(project: Project, settings: Settings) -> CommentedMap:
    """The document for `.gitlab/ci/mab.yml`."""
    _require_images(project)
    gitlab_choices.check_pipeline(project, settings)
    entries = runners(project, settings)
    values = [image_values(project, settings, image) for image in project.images]
    runner = profile_name(settings)
    deps = [
        gitlab_deps.plan(image) if runner != "shell" else gitlab_deps.NO_CACHES
        for image in project.images
    ]
    logins = tuple(dict.fromkeys(login_for(project, settings, v.image) for v in values))
    profile = Profile(
        runner,
        logins,
        cache_mounts=any(d.caches for d in deps),
        pip_spec=mab_pip_spec() if runner == "mab" else "",
        buildx=settings.gitlab.buildx,
    )
    template = _runner_template(profile)
    gitlab_release.template_variables(template, settings)
    doc: CommentedMap = to_commented({TEMPLATE: template})
    doc.yaml_set_comment_before_after_key(
        TEMPLATE, before="Runner profile, rules and shell functions shared by mab's jobs."
    )
    for v, d in zip(values, deps, strict=True):
        build_name, merge_name = f"mab-build-{v.name}", f"mab-merge-{v.name}"
        build: CommentedMap = to_commented(build_job(TEMPLATE, v, entries, d, runner))
        doc[build_name] = build
        merge = merge_job(TEMPLATE, v, build_name, entries[0].tag)
        gitlab_release.published_artifacts(merge, v)
        doc[merge_name] = to_commented(merge)
        release = gitlab_release.release_jobs(
            TEMPLATE, v, merge_name, runner, logins, settings, mab_pip_spec()
        )
        for name, job in release.items():
            doc[name] = to_commented(job)
        not_carried = "".join(f"\n{note}" for note in d.not_carried)
        doc.yaml_set_comment_before_after_key(
            build_name,
            before=f"{v.image}: each runner builds its platforms and pushes them by digest;\n"
            f"{merge_name} tags them as one multi-platform image.{not_carried}",
        )
        if d.caches:
            note = CACHE_NOTE
            if d.unkeyed:
                note += "\nNot in any cache key (too many files): " + ", ".join(d.unkeyed)
            build.yaml_set_comment_before_after_key("cache", before=note, indent=2)
    return doc


def component_include(ref: str, project: Project, settings: Settings) -> CommentedMap:
    """`include: - component: <ref>` with the inputs of each image (for `--use-component`)."""
    _require_images(project)
    gitlab_choices.check_component(ref, project, settings)
    entries = runners(project, settings)
    includes = []
    for image in project.images:
        v = image_values(project, settings, image)
        login = login_for(project, settings, v.image)
        inputs = component_inputs(v, image.args, entries, login)
        includes.append({"component": ref, "inputs": inputs})
    doc: CommentedMap = to_commented({"include": includes})
    return doc
