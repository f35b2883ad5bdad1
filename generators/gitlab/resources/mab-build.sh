# shellcheck shell=sh
# mab's GitLab CI functions: the builder, the build and the merge. POSIX sh (the docker:*-cli
# image has busybox sh); GitLab's shell runners run it under bash with `set -eo pipefail`.
# Generated pipelines paste this file into a job's before_script; every value arrives through
# a job variable (MAB_IMAGE, MAB_PLATFORMS, ...), never as text pasted into the code.

mab_hub() { # IMAGE: a Docker Hub image, through $MAB_REGISTRY_MIRROR when that is set
  if [ -n "${MAB_REGISTRY_MIRROR:-}" ]; then
    echo "${MAB_REGISTRY_MIRROR%/}/$1"
  else
    echo "$1"
  fi
}

mab_login_mirror() { # log in to GitLab's dependency proxy when the mirror is the proxy
  [ -n "${MAB_REGISTRY_MIRROR:-}" ] && [ -n "${CI_DEPENDENCY_PROXY_SERVER:-}" ] || return 0
  case "$MAB_REGISTRY_MIRROR" in
    "$CI_DEPENDENCY_PROXY_SERVER"/*)
      echo "$CI_DEPENDENCY_PROXY_PASSWORD" | docker login -u "$CI_DEPENDENCY_PROXY_USER" \
        --password-stdin "$CI_DEPENDENCY_PROXY_SERVER"
      ;;
  esac
}

mab_create_builder() { # $MAB_BUILDER as gitlab.buildx says: docker-container (default) or remote
  driver="${MAB_BUILDX_DRIVER:-docker-container}"
  set -- --name "$MAB_BUILDER" --driver "$driver"
  if [ "$driver" = remote ]; then
    set -- "$@" "$MAB_BUILDX_ENDPOINT"
  fi
  image_given=""
  for opt in $(printf '%s' "${MAB_BUILDX_DRIVER_OPTS:-}" | tr '\n' ' '); do # KEY=VALUE each
    case "$opt" in image=*) image_given=1 ;; esac
    set -- "$@" --driver-opt "$opt"
  done
  if [ "$driver" = docker-container ] && [ -z "$image_given" ]; then
    set -- "$@" --driver-opt "image=$(mab_hub "$MAB_BUILDKIT_IMAGE")"
  fi
  docker buildx create "$@"
}

mab_start_builder() { # 0 when the builder $MAB_BUILDER runs
  if docker buildx inspect --bootstrap "$MAB_BUILDER" >/dev/null 2>&1; then
    return 0
  fi
  if mab_create_builder; then
    if docker buildx inspect --bootstrap "$MAB_BUILDER" >/dev/null; then
      return 0
    fi
    docker buildx rm "$MAB_BUILDER" >/dev/null 2>&1 || true # this job made it; it cannot start
    return 1
  fi
  # Another job made it meanwhile (no flock on this host): use it once it has started.
  for pause in 2 4 8; do
    sleep "$pause"
    if docker buildx inspect --bootstrap "$MAB_BUILDER" >/dev/null 2>&1; then
      return 0
    fi
  done
  return 1 # someone else's builder that does not start: left as it is
}

mab_builder() { # use $MAB_BUILDER (made by one job at a time), else the current builder
  if [ "${MAB_BUILDX_DRIVER:-}" = docker ]; then # gitlab.buildx: the engine's own builder
    echo "mab: gitlab.buildx says driver docker: building with the engine's own builder"
    docker buildx use default
    return 0
  fi
  locked=""
  if command -v flock >/dev/null 2>&1; then
    exec 9>>"${TMPDIR:-/tmp}/mab-builder.lock"
    if flock -w 600 9; then locked=1; fi
  fi
  if mab_start_builder; then
    export BUILDX_BUILDER="$MAB_BUILDER"
  else
    echo "mab: the docker-container builder $MAB_BUILDER cannot start; using the current builder:"
    docker buildx inspect | sed -n '1,/^Driver:/p' # its name and driver
  fi
  if [ -n "$locked" ]; then flock -u 9; fi
  if command -v flock >/dev/null 2>&1; then exec 9>&-; fi
}

mab_emulate() { # register QEMU handlers, once, for a platform this runner cannot run natively
  [ -z "${mab_emulating:-}" ] || return 0
  docker run --privileged --rm "$(mab_hub "$MAB_BINFMT_IMAGE")" --install all
  mab_emulating=1
}

mab_runs() { # PLATFORM: the engine's own, or one the builder lists (QEMU registered)
  case "$1" in "$native" | "$native"/*) return 0 ;; esac
  case ",$supported," in *",$1,"*) return 0 ;; esac
  return 1
}

mab_prepare() { # what to build, where to push it: sets platforms, entry, output, pushed_tag
  native=$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')
  builder=$(docker buildx inspect --bootstrap)
  supported=$(echo "$builder" | sed -n 's/^Platforms: *//p' | tr -d ' *' | tr '\n' ,)
  platforms=$(echo "$MAB_PLATFORMS" | tr , ' ')
  for platform in $platforms; do
    mab_runs "$platform" || mab_emulate
  done
  entry=$(echo "$MAB_PLATFORMS" | tr ',/' '_-')
  output="type=image,name=$MAB_IMAGE,push-by-digest=true,name-canonical=true,push=$MAB_PUSH"
  pushed_tag=""
  if [ "$(echo "$builder" | sed -n 's/^Driver: *\([^ ]*\).*/\1/p')" = "docker" ]; then
    pushed_tag="$MAB_IMAGE:mab-$CI_PIPELINE_ID-$entry"
    echo "mab: the docker driver cannot push by digest; pushing $pushed_tag" # for the merge
    output="type=image,name=$pushed_tag,push=$MAB_PUSH"
  fi
  metadata=$(mktemp) # outside the project: nothing of mab's may enter a build context
}

