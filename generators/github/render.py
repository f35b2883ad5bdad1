"""The GitHub Actions workflow for a project's multi-arch images. Pure: a model in, a map out.

`workflow(project, settings)` returns a ruamel `CommentedMap` (dump it with
`mab.files.yamlio.dump_roundtrip`). What it builds, and why:

Jobs and ids
    One image: jobs `build` (and `merge` with the native strategy). Several images: `build-<image>`
    and `merge-<image>`. Every step mab writes has an id starting with `mab-`; steps without one
    are the user's and survive a re-run of `mab init-ci`.

Strategy `native` (default)
    `build` is a matrix with one entry per platform, each on a native runner
    (`ubuntu-24.04`, `ubuntu-24.04-arm`; a platform without one runs on `ubuntu-24.04` under
    QEMU). Each entry pushes its image by digest only, and uploads the digest as a one-day
    artifact. `merge` downloads the digests, asks docker/metadata-action for the tags, and joins
    the digests into one multi-platform index with `docker buildx imagetools create`, then
    inspects it. Pull requests build every platform without pushing, and skip `merge`.

Strategy `qemu`
    One job builds all platforms in one build under emulation and pushes the index directly.
    One build has only one `cache-to`, and a multi-platform cache export keeps a single
    platform's records (docker/buildx#1044). So, where caches are written, the job runs one more
    build per platform with `outputs: type=cacheonly` and that platform's `cache-to`: the layers
    are all in the builder already, so these only export. The caches end up where the native
    strategy puts them, so switching strategies keeps them warm.

Layer cache (`Settings.cache`), one per platform; see `layercache` and `mab.registry.cacherefs`
    `registry`: `<image>:buildcache-<os>-<arch>`, `mode=max`, OCI image manifest,
    `ignore-error=true`. `gha`: a `scope` per image and platform. `local`: a directory carried by
    actions/cache. `s3`: per-platform names under the configured prefix, credentials from the
    `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` secrets.

Dependency caches; see `depcache`
    For each `RUN --mount=type=cache` directory in the Dockerfile: actions/cache keyed
    `<os>-<arch>-<tool>[-<image>]-<hash of its lockfiles>` with the key minus the hash as restore
    key, carried into BuildKit with buildkit-cache-dance (skipped extraction on an exact hit).

Security
    Top-level `permissions: {}`; each job asks for `contents: read`, plus `packages: write`
    where it pushes to GHCR. Checkout never persists credentials. No expression is expanded
    inside a `run:` script; values reach scripts through `env`. Caches are written only by
    pushes and manual runs on the default branch (`ghexpr.CACHE_WRITE`): pull requests, tags
    and other branches use `actions/cache/restore` and get no `cache-to`. The full
    actions/cache steps say so beside their `uses:` line for zizmor's cache-poisoning audit.
    Registry logins happen wherever secrets exist (not on pull requests from forks). Actions
    are pinned by commit SHA with the version beside it (`Settings.pin`), from `pins`.

With `--use-action` (`use_action=True`)
    Each build job checks out, logs in and runs mab's composite action (`actions/build`) in
    place of the expanded steps: it sets up Python, mab, QEMU and a builder as needed, reads
    and writes the same per-platform registry layer caches (read-only on pull requests and
    tags) and writes the job summary. The digest, artifact and merge steps
    are the same as above. Dependency caches stay with the expanded workflow.

Concurrency
    A newer run of the same pull request cancels the older one. Pushes are never cancelled
    while running (an interrupted push leaves a half-published image or cache); a newer push
    to the same ref only replaces one still waiting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from mab.config.settings import GITHUB_DEFAULT_RUNNER, Settings, platform_slug
from mab.detection.project import Image, Project
from mab.errors import UserError
from mab.files.merge import set_note
from mab.generators.depcache import (
    SUGGESTED_TARGETS,
    DepCache,
    dep_caches,
    hash_files_expr,
    split_build_outputs,
    uncarried,
)
from mab.registry import cacherefs

from . import ghexpr
from .layercache import CACHE_POISONING, LayerCache, layer_cache
from .steps import action_step, commented_map, mab_action_step, run_step

CONCURRENCY_GROUP = "${{ github.workflow }}-${{ github.event.pull_request.number || github.ref }}"
BUILD_TIMEOUT_MINUTES = 60
MERGE_TIMEOUT_MINUTES = 15
DIGEST_DIR = "${{ runner.temp }}/mab-digests"
DEP_CACHE_ROOT = "${{ runner.temp }}/mab-cache"
MATRIX_SLUG = "${{ matrix.slug }}"
RUN_ID = "${{ github.run_id }}"
# The layer caches a workflow around mab's composite action can use: `gha` needs the runner's
# cache token, which GitHub gives JavaScript actions only, not the action's `run:` steps.
ACTION_CACHES = ("registry",)
METADATA_TAGS = (
    "type=ref,event=branch",
    "type=semver,pattern={{version}}",
    "type=semver,pattern={{major}}.{{minor}}",
    "type=sha",
)
_MERGE_SCRIPT = """
tags=()
while IFS= read -r tag; do
  if [ -n "$tag" ]; then tags+=(--tag "$tag"); fi
