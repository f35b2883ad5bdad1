"""The dependency-cache steps of a build job, for every image of its matrix (see `depcache`).

Each image's entry names its key files (`deps`: the lockfiles of its download caches, `builds`:
those of its build-output caches) and its `cache-map`. A `mab-deps` step hashes the key files
(`hashFiles()` takes a fixed list of patterns, and the list differs per image) and puts the
cache folder in the runner's home (`~/.mab-cache`) into the cache map. Then, for images that
have them:

- downloads: one actions/cache entry keyed `<platform>-deps-<image>@<hash of its lockfiles>`,
  restored by the prefix up to `@` when the lockfiles changed;
- build output (compiler caches): keyed per run, `...@<hash>-<run id>`, restored from the newest
  with the same lockfiles, then from any: actions/cache never saves over an exact hit, so a
  key that stays the same would keep the first run's output for ever;
- buildkit-cache-dance carries both into BuildKit's cache mounts (and back out after the
  build), skipped when nothing new can come out (an exact hit or a read-only run).

The `@` after the image name keeps one image's prefix from matching another whose name starts
the same way. Caches are saved only where `ghexpr.CACHE_WRITE` holds; elsewhere the same keys
are restored read-only.
"""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from mab.config.settings import Settings

from . import ghexpr
from .actionsteps import IMAGE, IMAGE_NAME
from .layercache import CACHE_POISONING
from .matrix import CACHE_ROOT_PLACEHOLDER
from .steps import action_step, run_step

# In the runner's home, named with `~`: actions/cache keys an entry on its path as given (the
# `version` it saves and looks up), so a path that names no runner-specific folder
# (`runner.temp` is under the runner's install path on self-hosted machines, a new folder per
# job under act) lets every runner of a platform restore what another saved. Outside the
# checkout, so it never enters a build context. (actions/cache refuses `..` in a path.)
CACHE_DIR = "~/.mab-cache"
RUN_ID = "${{ github.run_id }}"
_KEYS_SCRIPT = f"""
key() {{ while IFS= read -r f; do if [ -f "$f" ]; then sha256sum "$f"; fi; done <<< "$1"; }}
{{
  echo "deps=$(key "$MAB_DEPS" | sha256sum | cut -c1-32)"
  echo "builds=$(key "$MAB_BUILDS" | sha256sum | cut -c1-32)"
  echo "cache-map=${{MAB_CACHE_MAP//{CACHE_ROOT_PLACEHOLDER}/$HOME/.mab-cache}}"
}} >> "$GITHUB_OUTPUT"
"""


def _has(key: str) -> str:
    return f"{IMAGE}.{key}"


def _utility(settings: Settings) -> dict[str, str]:
    image = settings.github.buildx.utility_image
    return {"utility-image": image} if image else {}


def _cache_pair(
    settings: Settings, kind: str, label: str, key: str, restore: str
) -> list[CommentedMap]:
    inputs = {"path": f"{CACHE_DIR}/{kind}", "key": key, "restore-keys": restore}
    return [
        action_step(
            f"mab-cache-{kind}",
            f"Restore and save the {label}",
            "actions/cache",
            pin=settings.pin,
            if_=f"{_has(kind)} && ({ghexpr.CACHE_WRITE})",
            with_=inputs,
            ignore=CACHE_POISONING,
        ),
        action_step(
            f"mab-cache-{kind}-ro",
            f"Restore the {label} (read-only)",
            "actions/cache/restore",
            pin=settings.pin,
            if_=f"{_has(kind)} && ({ghexpr.CACHE_READ_ONLY})",
            with_=inputs,
        ),
    ]


def dep_cache_steps(settings: Settings, keys: frozenset[str], prefix: str) -> list[CommentedMap]:
    """The steps, when some image of the matrix has dependency caches (`keys`: the keys its
    image entries use); `prefix` names the platform(s) the job builds."""
    if "cache-map" not in keys:
        return []
    steps = [
        run_step(
            "mab-deps",
            "Name the dependency caches",
            _KEYS_SCRIPT,
            if_=_has("cache-map"),
            env={
                f"MAB_{key.upper().replace('-', '_')}": f"${{{{ {_has(key)} }}}}"
                for key in ("deps", "builds", "cache-map")
                if key in keys
            },
        )
    ]
    hits = []
    if "deps" in keys:
        base = f"{prefix}-deps-{IMAGE_NAME}@"
        key = base + "${{ steps.mab-deps.outputs.deps }}"
        steps += _cache_pair(settings, "deps", "dependency downloads", key, base)
        hits.append(f"(!{_has('deps')} || steps.mab-cache-deps.outputs.cache-hit == 'true')")
    if "builds" in keys:
        base = f"{prefix}-builds-{IMAGE_NAME}@"
        locked = base + "${{ steps.mab-deps.outputs.builds }}"
        restore = f"{locked}-\n{base}"
        steps += _cache_pair(settings, "builds", "build output", f"{locked}-{RUN_ID}", restore)
        hits.append(f"(!{_has('builds')} || steps.mab-cache-builds.outputs.cache-hit == 'true')")
    skip = f"{ghexpr.CACHE_READ_ONLY} || ({' && '.join(hits)})"
    steps.append(
        action_step(
            "mab-cache-dance",
            "Carry the cache mounts into BuildKit",
            "reproducible-containers/buildkit-cache-dance",
            pin=settings.pin,
            if_=_has("cache-map"),
            with_={
                "builder": "${{ steps.mab-buildx.outputs.name }}",
                "cache-map": "${{ steps.mab-deps.outputs.cache-map }}",
                "scratch-dir": "${{ runner.temp }}/mab-dance-scratch",
                "skip-extraction": ghexpr.wrap(skip),
                **_utility(settings),
            },
        )
    )
    return steps
