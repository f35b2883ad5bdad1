# shellcheck shell=sh
# The `mab` runner profile: each build job installs mab and runs `mab build --ci`, which shows
# every platform's steps and cache hits in the log and writes summary.md, summary.json and a
# metrics report. Uses mab_prepare and mab_keep_digest of mab-build.sh.

mab_install() { # mab ($MAB_PIP_SPEC) in a virtual environment outside the project
  if ! command -v python3 >/dev/null 2>&1 && command -v apk >/dev/null 2>&1; then
    apk add --no-cache python3 >/dev/null # the docker:*-cli image is Alpine Linux
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    echo "mab: no python3 in this job: use an image with Python 3.11+ and the docker CLI" >&2
    return 1
  fi
  # With the image's own packages: an image that has mab's dependencies installs only mab.
  mab_venv="${TMPDIR:-/tmp}/mab-venv-$CI_JOB_ID"
  python3 -m venv --system-site-packages "$mab_venv"
  "$mab_venv/bin/python" -m pip install --quiet --disable-pip-version-check "$MAB_PIP_SPEC"
  "$mab_venv/bin/mab" --version
}

# shellcheck disable=SC2154 # output, metadata: set by mab_prepare (mab-build.sh)
mab_ci_build() { # [buildx args]: `mab build --ci` of $MAB_PLATFORMS, pushed; keep the digest
  mab_prepare
  set -- "$@" --output "$output" --metadata-file "$metadata"
  # shellcheck disable=SC2046 # the attestation flags hold no spaces: split on purpose
  set -- "$@" $(mab_attest_flags)
  for arg in $MAB_BUILD_ARGS; do set -- "$@" --build-arg "$arg"; done
  set -- "$MAB_CONTEXT" -- "$@"
  if [ -n "$MAB_TARGET" ]; then set -- --target "$MAB_TARGET" "$@"; fi
  if [ "$MAB_CACHE_EXPORT" != "true" ]; then set -- --cache-read-only "$@"; fi
  # The reports are written outside the project (a build context of "." would carry them
  # into the cache exports that follow the build), then kept as artifacts in $MAB_DIR/report.
  report="${TMPDIR:-/tmp}/mab-report-$CI_JOB_ID"
  status=0
  MAB_REPORT_DIR="$report" "$mab_venv/bin/mab" build --ci --platform "$MAB_PLATFORMS" \
    --file "$MAB_DOCKERFILE" --cache-backend registry --cache-prefix "$MAB_CACHE_REPO" \
    "$@" || status=$?
  mkdir -p "$MAB_DIR/report"
  cp -R "$report/." "$MAB_DIR/report/" 2>/dev/null || true
  rm -rf "$report"
  if [ -f "$MAB_DIR/report/report.html" ]; then
    echo "mab: HTML report: $CI_JOB_URL/artifacts/file/$MAB_DIR/report/report.html"
  fi
  if [ "$status" != 0 ]; then return "$status"; fi
  mab_keep_digest
}