done <<< "$MAB_TAGS"
digests=()
for digest in *; do digests+=("$MAB_IMAGE@sha256:$digest"); done
docker buildx imagetools create "${tags[@]}" "${digests[@]}"
"""
_INSPECT_SCRIPT = 'docker buildx imagetools inspect "$MAB_IMAGE:$MAB_VERSION"'
# The cache-export builds only re-export what the main build made: no summary, no record.
_QUIET_BUILD = {"DOCKER_BUILD_SUMMARY": "false", "DOCKER_BUILD_RECORD_UPLOAD": "false"}
_DIGEST_SCRIPT = """
mkdir -p "$RUNNER_TEMP/mab-digests"
touch "$RUNNER_TEMP/mab-digests/${MAB_DIGEST#sha256:}"
"""


@dataclass(frozen=True)
class _Target:
    """One image and everything derived from it once."""

    image: Image
    ref: str  # registry/name without tag
    suffix: str  # "" or "-<image>" for job ids
    many: bool  # more than one image in the project

    @property
    def label(self) -> str:
        return self.image.name

    @property
    def registry(self) -> str:
        return cacherefs.registry_host(self.ref)


def _job_suffix(name: str) -> str:
    return "-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def workflow(project: Project, settings: Settings, *, use_action: bool = False) -> CommentedMap:
    if not project.images:
        raise UserError(
            "no image to build: mab found no Dockerfile, compose service or bake target",
            hint="add a Dockerfile (or pass --dockerfile), then run `mab init-ci` again",
        )
    many = len(project.images) > 1
    targets = [
        _Target(
            image,
            cacherefs.image_ref(project, settings, image),
            _job_suffix(image.name) if many else "",
            many,
        )
        for image in project.images
    ]
    if use_action and settings.cache not in ACTION_CACHES:
        raise UserError(
            f"--use-action supports the {' and '.join(ACTION_CACHES)} layer cache, "
            f"not {settings.cache}",
            hint="choose --cache registry, or drop --use-action for the expanded workflow",
        )
    jobs: dict[str, Any] = {}
    for t in targets:
        if use_action:
            jobs[f"build{t.suffix}"] = _action_build_job(t, settings)
            if settings.strategy != "qemu":
                jobs[f"merge{t.suffix}"] = _merge_job(t, settings)
        elif settings.strategy == "qemu":
            jobs[f"build{t.suffix}"] = _qemu_job(t, settings)
        else:
            jobs[f"build{t.suffix}"] = _native_build_job(t, settings)
            jobs[f"merge{t.suffix}"] = _merge_job(t, settings)
    doc = commented_map(
        {
            "name": "Container images",
            "on": {
                "push": {"branches": [settings.default_branch], "tags": ["v*"]},
                "pull_request": {"branches": [settings.default_branch]},
                "workflow_dispatch": None,
            },
            "permissions": {},
            "env": {ghexpr.DEFAULT_BRANCH_ENV: settings.default_branch},
            "concurrency": {
                "group": CONCURRENCY_GROUP,
                "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
            },
            "jobs": jobs,
        }
    )
    return doc


# --- jobs ------------------------------------------------------------------------------------


def _permissions(t: _Target, *, checkout: bool) -> CommentedMap:
    perms = CommentedMap(contents="read")
    perms.yaml_add_eol_comment(
        "check out the code" if checkout else "metadata-action reads the repository's details",
        "contents",
    )
    if t.registry == "ghcr.io":
        perms["packages"] = "write"
        perms.yaml_add_eol_comment("push the image and its layer cache to GHCR", "packages")
    return perms


def _native_build_job(t: _Target, settings: Settings) -> CommentedMap:
    emulated = [p for p in settings.platforms if settings.github_runner(p) is None]
    cache = layer_cache(settings, t.ref, t.image.name, (MATRIX_SLUG,), MATRIX_SLUG)
    deps = dep_caches(t.image)
    steps: list[CommentedMap] = [_checkout(settings)]
    if emulated:
        steps.append(_qemu(settings, "${{ matrix.platform }}", if_="matrix.emulated"))
    steps += [_buildx(settings), _login(t, settings), _metadata(t, settings, tags=False)]
    steps += cache.before
    steps += _dep_cache_steps(t, settings, deps, MATRIX_SLUG)
    build_with = _build_inputs(t, "${{ matrix.platform }}")
    build_with["labels"] = "${{ steps.mab-meta.outputs.labels }}"
    build_with["outputs"] = (
        f"type=image,name={t.ref},push-by-digest=true,name-canonical=true,"
        f"push=${{{{ {ghexpr.PUBLISH} }}}}"
    )
    build_with["cache-from"] = "\n".join(cache.cache_from)
    build_with["cache-to"] = ghexpr.when(ghexpr.CACHE_WRITE, cache.cache_to[0][1])
    steps.append(
        _build_push("mab-build", "Build and push by digest", settings, build_with, cache.env)
    )
    steps += cache.after
    steps += _digest_steps(t, settings)
    job = _matrix_job(t, settings, steps)
    _note_missing_cache_mounts(job, t, deps)
    return job


def _matrix_include(settings: Settings) -> list[dict[str, Any]]:
    include: list[dict[str, Any]] = []
    emulated = [p for p in settings.platforms if settings.github_runner(p) is None]
    for p in settings.platforms:
        entry: dict[str, Any] = {
            "platform": p,
            "runner": settings.github_runner(p) or GITHUB_DEFAULT_RUNNER,
            "slug": platform_slug(p),
        }
        if emulated:
            entry["emulated"] = p in emulated
        include.append(entry)
    return include


def _matrix_job(t: _Target, settings: Settings, steps: list[CommentedMap]) -> CommentedMap:
    return commented_map(
        {
            "name": f"Build {t.label} (${{{{ matrix.platform }}}})",
            "runs-on": "${{ matrix.runner }}",
            "timeout-minutes": BUILD_TIMEOUT_MINUTES,
            "permissions": _permissions(t, checkout=True),
            "strategy": {"fail-fast": False, "matrix": {"include": _matrix_include(settings)}},
            "steps": steps,
        }
    )


def _digest_steps(t: _Target, settings: Settings) -> list[CommentedMap]:
    """Keep the pushed digest and upload it for the merge job."""
    return [
        run_step(
            "mab-digest",
            "Keep the digest",
            _DIGEST_SCRIPT,
            if_=ghexpr.PUBLISH,
            env={"MAB_DIGEST": "${{ steps.mab-build.outputs.digest }}"},
        ),
        action_step(
            "mab-upload-digest",
            "Upload the digest",
            "actions/upload-artifact",
            pin=settings.pin,
            if_=ghexpr.PUBLISH,
            with_={
                "name": f"{_artifact_prefix(t)}{MATRIX_SLUG}",
                "path": f"{DIGEST_DIR}/*",
                "if-no-files-found": "error",
                "retention-days": 1,
            },
        ),
    ]


def _action_build_job(t: _Target, settings: Settings) -> CommentedMap:
    """A build job around mab's composite action (see the module doc)."""
    native = settings.strategy != "qemu"
    steps: list[CommentedMap] = [_checkout(settings), _login(t, settings)]
    inputs: dict[str, Any] = {"context": t.image.context, "file": t.image.dockerfile}
    if t.image.target:
        inputs["target"] = t.image.target
    if t.image.args:
        inputs["build-args"] = "\n".join(f"{k}={v}" for k, v in t.image.args)
    inputs["image"] = t.ref
    if native:
        inputs["platforms"] = "${{ matrix.platform }}"
    else:
        steps.append(_metadata(t, settings, tags=True))
        inputs["platforms"] = ",".join(settings.platforms)
        inputs["tags"] = "${{ steps.mab-meta.outputs.tags }}"
    inputs["push"] = ghexpr.wrap(ghexpr.PUBLISH)
    inputs["cache-backend"] = settings.cache
    inputs["cache-read-only"] = ghexpr.wrap(ghexpr.CACHE_READ_ONLY)
    steps.append(mab_action_step("mab-build", f"Build {t.label} with mab", with_=inputs))
    if native:
        steps += _digest_steps(t, settings)
        return _matrix_job(t, settings, steps)
    return commented_map(
        {
            "name": f"Build {t.label}",
            "runs-on": GITHUB_DEFAULT_RUNNER,
            "timeout-minutes": BUILD_TIMEOUT_MINUTES * 2,
            "permissions": _permissions(t, checkout=True),
            "steps": steps,
        }
    )


