# shellcheck shell=sh
# A shell runner's Docker client config is shared by every job on the host: each job logs in
# through a config of its own (outside the project directory, which may be a build context),
# so one job's expiring token never replaces another's. The builder state stays shared.

mab_own_docker_config() { # DOCKER_CONFIG of this job's own, keeping the host's plugins
  home_config="${DOCKER_CONFIG:-$HOME/.docker}"
  export BUILDX_CONFIG="${BUILDX_CONFIG:-$home_config/buildx}"
  export DOCKER_CONFIG="${TMPDIR:-/tmp}/mab-docker-$CI_JOB_ID"
  mkdir -p "$DOCKER_CONFIG"
  if [ -d "$home_config/cli-plugins" ]; then
    ln -sfn "$home_config/cli-plugins" "$DOCKER_CONFIG/cli-plugins"
  fi
}
