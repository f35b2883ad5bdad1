"""The GitHub Actions workflow for a project's multi-arch images. Pure: a model in, a map out.

`workflow(project, settings)` returns a ruamel `CommentedMap` (dump it with
`mab.files.yamlio.dump_roundtrip`). What it builds, and why:

Jobs
    Two jobs whatever the number of images, so the file stays short: `build`, over a matrix
    of image by platform, and `merge`, over the images (`matrix`: every value that differs
    between images is a value of its matrix entry). With N images the workflow is about
    150 + 10·N lines. Every step mab writes has an id starting with `mab-`; steps without one
    are the user's and survive a re-run of `mab init-ci`.

Strategy `native` (default)
    Each platform of each image is built on a native runner (`ubuntu-24.04`,
    `ubuntu-24.04-arm`; a platform without one runs on `ubuntu-24.04` under QEMU), pushed by
    digest only, and the digest uploaded as a one-day artifact. `merge` downloads an image's
    digests, checks one came from every platform, asks docker/metadata-action for the tags,
    and joins the digests into one multi-platform index with `docker buildx imagetools
    create`, then inspects it. One image's failed build stops only that image's merge. Pull
    requests build every platform without pushing, and skip `merge`.

Strategy `qemu`
    `build` runs over the images only and builds all platforms in one build under emulation,
    pushing the index directly. One build has only one `cache-to`, and a multi-platform cache
    export keeps a single platform's records (docker/buildx#1044). So, where caches are
    written, the job runs one more build per platform with `outputs: type=cacheonly` and that
    platform's `cache-to`: the layers are all in the builder already, so these only export.
    The caches end up where the native strategy puts them, so switching strategies keeps them
    warm.

Layer cache (`Settings.cache`), one per image and platform; see `layercache`
    `registry`: `<image>:buildcache-<os>-<arch>`, `mode=max`, OCI image manifest,
    `ignore-error=true`. `gha`: a `scope` per image and platform. `local`: a directory carried
    by actions/cache. `s3`: per-platform names under the configured prefix, credentials from
    the `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` secrets.

Dependency caches; see `depsteps`
    The Dockerfile's `RUN --mount=type=cache` directories, carried between runs with
    actions/cache and buildkit-cache-dance: downloads keyed on their lockfiles, build output
    per run.

Security
    Top-level `permissions: {}`; each job asks for `contents: read`, plus `packages: write`
    where it pushes to GHCR. Checkout never persists credentials. No expression is expanded
    inside a `run:` script; values reach scripts through `env`. Caches are written only by
    pushes and manual runs on the default branch (`ghexpr.CACHE_WRITE`): pull requests, tags
    and other branches use `actions/cache/restore` and get no `cache-to`. The full
    actions/cache steps say so beside their `uses:` line for zizmor's cache-poisoning audit.
    Registry logins happen wherever secrets exist (not on pull requests from forks). Actions
    are pinned by commit SHA with the version beside it (`Settings.pin`), from `pins`.

With `--use-action` (`use_action=True`); see `actionjobs`
    The build job checks out, logs in and runs mab's composite action (`actions/build`) in
    place of the expanded steps. The digest, artifact and merge steps are the same as above.

Concurrency
    A newer run of the same pull request cancels the older one. Pushes are never cancelled
    while running (an interrupted push leaves a half-published image or cache); a newer push
    to the same ref only replaces one still waiting.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from mab.config.distribution import ActionRef, default_action
from mab.config.settings import GITHUB_DEFAULT_RUNNER, Settings, platform_slug
from mab.detection.project import Project
from mab.errors import UserError
from mab.registry import cacherefs

from . import actionjobs, ghexpr
from .actionsteps import (
    ARTIFACT_PATTERN,
    DIGEST_DIR,
    IMAGE_NAME,
    IMAGE_REF,
    PLATFORM_NAME,
    PLATFORM_SLUG,
    build_push,
    buildx,
    checkout,
    digest_steps,
    image_inputs,
    image_output,
    logins,
    metadata,
    qemu,
)
from .depsteps import dep_cache_steps
from .jobparts import build_job, permissions, registries
from .layercache import layer_cache
from .matrix import Target, entry_keys, merge_entry
from .release import attest_inputs, keep_digest, release_jobs
from .steps import action_step, commented_map, pre_build, run_step

CONCURRENCY_GROUP = "${{ github.workflow }}-${{ github.event.pull_request.number || github.ref }}"
MERGE_TIMEOUT_MINUTES = 15
MAX_MATRIX_JOBS = 256  # GitHub's limit on the jobs one matrix makes
# An image's merge runs when its own digests are all there, whatever happened to the others.
MERGE_IF = f"!cancelled() && {ghexpr.PUBLISH}"
_MERGE_SCRIPT = """
shopt -s nullglob
digests=(*)
if [ "${#digests[@]}" -ne "$MAB_PLATFORMS" ]; then
  echo "::error title=mab::$MAB_IMAGE: ${#digests[@]} of $MAB_PLATFORMS platforms built"
  exit 1