def _merge_job(t: _Target, settings: Settings) -> CommentedMap:
    env = {"MAB_IMAGE": t.ref}
    steps = [
        action_step(
            "mab-download-digests",
            "Download the digests",
            "actions/download-artifact",
            pin=settings.pin,
            with_={
                "path": DIGEST_DIR,
                "pattern": _artifact_pattern(t, settings),
                "merge-multiple": True,
            },
        ),
        _buildx(settings),
        _login(t, settings),
        _metadata(t, settings, tags=True),
        run_step(
            "mab-manifest",
            "Create the multi-platform image",
            _MERGE_SCRIPT,
            working_directory=DIGEST_DIR,
            env={**env, "MAB_TAGS": "${{ steps.mab-meta.outputs.tags }}"},
        ),
        run_step(
            "mab-inspect",
            "Inspect the image",
            _INSPECT_SCRIPT,
            env={**env, "MAB_VERSION": "${{ steps.mab-meta.outputs.version }}"},
        ),
    ]
    return commented_map(
        {
            "name": f"Publish {t.label}",
            "needs": f"build{t.suffix}",
            "if": ghexpr.PUBLISH,
            "runs-on": GITHUB_DEFAULT_RUNNER,
            "timeout-minutes": MERGE_TIMEOUT_MINUTES,
            "permissions": _permissions(t, checkout=False),
            "steps": steps,
        }
    )


