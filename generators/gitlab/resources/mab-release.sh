# shellcheck shell=sh
# The sign and verify jobs: the digest mab_merge published ($MAB_DIR/published), signed
# keylessly with cosign (GitLab's OIDC token in $SIGSTORE_ID_TOKEN) and checked with
# `mab verify`. Registry logins go to a Docker config of the job's own (mab_release_login).

mab_published() { # the digest mab_merge kept, checked
  digest=$(cat "$MAB_DIR/published" 2>/dev/null || :)
  if ! echo "$digest" | grep -Eqx 'sha256:[0-9a-f]{64}'; then
    echo "mab: no digest of the published $MAB_IMAGE in $MAB_DIR/published" >&2
    return 1
  fi
}

# The Docker config of this job's own (a login runs in a pipeline's subshell: no exports).
mab_release_config="${TMPDIR:-/tmp}/mab-release-$CI_JOB_ID"

mab_release_login() { # REGISTRY USER, the password on stdin: into $mab_release_config
  mkdir -p "$mab_release_config"
  auth=$( (printf '%s:' "$2" && cat) | tr -d '\n' | base64 | tr -d '\n')
  echo "\"$1\":{\"auth\":\"$auth\"}" >>"$mab_release_config/auths"
  printf '{"auths":{%s}}\n' "$(paste -s -d, "$mab_release_config/auths")" \
    >"$mab_release_config/config.json"
}

mab_sign() { # keyless: cosign signs the published digest, then checks it names this project
  mab_published
  export DOCKER_CONFIG="$mab_release_config"
  if ! command -v cosign >/dev/null 2>&1; then
    apk add --no-cache cosign >/dev/null # the docker:*-cli image is Alpine Linux
  fi
  cosign sign --yes "$MAB_IMAGE@$digest"
  cosign verify "$MAB_IMAGE@$digest" --certificate-oidc-issuer "$CI_SERVER_URL" \
    --certificate-identity-regexp "^$CI_PROJECT_URL//" >/dev/null
}

mab_verify() { # `mab verify` on the published digest: a finding fails the job
  mab_published
  export DOCKER_CONFIG="$mab_release_config"
  venv="${TMPDIR:-/tmp}/mab-verify-$CI_JOB_ID"
  python3 -m venv --system-site-packages "$venv" # an image with mab's dependencies: only mab
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$MAB_PIP_SPEC"
  set -- --platform "$MAB_ALL_PLATFORMS"
  if [ "${MAB_SIGN:-true}" = "false" ]; then set -- "$@" --no-sign; fi
  if [ "${MAB_SBOM:-true}" = "false" ]; then set -- "$@" --no-sbom; fi
  "$venv/bin/mab" verify "$MAB_IMAGE@$digest" "$@"
}
