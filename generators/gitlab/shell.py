"""The shell a generated GitLab job runs: registry logins, the buildx builder, and a few functions.

GitLab runs `before_script` and `script` in one shell, so the shared `before_script` of mab's
hidden job defines small POSIX `sh` functions (the `docker:*-cli` image has busybox `sh`, not
bash) and each job's `script` calls them with its own arguments. Values reach the functions
through job variables (`MAB_IMAGE`, `MAB_PLATFORMS`, ...), never by pasting text into code.

- `mab_build [buildx args]`: one `docker buildx build` for `$MAB_PLATFORMS` (one platform on a
  native runner, several under QEMU), pushed by digest only; the digest goes to
  `$MAB_DIR/digests/` for the merge job. The `docker` driver (a shell runner's default builder)
  cannot push by digest: there the image is pushed to a tag of this pipeline's own,
  `<image>:mab-<pipeline id>-<platforms>`, and its digest kept the same way. QEMU handlers are
  registered the first time a platform is neither the runner's own nor listed by the builder
  (a host with QEMU registered already needs no `tonistiigi/binfmt`). The layer cache is read
  from every platform's registry cache; where `$MAB_CACHE_EXPORT` is `true` it is written per
  platform (a multi-platform cache export keeps one platform's records, docker/buildx#1044),
  with the build itself when there is one platform and by one `type=cacheonly` build per
  platform otherwise (the layers are already built).
- `mab_merge`: `docker buildx imagetools create` with the tags of this ref and every digest,
  after checking that every platform of `$MAB_ALL_PLATFORMS` was built.
- `mab_pick_platforms` (component only): which platforms this matrix job builds.
- `mab_cache_in` / `mab_cache_out DIR ID TARGET`: carry a `RUN --mount=type=cache` directory
  between a GitLab cache directory and BuildKit (a fresh Docker-in-Docker builder starts empty).
  BuildKit leaves cache mounts out of a step's cache key, so both name the job and the mount in
  build arguments: a step cached for another mount or job never stands in for the copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from mab.registry import cacherefs

BUILDER = "mab-builder"
CI_LOGIN = ("$CI_REGISTRY", "$CI_REGISTRY_USER", "$CI_REGISTRY_PASSWORD")

_SLUG_VAR = "$slug"
_CACHE = cacherefs.registry_specs("$MAB_CACHE_REPO", _SLUG_VAR)

_BUILD_FUNCTIONS = f"""\
mab_emulate() {{  # register QEMU handlers, once, for a platform this runner cannot run natively
  [ -z "${{mab_emulating:-}}" ] || return 0
  docker run --privileged --rm "$MAB_BINFMT_IMAGE" --install all
  mab_emulating=1
}}
mab_runs() {{  # PLATFORM: the engine's own, or one the builder lists (QEMU registered)
  case "$1" in "$native" | "$native"/*) return 0 ;; esac
  case ",$supported," in *",$1,"*) return 0 ;; esac
  return 1
}}
mab_build() {{  # [buildx args]: build $MAB_PLATFORMS, push it, keep the digest
  native=$(docker version --format '{{{{.Server.Os}}}}/{{{{.Server.Arch}}}}')
  builder=$(docker buildx inspect --bootstrap)
  supported=$(echo "$builder" | sed -n 's/^Platforms: *//p' | tr -d ' *' | tr '\n' ,)
  platforms=$(echo "$MAB_PLATFORMS" | tr , ' ')
  set -- --file "$MAB_DOCKERFILE" "$@"
  if [ -n "$MAB_TARGET" ]; then set -- "$@" --target "$MAB_TARGET"; fi
  for arg in $MAB_BUILD_ARGS; do set -- "$@" --build-arg "$arg"; done
  for platform in $platforms; do
    mab_runs "$platform" || mab_emulate
    slug=$(echo "$platform" | tr / -)
    set -- "$@" --cache-from "{_CACHE.cache_from[0]}"
  done
  export_each=""
  if [ "$MAB_CACHE_EXPORT" = "true" ] && [ "$platforms" = "$MAB_PLATFORMS" ]; then
    set -- "$@" --cache-to "{_CACHE.cache_to}"
  elif [ "$MAB_CACHE_EXPORT" = "true" ]; then
    export_each="$platforms"
  fi
  entry=$(echo "$MAB_PLATFORMS" | tr ',/' '_-')
  output="type=image,name=$MAB_IMAGE,push-by-digest=true,name-canonical=true,push=$MAB_PUSH"
  pushed_tag=""
  if [ "$(echo "$builder" | sed -n 's/^Driver: *\\([^ ]*\\).*/\\1/p')" = "docker" ]; then
    pushed_tag="$MAB_IMAGE:mab-$CI_PIPELINE_ID-$entry"
    echo "mab: the docker driver cannot push by digest; pushing $pushed_tag"  # for the merge
    output="type=image,name=$pushed_tag,push=$MAB_PUSH"
  fi
  metadata=$(mktemp)  # outside the project: nothing of mab's may enter a build context
  docker buildx build --platform "$MAB_PLATFORMS" "$@" --output "$output" \\
    --metadata-file "$metadata" "$MAB_CONTEXT"
  mkdir -p "$MAB_DIR/digests"
  digest_file="$MAB_DIR/digests/$entry"
  sed -n 's/.*"containerimage.digest": *"\\(sha256:[0-9a-f]*\\)".*/\\1/p' \\
    "$metadata" > "$digest_file"
  rm -f "$metadata"
  test -s "$digest_file"
  if [ -n "$pushed_tag" ]; then  # the registry has it; the runner's image store need not
    docker image rm "$pushed_tag" >/dev/null 2>&1 || true
  fi
  for platform in $export_each; do  # built already: these only export each platform's cache
    slug=$(echo "$platform" | tr / -)
    docker buildx build --platform "$platform" "$@" --output type=cacheonly \\
      --cache-to "{_CACHE.cache_to}" "$MAB_CONTEXT"
  done
}}
mab_merge() {{  # tag the platform images pushed by digest as one multi-platform image
  if [ "$MAB_PUSH" != "true" ]; then echo "mab: push is off, nothing to merge"; return 0; fi
  set -- --tag "$MAB_IMAGE:$CI_COMMIT_REF_SLUG" --tag "$MAB_IMAGE:sha-$CI_COMMIT_SHORT_SHA"
  if [ "$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH" ]; then set -- "$@" --tag "$MAB_IMAGE:latest"; fi
  if [ -n "$CI_COMMIT_TAG" ]; then set -- "$@" --tag "$MAB_IMAGE:$CI_COMMIT_TAG"; fi
  built=" $(ls "$MAB_DIR/digests" 2>/dev/null | tr '_\\n' '  ' || :) "  # none: no ls exit 2
  for platform in $(echo "$MAB_ALL_PLATFORMS" | tr , ' '); do
    case "$built" in *" $(echo "$platform" | tr / -) "*) ;; *)
      echo "mab: no build job built $platform (is there a runner tag for it?)" >&2; return 1 ;;
    esac
  done
  for file in "$MAB_DIR"/digests/*; do set -- "$@" "$MAB_IMAGE@$(cat "$file")"; done
  docker buildx imagetools create "$@"
  docker buildx imagetools inspect "$MAB_IMAGE:$CI_COMMIT_REF_SLUG"
}}
"""

# The component's build jobs are one per runner tag (an array input cannot be zipped with the
# platforms into matrix entries), so each job picks its platform by its index in the matrix.
_PICK_FUNCTION = """\
mab_pick_platforms() {  # which of $MAB_ALL_PLATFORMS this job builds, by $MAB_STRATEGY
  if [ "$MAB_STRATEGY" = "qemu" ] && [ "${CI_NODE_INDEX:-1}" = 1 ]; then
    MAB_PLATFORMS=$MAB_ALL_PLATFORMS
  elif [ "$MAB_STRATEGY" = "qemu" ]; then
    MAB_PLATFORMS=""
  else
    MAB_PLATFORMS=$(echo "$MAB_ALL_PLATFORMS" | awk -F, -v i="${CI_NODE_INDEX:-1}" '{print $i}')
  fi
  if [ -z "$MAB_PLATFORMS" ]; then
    echo "mab: nothing for runner tag $MAB_RUNNER_TAG to build"
    exit 0
  fi
  export MAB_PLATFORMS
}
"""

_CACHE_FUNCTIONS = """\
mab_cache_in() {  # DIR ID TARGET: seed BuildKit's cache mount ID from GitLab's cache in DIR
  mkdir -p "$1"
  printf '%s\\n' "FROM $MAB_BUSYBOX_IMAGE" "ARG MAB_JOB=$CI_JOB_ID" "ARG MAB_MOUNT=$2" \\
    "RUN --mount=type=cache,id=$2,target=$3 --mount=type=bind,target=/mab-in cp -a /mab-in/. $3/" \\
    | docker buildx build --network none --output type=cacheonly --file - "$1"
}
mab_cache_out() {  # DIR ID TARGET: copy BuildKit's cache mount ID to DIR for GitLab to save
  rm -rf "$1" && mkdir -p "$1" "$MAB_DIR/empty"
  printf '%s\\n' "FROM $MAB_BUSYBOX_IMAGE AS mount" "ARG MAB_JOB=$CI_JOB_ID" "ARG MAB_MOUNT=$2" \\
    "RUN --mount=type=cache,id=$2,target=$3 mkdir /mab-out && cp -a $3/. /mab-out/" \\
    "FROM scratch" "COPY --from=mount /mab-out /" \\
    | docker buildx build --network none --output "type=local,dest=$1" --file - "$MAB_DIR/empty"
}
"""

# A shell runner keeps its builder (and the cache mounts and layers in it) between jobs, and its
# Docker client config is shared by every job on the host: each job logs in to a config of its
# own (outside the project directory, which may be a build context), so one job's expiring
# token never replaces another's.
_SHELL_CONFIG = """\
home_config="${DOCKER_CONFIG:-$HOME/.docker}"
export BUILDX_CONFIG="${BUILDX_CONFIG:-$home_config/buildx}"
export DOCKER_CONFIG="${TMPDIR:-/tmp}/mab-docker-$CI_JOB_ID"
mkdir -p "$DOCKER_CONFIG"
if [ -d "$home_config/cli-plugins" ]; then
  ln -sfn "$home_config/cli-plugins" "$DOCKER_CONFIG/cli-plugins"
fi"""
# The kept `docker-container` builder where it can start; where it cannot (no BuildKit image to
# pull, no permission to run containers), the runner's current builder, often the `docker` driver.
_SHELL_BUILDER = f"""\
if docker buildx inspect --bootstrap {BUILDER} >/dev/null 2>&1 \\
  || docker buildx create --name {BUILDER} --driver docker-container --bootstrap; then
  export BUILDX_BUILDER={BUILDER}
else
  docker buildx rm {BUILDER} >/dev/null 2>&1 || true
  echo "mab: the docker-container builder {BUILDER} cannot start; using the current builder:"
  docker buildx inspect | sed -n '1,/^Driver:/p'  # its name and driver
fi"""
SHELL_CLEANUP = 'rm -rf "${TMPDIR:-/tmp}/mab-docker-$CI_JOB_ID"'


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
    runner: str, logins: tuple[Login, ...], *, cache_mounts: bool, pick_platforms: bool = False
) -> list[str]:
    """The shared `before_script`: config (shell runners), logins, builder, functions."""
    lines: list[str] = []
    if runner == "shell":
        lines.append(_SHELL_CONFIG)
    lines.extend(login.command() for login in logins)
    if runner == "shell":
        lines.append(_SHELL_BUILDER)
    else:
        lines.append(f"docker buildx create --use --name {BUILDER} --driver docker-container")
    functions = _BUILD_FUNCTIONS
    if pick_platforms:
        functions += _PICK_FUNCTION
    if cache_mounts:
        functions += _CACHE_FUNCTIONS
    lines.append(functions)
    return lines