def _qemu_job(t: _Target, settings: Settings) -> CommentedMap:
    platforms = settings.platforms
    key_prefix = _platforms_token(platforms)
    cache: LayerCache = layer_cache(settings, t.ref, t.image.name, platforms, key_prefix)
    deps = dep_caches(t.image)
    steps: list[CommentedMap] = [
        _checkout(settings),
        _qemu(settings, ",".join(platforms)),
        _buildx(settings),
        _login(t, settings),
        _metadata(t, settings, tags=True),
    ]
    steps += cache.before
    steps += _dep_cache_steps(t, settings, deps, key_prefix)
    build_with = _build_inputs(t, ",".join(platforms))
    build_with["push"] = f"${{{{ {ghexpr.PUBLISH} }}}}"
    build_with["tags"] = "${{ steps.mab-meta.outputs.tags }}"
    build_with["labels"] = "${{ steps.mab-meta.outputs.labels }}"
    build_with["cache-from"] = "\n".join(cache.cache_from)
    steps.append(
        _build_push("mab-build", "Build and push all platforms", settings, build_with, cache.env)
    )
    for platform, cache_to in cache.cache_to:
        export_with = _build_inputs(t, platform)
        export_with["outputs"] = "type=cacheonly"
        export_with["provenance"] = False
        export_with["cache-to"] = cache_to
        steps.append(
            _build_push(
                f"mab-cache-export-{platform_slug(platform)}",
                f"Export the {platform} layer cache",
                settings,
                export_with,
                {**cache.env, **_QUIET_BUILD},
                if_=ghexpr.CACHE_WRITE,
            )
        )
    steps += cache.after
    job = commented_map(
        {
            "name": f"Build {t.label}",
            "runs-on": GITHUB_DEFAULT_RUNNER,
            "timeout-minutes": BUILD_TIMEOUT_MINUTES * 2,
            "permissions": _permissions(t, checkout=True),
            "steps": steps,
        }
    )
    _note_missing_cache_mounts(job, t, deps)
    return job


