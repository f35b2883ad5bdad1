# shellcheck shell=sh
# The component's build jobs are one per runner tag (an array input cannot be zipped with the
# platforms into matrix entries), so each job picks its platforms by its place in the matrix.

mab_pick_platforms() { # which of $MAB_ALL_PLATFORMS this job builds, by $MAB_STRATEGY
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
