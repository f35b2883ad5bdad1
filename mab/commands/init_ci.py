"""`mab init-ci`: detect the project, then write (or diff, or check) its CI pipelines."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from mab.commands.image_settings import apply_image_overrides, image_requests
from mab.commands.publishing import adopt_platforms, drop_jobs, guard
from mab.config.distribution import given_action
from mab.config.file import load_config, named_in_file, override, render_config
from mab.config.settings import CONFIG_FILE, S3Cache, Settings, parse_platforms
from mab.config.types import (
    CACHE_BACKENDS,
    GITLAB_RUNNERS,
    STRATEGIES,
    CacheBackend,
    GitlabRunner,
    Provider,
    Strategy,
)
from mab.detection.detect import detect
from mab.detection.explain import explain as explain_images
from mab.detection.explain import skipped_report
from mab.detection.explain import summary as images_summary
from mab.detection.gitrepo import default_branch
from mab.detection.project import Project
from mab.errors import NotOwnedError, UserError
from mab.files.merge import merge_jobs, merge_workflow
from mab.files.plan import PlannedFile, apply
from mab.files.reader import read_text
from mab.files.yamlio import dump_roundtrip, load_roundtrip
from mab.generators.github.migrate import migrate_jobs
from mab.registry.cacherefs import FALLBACK_IMAGE

MARKER = "Managed by `mab init-ci`"
HEADER = (
    f"{MARKER} (settings: {CONFIG_FILE}). Re-run it to update this file.\n"
    'mab rewrites what it owns: jobs, and steps, whose name or id starts with "mab-".\n'
    "Your other edits, comments, jobs and steps are kept.\n"
)
GITLAB_MAB_FILE = ".gitlab/ci/mab.yml"
GITLAB_ROOT_FILE = ".gitlab-ci.yml"


def detect_default_branch(root: Path) -> str:
    """The default branch, with the evidence for it on stderr; refused when git gives none."""
    choice = default_branch(root)
    if choice.branch is None:
        raise UserError(
            f"cannot tell the default branch: {choice.evidence} (no refs/remotes/origin/HEAD, "
            "the remote did not answer, no local main or master)",
            hint="pass --default-branch NAME (it is kept in .mab.yml), or record the remote's "
            "with `git remote set-head origin --auto`",
        )
    click.echo(f"mab: default branch: {choice.branch} ({choice.evidence})", err=True)
    return choice.branch


def report_skipped(project: Project) -> None:
    """Say which Dockerfiles detection left out, and how to build one anyway."""
    for line in skipped_report(project):
        click.echo(line, err=True)


def require_image(project: Project, settings: Settings, writes: bool) -> None:
    """Without a git remote there is no registry to push to: ask for one before writing."""
    if project.remote is not None or settings.image:
        return
    own = [settings.image_settings(i.name) for i in project.images]
    if all(o is not None and o.image for o in own):
        return
    if writes:
        raise UserError(
            "no git remote, so mab cannot tell which registry the workflow should push to",
            hint="pass --image REGISTRY/NAME (for example --image ghcr.io/OWNER/REPO; it is kept "
            "in .mab.yml as `image:`), or add the remote with `git remote add origin URL`",
        )
    click.echo(
        f"mab: warning: no git remote; images are named after the placeholder {FALLBACK_IMAGE} "
        "until you pass --image REGISTRY/NAME (required to write the files)",
        err=True,
    )


def choose_providers(
    root: Path, project: Project, asked: tuple[Provider, ...]
) -> tuple[Provider, ...]:
    if asked:
        return asked
    found: list[Provider] = []
    remote = project.remote.provider if project.remote else None
    if (root / ".github").is_dir() or remote == "github":
        found.append("github")
    if (root / GITLAB_ROOT_FILE).exists() or remote == "gitlab":
        found.append("gitlab")
    return tuple(found) or ("github",)


def _existing(root: Path, rel: str) -> str | None:
    path = root / rel
    return read_text(path, where=rel) if path.exists() else None


def _render_new(document: Any) -> str:
    document.yaml_set_start_comment(HEADER)
    return dump_roundtrip(document)


def plan_github(
    root: Path,
    project: Project,
    settings: Settings,
    force: bool,
    *,
    action_given: bool = False,
    replacing: set[int] | None = None,
) -> PlannedFile:
    from mab.generators import github

    rel = f".github/workflows/{settings.github.workflow}.yml"
    if not (root / rel).exists() and (root / rel).with_suffix(".yaml").exists():
        rel = rel.removesuffix(".yml") + ".yaml"
    action = None
    if settings.github.action:
        origin = "--action" if action_given else f"`github: action:` in {CONFIG_FILE}"
        action = given_action(settings.github.action, origin)
    generated = github.workflow(
        project, settings, use_action=settings.github.use_action, action=action
    )
    old_text = _existing(root, rel)
    if old_text is None:
        return PlannedFile(rel, None, _render_new(generated))
    if MARKER not in old_text and not force and replacing is None:
        raise NotOwnedError(
            f"{rel} exists and was not written by mab",
            hint="pass --force to merge mab's jobs into it (your jobs and steps are kept), "
            "or choose another file name with --workflow NAME",
        )
    old = load_roundtrip(old_text, rel)
    if not isinstance(old, CommentedMap):
        raise UserError(f"{rel}: expected a mapping at the top level")
    for job in drop_jobs(old, replacing or set()):
        click.echo(f"mab: {rel}: job {job} now built by mab (--replace)", err=True)
    migrate_jobs(old)
    merged = merge_workflow(old, generated)
    if MARKER not in old_text:
        merged.yaml_set_start_comment(HEADER)
    return PlannedFile(rel, old_text, dump_roundtrip(merged))


def _gitlab_job_names(document: Any) -> list[str]:
    reserved = {"include", "stages", "variables", "workflow", "default", "spec"}
    return [str(k) for k in document if k not in reserved and not str(k).startswith(".")]


def plan_gitlab(root: Path, project: Project, settings: Settings, force: bool) -> list[PlannedFile]:
    from mab.generators import gitlab

    if settings.gitlab.component:
        generated = gitlab.component_include(settings.gitlab.component, project, settings)
    else:
        generated = gitlab.pipeline(project, settings)
    files = []
    old_text = _existing(root, GITLAB_MAB_FILE)
    if old_text is None:
        files.append(PlannedFile(GITLAB_MAB_FILE, None, _render_new(generated)))
    else:
        if MARKER not in old_text and not force:
            raise NotOwnedError(
                f"{GITLAB_MAB_FILE} exists and was not written by mab",
                hint="pass --force to merge mab's jobs into it",
            )
        old = load_roundtrip(old_text, GITLAB_MAB_FILE)
        if not isinstance(old, CommentedMap):
            raise UserError(f"{GITLAB_MAB_FILE}: expected a mapping at the top level")
        merged = merge_jobs(old, generated)
        files.append(PlannedFile(GITLAB_MAB_FILE, old_text, dump_roundtrip(merged)))
    files.append(plan_gitlab_root(root, generated))
    return files


def plan_gitlab_root(root: Path, generated: Any) -> PlannedFile:
    """Add `include: - local: .gitlab/ci/mab.yml` to `.gitlab-ci.yml`, keeping all else."""
    old_text = _existing(root, GITLAB_ROOT_FILE)
    entry = CommentedMap([("local", GITLAB_MAB_FILE)])
    if old_text is None:
        doc = CommentedMap([("include", CommentedSeq([entry]))])
        return PlannedFile(GITLAB_ROOT_FILE, None, dump_roundtrip(doc))
    doc = load_roundtrip(old_text, GITLAB_ROOT_FILE)
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise UserError(f"{GITLAB_ROOT_FILE}: expected a mapping at the top level")
    clashes = [n for n in _gitlab_job_names(generated) if n in doc]
    if clashes:
        raise UserError(
            f"{GITLAB_ROOT_FILE} already defines job(s) mab generates: {', '.join(clashes)}",
            hint="rename or remove those jobs (mab keeps its jobs in "
            f"{GITLAB_MAB_FILE}), then run again",
        )
    include = doc.get("include")

    def names_mab(item: Any) -> bool:
        return item == GITLAB_MAB_FILE or (
            isinstance(item, dict) and item.get("local") in (GITLAB_MAB_FILE, f"/{GITLAB_MAB_FILE}")
        )

    if include is None:
        doc.insert(0, "include", CommentedSeq([entry]))
    elif isinstance(include, str | dict):
        if not names_mab(include):
            doc["include"] = CommentedSeq([include, entry])
    elif isinstance(include, list):
        if not any(names_mab(i) for i in include):
            include.append(entry)
    else:
        raise UserError(
            f"{GITLAB_ROOT_FILE}: `include:` has a form mab cannot edit ({type(include).__name__})",
            hint=f"add `- local: {GITLAB_MAB_FILE}` to your include list by hand",
        )
    stages = doc.get("stages")
    wanted = [
        job.get("stage")
        for job in generated.values()
        if isinstance(job, dict) and isinstance(job.get("stage"), str)
    ]
    if isinstance(stages, list):
        for stage in wanted:
            if stage not in stages:
                stages.append(stage)
    return PlannedFile(GITLAB_ROOT_FILE, old_text, dump_roundtrip(doc))


def plan_config(root: Path, settings: Settings) -> PlannedFile:
    old_text = _existing(root, CONFIG_FILE)
    return PlannedFile(CONFIG_FILE, old_text, render_config(settings, old_text))


def _runner_labels(values: tuple[str, ...], flag: str) -> dict[str, str] | None:
    if not values:
        return None
    labels = {}
    for value in values:
        platform, sep, label = value.partition("=")
        if not sep or not label:
            raise UserError(f"{flag} {value!r}: expected PLATFORM=LABEL")
        labels[parse_platforms(platform)[0]] = label
    return labels


def _one_writer_at_a_time(command: Callable[..., int]) -> Callable[..., int]:
    """Run `command` under the repository's write lock (not for --dry-run or --check): the
    files are read, planned and written by one run at a time, never interleaved."""

    @functools.wraps(command)
    def locked(**kwargs: Any) -> int:
        root = Path(kwargs["root"])
        if kwargs["dry_run"] or kwargs["check"] or kwargs["explain"] or not root.is_dir():
            return command(**kwargs)
        from mab.files.writeset import repo_lock

        with repo_lock(root.resolve()):
            return command(**kwargs)

    return locked


@click.command("init-ci")
@click.argument("root", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--github", "providers", flag_value="github", multiple=True, help="GitHub Actions.")
@click.option("--gitlab", "providers", flag_value="gitlab", multiple=True, help="GitLab CI.")
@click.option("--platform", "platforms", help="Comma-separated, e.g. linux/amd64,linux/arm64.")
@click.option("--strategy", type=click.Choice(STRATEGIES), help="native runners or qemu.")
@click.option("--cache", type=click.Choice(CACHE_BACKENDS), help="Layer cache backend.")
@click.option("--image", help="Image name without tag (default: from the git remote).")
@click.option("--workflow", help="GitHub workflow file name, without .yml (default: mab).")
@click.option("--default-branch", help="Branch whose builds write caches (default: detected).")
@click.option("--pin/--no-pin", default=None, help="Pin actions by commit SHA (default: pin).")
@click.option(
    "--sign/--no-sign", default=None, help="Sign published images with cosign (default: sign)."
)
@click.option("--sbom/--no-sbom", default=None, help="Attach SBOM attestations (default: attach).")
@click.option("--runner", "runners", multiple=True, help="PLATFORM=LABEL GitHub runner.")
@click.option(
    "--gitlab-runner",
    type=click.Choice(GITLAB_RUNNERS),
    help="GitLab profile: dind, shell, or mab (jobs run `mab build --ci`).",
)
@click.option("--gitlab-tag", "gitlab_tags", multiple=True, help="PLATFORM=TAG runner tag.")
@click.option("--use-action", is_flag=True, default=None, help="Use mab's composite action.")
@click.option("--action", "action", help="With --use-action: OWNER/REPO/PATH@REF of the action.")
@click.option("--use-component", help="GitLab: include mab's CI/CD component REF instead.")
@click.option("--s3-bucket", help="S3 cache bucket (with --cache s3).")
@click.option("--s3-region", help="S3 cache region (with --cache s3).")
@click.option("--s3-prefix", help="S3 cache key prefix (default: mab-cache/).")
@click.option("--dry-run", is_flag=True, help="Print a unified diff; write nothing.")
@click.option("--check", is_flag=True, help="Exit 1 if any file differs from what mab writes.")
@click.option("--force", is_flag=True, help="Merge into files mab did not create.")
@click.option(
    "--replace",
    metavar="FILE",
    help="Take over the jobs of workflow FILE that already push these images.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Print the images found and each field's evidence; write nothing.",
)
@_one_writer_at_a_time
def init_ci_command(
    root: Path,
    providers: tuple[Provider, ...],
    platforms: str | None,
    strategy: Strategy | None,
    cache: CacheBackend | None,
    image: str | None,
    workflow: str | None,
    default_branch: str | None,
    pin: bool | None,
    sign: bool | None,
    sbom: bool | None,
    runners: tuple[str, ...],
    gitlab_runner: GitlabRunner | None,
    gitlab_tags: tuple[str, ...],
    use_action: bool | None,
    action: str | None,
    use_component: str | None,
    s3_bucket: str | None,
    s3_region: str | None,
    s3_prefix: str | None,
    dry_run: bool,
    check: bool,
    force: bool,
    replace: str | None,
    explain: bool,
) -> int:
    """Detect the Dockerfiles, lockfiles and remote in ROOT and write cache-aware CI pipelines.

    Choices are kept in .mab.yml; flags override it. Re-running updates only what mab owns.
    """
    if dry_run and check:
        raise UserError("--dry-run and --check do not go together", hint="use one of them")
    if not root.is_dir():
        raise UserError(f"{root}: no such directory")
    root = root.resolve()
    file_settings = load_config(root)
    settings = file_settings or Settings()
    if default_branch is None and not explain and "default-branch" not in named_in_file(root):
        default_branch = detect_default_branch(root)
    s3 = None
    if s3_bucket or s3_region or s3_prefix:
        current = settings.s3
        bucket = s3_bucket or (current.bucket if current else None)
        region = s3_region or (current.region if current else None)
        if not bucket or not region:
            raise UserError("--cache s3 needs a bucket and a region", hint="pass both flags")
        prefix = s3_prefix or (current.prefix if current else None)
        s3 = S3Cache(bucket=bucket, region=region, **({"prefix": prefix} if prefix else {}))
    settings = override(
        settings,
        {
            "providers": tuple(dict.fromkeys(providers)) or None,
            "platforms": parse_platforms(platforms) if platforms else None,
            "strategy": strategy,
            "cache": cache,
            "image": image,
            "github.workflow": workflow,
            "default_branch": default_branch,
            "pin": pin,
            "sign": sign,
            "sbom": sbom,
            "github.runners": _runner_labels(runners, "--runner"),
            "gitlab.runner": gitlab_runner,
            "gitlab.tags": _runner_labels(gitlab_tags, "--gitlab-tag"),
            "github.use_action": use_action,
            "github.action": action,
            "gitlab.component": use_component,
            "s3": s3,
        },
        hint="pass --s3-bucket and --s3-region (and optionally --s3-prefix)",
    )
    project = detect(root, image_requests(root, settings))
    for warning in project.warnings:
        click.echo(f"mab: warning: {warning}", err=True)
    if explain:
        click.echo(explain_images(project), nl=False)
        return 0
    report_skipped(project)
    if not project.images:
        raise UserError(
            f"no Dockerfile found under {root} that builds an image",
            hint="mab looks for Dockerfile, *.Dockerfile, Dockerfile.*, Containerfile, and "
            "build sections of compose/bake files; run it in your repository's root, or name "
            "a Dockerfile under `images:` in .mab.yml",
        )
    project = apply_image_overrides(project, settings)
    settings = adopt_platforms(root, project, settings, given=platforms is not None)
    for line in images_summary(project):
        click.echo(f"mab: image {line}", err=True)
    require_image(project, settings, writes=not (dry_run or check))
    settings, replacing = guard(root, project, settings, replace, writes=not (dry_run or check))
    chosen = choose_providers(root, project, settings.providers)
    settings = override(settings, {"providers": chosen})
    files: list[PlannedFile] = []
    if "github" in settings.providers:
        given = action is not None
        files.append(
            plan_github(
                root,
                project,
                settings,
                force,
                action_given=given,
                replacing=replacing if replace else None,
            )
        )
    if "gitlab" in settings.providers:
        files.extend(plan_gitlab(root, project, settings, force))
    files.append(plan_config(root, settings))
    return apply(root, files, dry_run=dry_run, check=check)