# --- steps -----------------------------------------------------------------------------------


def _checkout(settings: Settings) -> CommentedMap:
    return action_step(
        "mab-checkout",
        "Check out",
        "actions/checkout",
        pin=settings.pin,
        with_={"persist-credentials": False},
    )


def _qemu(settings: Settings, platforms: str, if_: str | None = None) -> CommentedMap:
    return action_step(
        "mab-qemu",
        "Set up QEMU",
        "docker/setup-qemu-action",
        pin=settings.pin,
        if_=if_,
        with_={"platforms": platforms},
    )


def _buildx(settings: Settings) -> CommentedMap:
    return action_step(
        "mab-buildx", "Set up Buildx", "docker/setup-buildx-action", pin=settings.pin
    )


def _login(t: _Target, settings: Settings) -> CommentedMap:
    inputs: dict[str, str] = {}
    if t.registry != "docker.io":
        inputs["registry"] = t.registry
    if t.registry == "ghcr.io":
        inputs["username"] = settings.registry_user or "${{ github.actor }}"
        inputs["password"] = "${{ secrets.GITHUB_TOKEN }}"
    else:
        inputs["username"] = settings.registry_user or "${{ secrets.REGISTRY_USERNAME }}"
        inputs["password"] = "${{ secrets.REGISTRY_PASSWORD }}"
    return action_step(
        "mab-login",
        f"Log in to {t.registry}",
        "docker/login-action",
        pin=settings.pin,
        if_=ghexpr.LOGIN,
        with_=inputs,
    )


def _metadata(t: _Target, settings: Settings, *, tags: bool) -> CommentedMap:
    inputs: dict[str, str] = {"images": t.ref}
    if tags:
        inputs["tags"] = "\n".join(METADATA_TAGS)
    return action_step(
        "mab-meta",
        "Tags and labels" if tags else "Labels",
        "docker/metadata-action",
        pin=settings.pin,
        with_=inputs,
    )


def _build_push(
    step_id: str,
    name: str,
    settings: Settings,
    inputs: dict[str, Any],
    env: dict[str, str],
    *,
    if_: str | None = None,
) -> CommentedMap:
    return action_step(
        step_id,
        name,
        "docker/build-push-action",
        pin=settings.pin,
        if_=if_,
        with_=inputs,
        env=env or None,
    )


def _build_inputs(t: _Target, platforms: str) -> dict[str, Any]:
    image = t.image
    inputs: dict[str, Any] = {"context": image.context, "file": image.dockerfile}
    if image.target:
        inputs["target"] = image.target
    if image.args:
        inputs["build-args"] = "\n".join(f"{k}={v}" for k, v in image.args)
    inputs["platforms"] = platforms
    return inputs


def _artifact_prefix(t: _Target) -> str:
    return f"digests-{t.image.name}-" if t.many else "digests-"


def _artifact_pattern(t: _Target, settings: Settings) -> str:
    """Matches this image's digests only, even beside an image named `<this>-<more>`."""
    oses = sorted({p.split("/", 1)[0] for p in settings.platforms})
    if len(oses) == 1:
        return f"{_artifact_prefix(t)}{oses[0]}-*"
    return f"{_artifact_prefix(t)}*"


