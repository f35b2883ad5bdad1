# shellcheck shell=sh
# Carry a Dockerfile's `RUN --mount=type=cache` directory between a GitLab cache directory and
# BuildKit (a fresh Docker-in-Docker builder starts empty). BuildKit leaves cache mounts out of
# a step's cache key, so both name the job and the mount in build arguments: a step cached for
# another mount or job never stands in for the copy. OPTIONS are the mount's own uid, gid, mode
# and sharing as the Dockerfile writes them (`uid=1000,gid=1000`): BuildKit keys a cache mount on
# its uid, gid and mode too, so a copy made without them would fill a cache the build never uses.

mab_cache_owner() { # OPTIONS: "uid:gid" when the mount's options name an owner, else nothing
  mab_uid='' mab_gid=''
  for mab_option in $(printf '%s' "$1" | tr , ' '); do
    case $mab_option in
      uid=*) mab_uid=${mab_option#uid=} ;;
      gid=*) mab_gid=${mab_option#gid=} ;;
    esac
  done
  if [ -n "$mab_uid$mab_gid" ]; then echo "${mab_uid:-0}:${mab_gid:-0}"; fi
}

mab_cache_in() { # DIR ID TARGET [OPTIONS]: seed the cache mount ID from GitLab's cache in DIR
  mkdir -p "$1"
  # What DIR holds goes in, not DIR itself: the mount's own folder keeps the owner and mode
  # BuildKit gave it, and its content gets the mount's owner, as if the build had written it.
  mab_owner=$(mab_cache_owner "${4:-}")
  mab_copy="find /mab-in -mindepth 1 -maxdepth 1 -exec cp -a {} $3/ ';'"
  printf '%s\n' "FROM $(mab_hub "$MAB_BUSYBOX_IMAGE")" "ARG MAB_JOB=$CI_JOB_ID" \
    "ARG MAB_MOUNT=$2" \
    "RUN --mount=type=cache,id=$2,target=$3${4:+,$4} --mount=type=bind,target=/mab-in \\" \
    "  $mab_copy${mab_owner:+ && chown -R $mab_owner $3}" |
    docker buildx build --network none --output type=cacheonly --file - "$1"
}

mab_cache_out() { # DIR ID TARGET [OPTIONS]: copy the cache mount ID to DIR for GitLab
  rm -rf "$1" && mkdir -p "$1" "$MAB_DIR/empty"
  printf '%s\n' "FROM $(mab_hub "$MAB_BUSYBOX_IMAGE") AS mount" "ARG MAB_JOB=$CI_JOB_ID" \
    "ARG MAB_MOUNT=$2" \
    "RUN --mount=type=cache,id=$2,target=$3${4:+,$4} mkdir /mab-out && cp -a $3/. /mab-out/" \
    "FROM scratch" "COPY --from=mount /mab-out /" |
    docker buildx build --network none --output "type=local,dest=$1" --file - "$MAB_DIR/empty"
}