fi
mapfile -t tags < <(printf '%s\\n' "$MAB_TAGS" | sed -e '/^$/d' -e 's/^/--tag=/')
docker buildx imagetools create "${tags[@]}" "${digests[@]/#/$MAB_IMAGE@sha256:}"
"""
_INSPECT_SCRIPT = 'docker buildx imagetools inspect "$MAB_IMAGE:$MAB_VERSION"'
# The cache-export builds only re-export what the main build made: no summary, no record.
_QUIET_BUILD = {"DOCKER_BUILD_SUMMARY": "false", "DOCKER_BUILD_RECORD_UPLOAD": "false"}


def targets_of(project: Project, settings: Settings) -> list[Target]:
    if not project.images:
        raise UserError(
            "no image to build: mab found no Dockerfile, compose service or bake target",
            hint="add a Dockerfile (or pass --dockerfile), then run `mab init-ci` again",
        )
    targets = []
    for image in project.images:
        ref = cacherefs.image_ref(project, settings, image)
        targets.append(Target(image, ref, cacherefs.registry_host(ref)))
    return targets


def workflow(
    project: Project,
    settings: Settings,
    *,
    use_action: bool = False,
    action: ActionRef | None = None,
) -> CommentedMap:
    """`action`: mab's composite action for `use_action` (default: mab's own repository)."""
    targets = targets_of(project, settings)
    jobs: dict[str, Any]
    if use_action:
        jobs = actionjobs.jobs(targets, settings, action or default_action())
    elif settings.strategy == "qemu":
        jobs = {"build": _qemu_job(targets, settings)}
    else:
        jobs = {"build": _native_build_job(targets, settings)}
    if settings.strategy != "qemu":
        jobs["merge"] = merge_job(targets, settings)
    if settings.strategy != "qemu":
        jobs.update(release_jobs(targets, settings, "merge"))
    elif not use_action:  # mab's action keeps no digest of a one-job build: nothing to sign
        jobs.update(release_jobs(targets, settings, "build"))
    branch = ghexpr.branch_filter(settings.default_branch)
    return commented_map(
        {
            "name": "Container images",
            "on": {
                "push": {"branches": [branch], "tags": list(project.release_tags)},
                "pull_request": {"branches": [branch]},
                "workflow_dispatch": None,
            },
            "permissions": {},
            "env": {ghexpr.DEFAULT_BRANCH_ENV: ghexpr.text_value(settings.default_branch)},
            "concurrency": {
                "group": CONCURRENCY_GROUP,
                "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
            },
            "jobs": jobs,
        }
    )


# --- jobs ------------------------------------------------------------------------------------


def _native_build_job(targets: list[Target], settings: Settings) -> CommentedMap:
    jobs = len(targets) * len(settings.platforms)
    if jobs > MAX_MATRIX_JOBS:
        raise UserError(
            f"{len(targets)} images x {len(settings.platforms)} platforms make {jobs} build "
            f"jobs; GitHub runs at most {MAX_MATRIX_JOBS} from one matrix",
            hint="split the images over several workflows (--workflow NAME and `images:` in "
            ".mab.yml), or use --strategy qemu (one job per image)",
        )
    keys = entry_keys(targets)
    emulated = [p for p in settings.platforms if settings.github_runner(p) is None]
    cache = layer_cache(settings, IMAGE_REF, IMAGE_NAME, (PLATFORM_SLUG,), PLATFORM_SLUG)
    steps: list[CommentedMap] = [checkout(settings)]
    if emulated:
        steps.append(qemu(settings, PLATFORM_NAME, if_="matrix.platform.emulated"))
    steps += [buildx(settings), *logins(registries(targets), settings)]
    steps.append(metadata(settings, tags=False))
    steps += cache.before
    steps += dep_cache_steps(settings, keys, PLATFORM_SLUG)
    steps += pre_build(keys)
    build_with = image_inputs(keys, PLATFORM_NAME)
    build_with["labels"] = "${{ steps.mab-meta.outputs.labels }}"
    build_with["outputs"] = image_output(settings, IMAGE_REF, PLATFORM_SLUG)
    build_with["cache-from"] = "\n".join(cache.cache_from)
    build_with["cache-to"] = ghexpr.when(ghexpr.CACHE_WRITE, cache.cache_to[0][1])
    build_with.update(attest_inputs(settings))
    steps.append(
        build_push("mab-build", "Build and push by digest", settings, build_with, cache.env)
    )
    steps += cache.after
    steps += digest_steps(settings)
    return build_job(targets, settings, steps, per_platform=True)


def merge_job(targets: list[Target], settings: Settings) -> CommentedMap:
    steps = [
        action_step(
            "mab-download-digests",
            "Download the digests",
            "actions/download-artifact",
            pin=settings.pin,
            with_={"path": DIGEST_DIR, "pattern": ARTIFACT_PATTERN, "merge-multiple": True},
        ),
        # `docker buildx imagetools` talks to the registry only: no builder to set up.
        *logins(registries(targets), settings),
        metadata(settings, tags=True),
        run_step(
            "mab-manifest",
            "Create the multi-platform image",
            _MERGE_SCRIPT,
            working_directory=DIGEST_DIR,
            env={
                "MAB_IMAGE": IMAGE_REF,
                "MAB_PLATFORMS": str(len(settings.platforms)),
                "MAB_TAGS": "${{ steps.mab-meta.outputs.tags }}",
            },
        ),
        run_step(
            "mab-inspect",
            "Inspect the image",
            _INSPECT_SCRIPT,
            env={"MAB_IMAGE": IMAGE_REF, "MAB_VERSION": "${{ steps.mab-meta.outputs.version }}"},
        ),
        *keep_digest(settings, from_build=False),
    ]
    return commented_map(
        {
            "name": f"Publish {IMAGE_NAME}",
            "needs": "build",
            "if": MERGE_IF,
            "runs-on": GITHUB_DEFAULT_RUNNER,
            "timeout-minutes": MERGE_TIMEOUT_MINUTES,
            "permissions": permissions(targets, checkout=False),
            "strategy": {
                "fail-fast": False,
                "matrix": {"image": [merge_entry(t) for t in targets]},
            },
            "steps": steps,
        }
    )


def _qemu_job(targets: list[Target], settings: Settings) -> CommentedMap:
    keys = entry_keys(targets)
    platforms = settings.platforms
    key_prefix = _platforms_token(platforms)
    cache = layer_cache(settings, IMAGE_REF, IMAGE_NAME, platforms, key_prefix)
    steps: list[CommentedMap] = [
        checkout(settings),
        qemu(settings, ",".join(platforms)),
        buildx(settings),
        *logins(registries(targets), settings),
        metadata(settings, tags=True),
    ]
    steps += cache.before
    steps += dep_cache_steps(settings, keys, key_prefix)
    steps += pre_build(keys)
    build_with = image_inputs(keys, ",".join(platforms))
    build_with["push"] = ghexpr.wrap(ghexpr.PUBLISH)
    build_with["tags"] = "${{ steps.mab-meta.outputs.tags }}"
    build_with["labels"] = "${{ steps.mab-meta.outputs.labels }}"
    build_with["cache-from"] = "\n".join(cache.cache_from)
    build_with.update(attest_inputs(settings))
    steps.append(
        build_push("mab-build", "Build and push all platforms", settings, build_with, cache.env)
    )
    steps += keep_digest(settings, from_build=True)
    for platform, cache_to in cache.cache_to:
        export_with = image_inputs(keys, platform)
        export_with["outputs"] = "type=cacheonly"
        export_with["provenance"] = False
        export_with["cache-to"] = cache_to
        steps.append(
            build_push(
                f"mab-cache-export-{platform_slug(platform)}",
                f"Export the {platform} layer cache",
                settings,
                export_with,
                {**cache.env, **_QUIET_BUILD},
                if_=ghexpr.CACHE_WRITE,
            )
        )
    steps += cache.after
    return build_job(targets, settings, steps, per_platform=False)


def _platforms_token(platforms: tuple[str, ...]) -> str:
    """ "linux-amd64+arm64": names what one emulated job's caches hold."""
    oses = {p.split("/", 1)[0] for p in platforms}
    if len(oses) == 1:
        return f"{oses.pop()}-" + "+".join(platform_slug(p.split("/", 1)[1]) for p in platforms)
    return "+".join(platform_slug(p) for p in platforms)