def _platforms_token(platforms: tuple[str, ...]) -> str:
    """ "linux-amd64+arm64": names what one emulated job's caches hold."""
    oses = {p.split("/", 1)[0] for p in platforms}
    if len(oses) == 1:
        return f"{oses.pop()}-" + "+".join(platform_slug(p.split("/", 1)[1]) for p in platforms)
    return "+".join(platform_slug(p) for p in platforms)


def _dep_cache_steps(
    t: _Target, settings: Settings, deps: tuple[DepCache, ...], key_prefix: str
) -> list[CommentedMap]:
    if not deps:
        return []
    steps: list[CommentedMap] = []
    image_part = f"-{t.image.name}" if t.many else ""
    root = f"{DEP_CACHE_ROOT}{image_part}"
    hits: list[str] = []
    cache_map: dict[str, Any] = {}
    for dep in split_build_outputs(deps):
        prefix = f"{key_prefix}-{dep.tool}{image_part}-"
        locked = prefix + hash_files_expr(dep.key_files)
        inputs = {
            "path": "\n".join(f"{root}/{m.runner_dir}" for m in dep.mounts),
            # actions/cache never saves over an exact hit: build output gets a key per run,
            # restored from the newest one with the same lockfiles, then from any.
            "key": f"{locked}-{RUN_ID}" if dep.per_run else locked,
            "restore-keys": f"{locked}-\n{prefix}" if dep.per_run else prefix,
        }
        step_id = f"mab-cache-{dep.tool}"
        steps.append(
            action_step(
                step_id,
                f"Restore and save the {dep.tool} cache",
                "actions/cache",
                pin=settings.pin,
                if_=ghexpr.CACHE_WRITE,
                with_=inputs,
                ignore=CACHE_POISONING,
            )
        )
        steps.append(
            action_step(
                f"{step_id}-ro",
                f"Restore the {dep.tool} cache (read-only)",
                "actions/cache/restore",
                pin=settings.pin,
                if_=ghexpr.CACHE_READ_ONLY,
                with_=inputs,
            )
        )
        hits.append(f"steps.{step_id}.outputs.cache-hit == 'true'")
        for m in dep.mounts:
            cache_map[f"{root}/{m.runner_dir}"] = m.cache_map_value()
    skip = f"{ghexpr.CACHE_READ_ONLY} || ({' && '.join(hits)})"
    steps.append(
        action_step(
            "mab-cache-dance",
            "Carry the cache mounts into BuildKit",
            "reproducible-containers/buildkit-cache-dance",
            pin=settings.pin,
            with_={
                "builder": "${{ steps.mab-buildx.outputs.name }}",
                "cache-map": json.dumps(cache_map, indent=2) + "\n",
                "scratch-dir": "${{ runner.temp }}/mab-dance-scratch",
                "skip-extraction": ghexpr.wrap(skip),
            },
        )
    )
    return steps


def _note_missing_cache_mounts(job: CommentedMap, t: _Target, deps: tuple[DepCache, ...]) -> None:
    """Say which ecosystems get no dependency cache, and how to give them one."""
    carried = {d.tool for d in deps}
    missing = [e for e in t.image.ecosystems if e not in carried]
    lines = []
    if missing:
        tools = ", ".join(missing)
        dockerfile = t.image.dockerfile
        lines.append(f"No dependency cache for {tools}: {dockerfile} mounts no cache for it.")
        for tool in missing:
            target = SUGGESTED_TARGETS.get(tool)
            if target:
                mount = f"--mount=type=cache,target={target}"
                lines.append(f"  {tool}: add {mount} to its install RUN.")
        lines.append(
            "`mab lint --fix` adds it; then run `mab init-ci` again to carry it between runs."
        )
    lines.extend(
        f"Not carried between runs: the cache mount on {m.target} (line {m.line}) starts "
        f"from stage {m.source_stage} (from=), which only the build itself can make."
        for m in uncarried(t.image)
    )
    if not lines:
        return
    text = "\n".join(lines)
    set_note(job, "steps", text, indent=4)
