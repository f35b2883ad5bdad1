"""Dependency caches of a GitLab build job: GitLab `cache:` entries carried into BuildKit.

A package manager in a container build runs inside BuildKit, so a GitLab cache only helps when
it is carried into a `RUN --mount=type=cache` directory; which directories an image has, and
which lockfiles key each, comes from `depcache.dep_caches` (shared with the GitHub generator).
With the Docker-in-Docker profile every job starts from an empty builder: the job restores the
GitLab cache, copies it into the cache mount before the build (`mab_cache_in`) and back out after
it (`mab_cache_out`), and GitLab saves it. Both name the mount with the uid, gid, mode and
sharing the Dockerfile writes (BuildKit keys a cache mount on them), and what goes in gets the
mount's owner; a mount whose options come from a variable, or from a stage (`from=`), cannot be
reproduced by the copy and is not carried. A shell runner's long-lived builder keeps its cache
mounts itself, so it gets no GitLab cache. Directories live under `.mab-cache/<image>/<tool>/`
(GitLab caches only paths inside the project directory).

Keys. GitLab allows at most four caches per job, and mab keeps `cache:key:files` to at most two
files (GitLab.com takes more now; self-managed instances before that change reject them):

- Keys start with `$CI_JOB_NAME_SLUG`, the build job's name (the image and, for a matrix job,
  its platform and runner tag): compiled caches differ per platform.
- One cache per tool (npm, pip, go, ...) with `key: {files: <its lockfiles>, prefix:
  <job>-<tool>}`, so a tool's cache changes exactly when its lockfiles do and an unrelated
  lockfile change leaves it alone. A tool with more than two lockfiles gets one cache per pair,
  all on the same directory: GitLab restores them over each other and saves the whole
  directory under each key, so any lockfile change gives a new key.
- One more cache, `<job>-deps-<ref slug>`, saved (`policy: push`) by every job with all the
  image's directories. It is what the per-tool caches fall back to
  (`fallback_keys`, most specific first: this ref's, then the default branch's), since GitLab
  fallback keys are exact keys, not prefixes, and a lockfile hash cannot be guessed.
- The per-tool caches are saved (`policy: pull-push`) only on the default branch, and only
  restored (`pull`) elsewhere (tags included), through `$MAB_DEPS_POLICY` set by the job's
  `rules:`: a branch cannot replace what the default branch restores for the same lockfiles.
- When the pairs would need more than three caches, the image gets one cache for all its tools
  instead, keyed on its first six key files; a comment names the files left out of the key.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from mab.detection.project import Image
from mab.generators.depcache import DepCache, Mount, dep_caches, uncarried

CACHE_ROOT = ".mab-cache"
MAX_CACHES = 4  # per job, GitLab's limit
MAX_KEY_FILES = 2  # per cache:key:files
POLICY_VARIABLE = "MAB_DEPS_POLICY"
POLICY_TRUSTED = "pull-push"
POLICY_OTHER = "pull"
# Keys are per build job: the job's name holds the image and, for a matrix job, its platforms
# and runner tag, and compiled caches (a Rust target directory, say) differ per platform.
JOB = "$CI_JOB_NAME_SLUG"


@dataclass(frozen=True)
class DepPlan:
    """The `cache:` entries and script lines of one image's build job."""

    caches: tuple[dict[str, Any], ...] = ()
    before: tuple[str, ...] = ()  # script lines before the build
    after: tuple[str, ...] = ()  # script lines after it
    unkeyed: tuple[str, ...] = ()  # key files left out of every key (too many)
    not_carried: tuple[str, ...] = ()  # a sentence per cache mount no copy can reach


NO_CACHES = DepPlan()


def _pairs(files: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [files[i : i + MAX_KEY_FILES] for i in range(0, len(files), MAX_KEY_FILES)]


def _keyed(
    groups: tuple[DepCache, ...], root: str
) -> tuple[list[tuple[str, tuple[str, ...], str]], tuple[str, ...]]:
    """(tool, key files, directory) per keyed cache, and the key files no key covers."""
    per_tool = [(g.tool, pair, f"{root}/{g.tool}/") for g in groups for pair in _pairs(g.key_files)]
    if len(per_tool) < MAX_CACHES:
        return per_tool, ()
    files = tuple(dict.fromkeys(f for g in groups for f in g.key_files))
    pairs = _pairs(files)[: MAX_CACHES - 1]
    covered = {f for pair in pairs for f in pair}
    return [("all", pair, f"{root}/") for pair in pairs], tuple(
        f for f in files if f not in covered
    )


def plan(image: Image) -> DepPlan:
    """The dependency caches of `image`'s build job."""
    groups = dep_caches(image)
    not_carried = uncarried(image)
    if not groups:
        return DepPlan(not_carried=not_carried)
    root = f"{CACHE_ROOT}/{image.name}"
    rolling = f"{JOB}-deps"
    fallback = [f"{rolling}-$CI_COMMIT_REF_SLUG", f"{rolling}-$CI_DEFAULT_BRANCH"]
    keyed, unkeyed = _keyed(groups, root)
    caches: list[dict[str, Any]] = [
        {
            "key": {"files": list(files), "prefix": f"{JOB}-{tool}"},
            "paths": [path],
            "policy": f"${POLICY_VARIABLE}",
            "fallback_keys": fallback,
        }
        for tool, files, path in keyed
    ]
    caches.append({"key": fallback[0], "paths": [f"{root}/"], "policy": "push"})
    mounts = [
        (f"{root}/{m.runner_dir}", m.id or m.target, m.target, *_options(m))
        for g in groups
        for m in g.mounts
    ]
    return DepPlan(
        caches=tuple(caches),
        # Once in BuildKit, the copies leave the project directory: a build context of "."
        # would otherwise carry them into `COPY . .` (and miss its layer cache every time).
        before=(*(_call("mab_cache_in", *m) for m in mounts), f"rm -rf {CACHE_ROOT}"),
        after=tuple(_call("mab_cache_out", *m) for m in mounts),
        unkeyed=unkeyed,
        not_carried=not_carried,
    )


def _options(mount: Mount) -> tuple[str, ...]:
    """The mount's own options (`uid=1000,gid=1000`) for the copy, which must name the same
    cache as the build: none when the Dockerfile writes none."""
    text = ",".join(f"{k}={v}" for k, v in mount.options)
    return (text,) if text else ()


def _call(function: str, *args: str) -> str:
    return " ".join((function, *(shlex.quote(a) for a in args)))