mab_keep_digest() { # the digest of what was pushed, for the merge job; then tidy up
  mkdir -p "$MAB_DIR/digests"
  digest_file="$MAB_DIR/digests/$entry"
  sed -n 's/.*"containerimage.digest": *"\(sha256:[0-9a-f]*\)".*/\1/p' \
    "$metadata" >"$digest_file"
  rm -f "$metadata"
  test -s "$digest_file"
  if [ -n "$pushed_tag" ]; then # the registry has it; the runner's image store need not
    docker image rm "$pushed_tag" >/dev/null 2>&1 || true
  fi
}

mab_cache_ref() { # PLATFORM: the registry ref of its layer cache
  echo "$MAB_CACHE_REPO:buildcache-$(echo "$1" | tr / -)"
}

mab_attest_flags() { # provenance (mode=max in a public project), an SBOM unless MAB_SBOM=false
  if [ "${CI_PROJECT_VISIBILITY:-}" = "public" ]; then mode=max; else mode=min; fi
  echo "--attest type=provenance,mode=$mode"
  if [ "${MAB_SBOM:-true}" != "false" ]; then echo "--attest type=sbom"; fi
}

mab_build() { # [buildx args]: build $MAB_PLATFORMS, push it, keep the digest
  mab_prepare
  set -- --file "$MAB_DOCKERFILE" "$@"
  if [ -n "$MAB_TARGET" ]; then set -- "$@" --target "$MAB_TARGET"; fi
  for arg in $MAB_BUILD_ARGS; do set -- "$@" --build-arg "$arg"; done
  for platform in $platforms; do
    set -- "$@" --cache-from "type=registry,ref=$(mab_cache_ref "$platform")"
  done
  export_each=""
  if [ "$MAB_CACHE_EXPORT" = "true" ] && [ "$platforms" = "$MAB_PLATFORMS" ]; then
    set -- "$@" --cache-to "type=registry,ref=$(mab_cache_ref "$MAB_PLATFORMS"),$MAB_CACHE_OPTIONS"
  elif [ "$MAB_CACHE_EXPORT" = "true" ]; then
    export_each="$platforms"
  fi
  # shellcheck disable=SC2046 # the attestation flags hold no spaces: split on purpose
  docker buildx build --platform "$MAB_PLATFORMS" "$@" $(mab_attest_flags) --output "$output" \
    --metadata-file "$metadata" "$MAB_CONTEXT"
  mab_keep_digest
  for platform in $export_each; do # built already: these only export each platform's cache
    docker buildx build --platform "$platform" "$@" --output type=cacheonly \
      --cache-to "type=registry,ref=$(mab_cache_ref "$platform"),$MAB_CACHE_OPTIONS" \
      "$MAB_CONTEXT"
  done
}

mab_release_tags() { # GIT_TAG: VERSION, MAJOR.MINOR and latest for a release tag vX.Y.Z
  version=$(echo "$1" | sed -n 's/^v\{0,1\}\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\)$/\1/p')
  if [ -n "$version" ]; then
    echo "$version ${version%.*} latest"
  fi
}

mab_merge() { # tag the platform images pushed by digest as one multi-platform image
  if [ "$MAB_PUSH" != "true" ]; then
    echo "mab: push is off, nothing to merge"
    return 0
  fi
  set -- --tag "$MAB_IMAGE:$CI_COMMIT_REF_SLUG" --tag "$MAB_IMAGE:sha-$CI_COMMIT_SHORT_SHA"
  if [ -n "${CI_COMMIT_TAG:-}" ]; then
    set -- "$@" --tag "$MAB_IMAGE:$CI_COMMIT_TAG"
    for tag in $(mab_release_tags "$CI_COMMIT_TAG"); do set -- "$@" --tag "$MAB_IMAGE:$tag"; done
  fi
  built=" $(find "$MAB_DIR/digests" -type f 2>/dev/null | sed 's|.*/||' | tr '_\n' '  ' || :) "
  for platform in $(echo "$MAB_ALL_PLATFORMS" | tr , ' '); do
    case "$built" in
      *" $(echo "$platform" | tr / -) "*) ;;
      *)
        echo "mab: no build job built $platform (is there a runner tag for it?)" >&2
        return 1
        ;;
    esac
  done
  for file in "$MAB_DIR"/digests/*; do set -- "$@" "$MAB_IMAGE@$(cat "$file")"; done
  docker buildx imagetools create "$@"
  docker buildx imagetools inspect "$MAB_IMAGE:$CI_COMMIT_REF_SLUG"
  # for the sign and verify jobs: the digest of the index just made is the sha256 of its bytes
  digest=$(docker buildx imagetools inspect --raw "$MAB_IMAGE:sha-$CI_COMMIT_SHORT_SHA" | sha256sum)
  echo "sha256:${digest%% *}" >"$MAB_DIR/published"
}
