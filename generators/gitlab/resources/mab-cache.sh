# shellcheck shell=sh
# Carry a Dockerfile's `RUN --mount=type=cache` directory between a GitLab cache directory and
# BuildKit (a fresh Docker-in-Docker builder starts empty). BuildKit leaves cache mounts out of
# a step's cache key, so both name the job and the mount in build arguments: a step cached for
# another mount or job never stands in for the copy.

mab_cache_in() { # DIR ID TARGET: seed BuildKit's cache mount ID from GitLab's cache in DIR
  mkdir -p "$1"
  printf '%s\n' "FROM $(mab_hub "$MAB_BUSYBOX_IMAGE")" "ARG MAB_JOB=$CI_JOB_ID" \
    "ARG MAB_MOUNT=$2" \
    "RUN --mount=type=cache,id=$2,target=$3 --mount=type=bind,target=/mab-in cp -a /mab-in/. $3/" |
    docker buildx build --network none --output type=cacheonly --file - "$1"
}

mab_cache_out() { # DIR ID TARGET: copy BuildKit's cache mount ID to DIR for GitLab to save
  rm -rf "$1" && mkdir -p "$1" "$MAB_DIR/empty"
  printf '%s\n' "FROM $(mab_hub "$MAB_BUSYBOX_IMAGE") AS mount" "ARG MAB_JOB=$CI_JOB_ID" \
    "ARG MAB_MOUNT=$2" \
    "RUN --mount=type=cache,id=$2,target=$3 mkdir /mab-out && cp -a $3/. /mab-out/" \
    "FROM scratch" "COPY --from=mount /mab-out /" |
    docker buildx build --network none --output "type=local,dest=$1" --file - "$MAB_DIR/empty"
}
