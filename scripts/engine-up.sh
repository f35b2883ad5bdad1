#!/usr/bin/env bash
# Bring up the real build engine that mab's end-to-end tests and CI need, on a
# Debian 12 (bookworm) machine where we are root, have no systemd and no Docker Hub:
#
#   * Docker 26 + buildx 0.13 from Debian trixie (bookworm's docker.io is too old)
#   * the containerd image store (multi-platform builds, registry cache export)
#   * QEMU user emulation for linux/arm64 through binfmt_misc
#   * a plain local registry on 127.0.0.1:5000 (deletes enabled)
#   * a basic-auth registry on 127.0.0.1:5001 (user mab, password mab-secret)
#   * the two-platform base image localhost:5000/base/busybox:1, made from
#     Debian's busybox-static packages
#
# Every step first checks whether its work is already done, so a second run only
# verifies and takes a few seconds. Stop everything again with scripts/engine-down.sh.
#
# Environment knobs (all optional):
#   MAB_ENGINE_TIMEOUT   seconds to wait for each service (default 90)
#   MAB_STATE_DIR        registry data and configs (default /var/lib/mab-registry)
#   MAB_LOG_DIR          service logs (default /var/log)
#   MAB_FORCE_APT=1      run the apt steps even when every package is already installed
set -euo pipefail

readonly TIMEOUT="${MAB_ENGINE_TIMEOUT:-90}"
readonly STATE_DIR="${MAB_STATE_DIR:-/var/lib/mab-registry}"
readonly LOG_DIR="${MAB_LOG_DIR:-/var/log}"
readonly RUN_DIR=/run/mab-engine
readonly DOCKERD_LOG="$LOG_DIR/mab-dockerd.log"
readonly DOCKERD_PIDFILE=/var/run/docker.pid
readonly DAEMON_JSON=/etc/docker/daemon.json
readonly BASE_IMAGE=localhost:5000/base/busybox:1
readonly BASE_CACHE=/var/cache/mab-engine/busybox
readonly AUTH_USER=mab
readonly AUTH_PASSWORD=mab-secret

# Debian packages and the suite they must come from.
readonly TRIXIE_PKGS=(docker.io docker-cli docker-buildx)
readonly BOOKWORM_PKGS=(qemu-user-static binfmt-support docker-registry rsync
                        apache2-utils curl jq ca-certificates)

START_TS=$(date +%s)

say()  { printf '[engine-up] %s\n' "$*"; }
die()  { printf '[engine-up] ERROR: %s\n' "$*" >&2; exit 1; }

# wait_for DESCRIPTION COMMAND...: poll COMMAND once a second until it succeeds.
wait_for() {
    local what=$1; shift
    local deadline=$(( $(date +%s) + TIMEOUT ))
    until "$@" >/dev/null 2>&1; do
        if (( $(date +%s) >= deadline )); then
            return 1
        fi
        sleep 1
    done
    say "$what is ready"
}

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts dockerd)"
mkdir -p "$RUN_DIR" "$STATE_DIR" "$LOG_DIR"

# ---------------------------------------------------------------------------
# 1. Packages
# ---------------------------------------------------------------------------
pkg_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

docker_is_new_enough() {
    local v
    v=$(dpkg-query -W -f='${Version}' docker.io 2>/dev/null) || return 1
    dpkg --compare-versions "$v" ge 26
}

busybox_debs_present() {
    compgen -G "$BASE_CACHE/busybox-static_*_amd64.deb" >/dev/null &&
        compgen -G "$BASE_CACHE/busybox-static_*_arm64.deb" >/dev/null
}

packages_ready() {
    local p
    for p in "${TRIXIE_PKGS[@]}" "${BOOKWORM_PKGS[@]}"; do
        pkg_installed "$p" || return 1
    done
    docker_is_new_enough && busybox_debs_present
}

add_trixie_source() {
    local src=/etc/apt/sources.list.d/trixie.sources
    local pin=/etc/apt/preferences.d/trixie
    local uri
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    uri=${uri:-http://deb.debian.org/debian}
    local want_src want_pin
    want_src=$(printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' \
        "$uri" /usr/share/keyrings/debian-archive-keyring.gpg)
    want_pin=$(printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n')
    if [[ -f $src && $(<"$src") == "$want_src" && -f $pin && $(<"$pin") == "$want_pin" ]]; then
        say "trixie apt source and pin: already present"
    else
        printf '%s\n' "$want_src" >"$src"
        printf '%s\n' "$want_pin" >"$pin"
        say "trixie apt source and pin (priority 100): written"
    fi
}

install_packages() {
    add_trixie_source
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        dpkg --add-architecture arm64
        say "dpkg foreign architecture arm64: added (for busybox-static:arm64)"
    fi
    # No prompts, ever (CI has no stdin): keep locally changed conffiles, no needrestart dialog.
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    local -a apt_opts=(-y -qq -o Dpkg::Use-Pty=0
                       -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    say "apt-get update ..."
    apt-get update -qq || die "apt-get update failed"

    # Keep the packages' init scripts from starting dockerd or a registry on their
    # own: this script starts them, with its own configuration and logs.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        created_policy=1
    fi
    local rc=0
    say "apt-get install -t trixie ${TRIXIE_PKGS[*]} ..."
    apt-get install "${apt_opts[@]}" -t trixie "${TRIXIE_PKGS[@]}" </dev/null >/dev/null || rc=$?
    if (( rc == 0 )); then
        say "apt-get install ${BOOKWORM_PKGS[*]} ..."
        apt-get install "${apt_opts[@]}" "${BOOKWORM_PKGS[@]}" </dev/null >/dev/null || rc=$?
    fi
    if (( created_policy )); then rm -f "$policy"; fi
    (( rc == 0 )) || die "apt-get install failed (exit $rc)"
    docker_is_new_enough || die "docker.io $(dpkg-query -W -f='${Version}' docker.io) is older than 26"

    # Debian's statically linked busybox, for both platforms, as the base image's content.
    mkdir -p "$BASE_CACHE"
    if ! busybox_debs_present; then
        local tmp
        tmp=$(mktemp -d)
        chmod 0777 "$tmp"   # apt-get download drops privileges to _apt
        (cd "$tmp" && apt-get download -qq busybox-static:amd64 busybox-static:arm64) ||
            die "apt-get download busybox-static failed"
        mv "$tmp"/busybox-static_*.deb "$BASE_CACHE"/
        rm -rf "$tmp"
    fi
    say "packages: installed (docker.io $(dpkg-query -W -f='${Version}' docker.io)," \
        "buildx $(dpkg-query -W -f='${Version}' docker-buildx))"
}

if packages_ready && [[ ${MAB_FORCE_APT:-0} != 1 ]]; then
    say "packages: already installed (docker.io $(dpkg-query -W -f='${Version}' docker.io))"
else
    install_packages
fi

# The docker client on PATH may be newer than the engine; that is fine (it negotiates the
# API version), but it must find the buildx plugin.
docker buildx version >/dev/null 2>&1 || die "the docker client on PATH ($(command -v docker)) does not find buildx"

# ---------------------------------------------------------------------------
# 2. daemon.json: the containerd image store, merged into what is there
# ---------------------------------------------------------------------------
DAEMON_JSON_CHANGED=0
mkdir -p "$(dirname "$DAEMON_JSON")"
if [[ -s $DAEMON_JSON ]] &&
   [[ $(jq -r '.features["containerd-snapshotter"] // false' "$DAEMON_JSON" 2>/dev/null) == true ]]; then
    say "daemon.json: containerd-snapshotter already on"
else
    existing='{}'
    if [[ -s $DAEMON_JSON ]]; then
        jq -e 'type == "object"' "$DAEMON_JSON" >/dev/null 2>&1 ||
            die "$DAEMON_JSON exists but is not a JSON object; fix or remove it"
        existing=$(<"$DAEMON_JSON")
    fi
    jq '.features = ((.features // {}) + {"containerd-snapshotter": true})' \
        <<<"$existing" >"$DAEMON_JSON.tmp"
    mv "$DAEMON_JSON.tmp" "$DAEMON_JSON"
    DAEMON_JSON_CHANGED=1
    say "daemon.json: containerd-snapshotter enabled (other keys kept)"
fi

# ---------------------------------------------------------------------------
# 3. QEMU for linux/arm64 through binfmt_misc
# ---------------------------------------------------------------------------
readonly BINFMT=/proc/sys/fs/binfmt_misc
if [[ -e $BINFMT/register ]]; then
    say "binfmt_misc: already mounted"
else
    mount -t binfmt_misc binfmt_misc "$BINFMT" || die "cannot mount binfmt_misc on $BINFMT"
    say "binfmt_misc: mounted"
fi
aarch64_enabled() { [[ -f $BINFMT/qemu-aarch64 ]] && head -n1 "$BINFMT/qemu-aarch64" | grep -qx enabled; }
if aarch64_enabled; then
    say "qemu-aarch64 emulator: already enabled"
else
    update-binfmts --enable qemu-aarch64 || die "update-binfmts --enable qemu-aarch64 failed"
    aarch64_enabled || die "qemu-aarch64 is still not enabled in $BINFMT"
    say "qemu-aarch64 emulator: enabled"
fi
grep -q '^flags: .*F' "$BINFMT/qemu-aarch64" ||
    die "qemu-aarch64 is registered without the F flag; build containers cannot use it"

# ---------------------------------------------------------------------------
# 4. dockerd
# ---------------------------------------------------------------------------
docker_up() { timeout 10 docker info >/dev/null 2>&1; }

dockerd_pid() {
    local pid
    [[ -f $DOCKERD_PIDFILE ]] || return 1
    pid=$(<"$DOCKERD_PIDFILE")
    # a stale pid file (dockerd killed) may name a recycled pid: check it is dockerd
    [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] && echo "$pid"
}

start_dockerd() {
    say "dockerd: starting (log: $DOCKERD_LOG)"
    # setsid: its own session, so it outlives this script and a CI step's process group
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    if ! wait_for "dockerd" docker_up; then
        tail -n 30 "$DOCKERD_LOG" >&2 || true
        die "dockerd did not answer within ${TIMEOUT}s (see $DOCKERD_LOG)"
    fi
}

stop_dockerd() {
    local pid
    pid=$(dockerd_pid) || return 0
    say "dockerd: stopping pid $pid"
    kill -TERM "$pid"
    local i
    for (( i = 0; i < TIMEOUT; i++ )); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 1
    done
    die "dockerd (pid $pid) did not stop within ${TIMEOUT}s"
}

if docker_up; then
    if (( DAEMON_JSON_CHANGED )); then
        say "dockerd: running, but daemon.json changed: restarting"
        dockerd_pid >/dev/null || die "dockerd runs but not from $DOCKERD_PIDFILE; restart it by hand"
        stop_dockerd
        start_dockerd
    else
        say "dockerd: already running"
    fi
else
    if pid=$(dockerd_pid); then
        die "dockerd (pid $pid) is running but does not answer; see $DOCKERD_LOG or run engine-down.sh"
    fi
    start_dockerd
fi

[[ $(docker info --format '{{.DriverStatus}}' 2>/dev/null) == *io.containerd.snapshotter* ]] ||
    die "dockerd is not using the containerd image store (was it started with another config?)"

has_arm64() { docker buildx ls 2>/dev/null | grep -q 'linux/arm64'; }
if has_arm64; then
    say "buildx: linux/arm64 listed"
else
    say "buildx: linux/arm64 not listed yet; restarting dockerd so it sees the emulator"
    dockerd_pid >/dev/null || die "dockerd runs but not from $DOCKERD_PIDFILE; restart it by hand"
    stop_dockerd
    start_dockerd
    has_arm64 || die "docker buildx ls does not list linux/arm64 even after a restart"
    say "buildx: linux/arm64 listed"
fi

# ---------------------------------------------------------------------------
# 5. Registries
# ---------------------------------------------------------------------------
# write_if_changed FILE CONTENT: replace FILE only if its content differs.
write_if_changed() {
    if [[ ! -f $1 || $(<"$1") != "$2" ]]; then
        printf '%s\n' "$2" >"$1"
    fi
}

registry_config() {   # PORT [AUTH_FILE]
    local port=$1 htpasswd=${2:-}
    printf 'version: 0.1\n'
    printf 'log:\n  level: warn\n  accesslog:\n    disabled: true\n'
    printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' \
        "$STATE_DIR/$port/data"
    printf 'http:\n  addr: 127.0.0.1:%s\n  secret: mab-local-test-registry-%s\n' "$port" "$port"
    if [[ -n $htpasswd ]]; then
        printf 'auth:\n  htpasswd:\n    realm: mab-registry\n    path: %s\n' "$htpasswd"
    fi
}

# registry_status PORT: prints the HTTP status code of GET /v2/ (000 when nothing answers).
registry_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$1/v2/" 2>/dev/null || true
}

registry_answers() {   # PORT EXPECTED_STATUS
    [[ $(registry_status "$1") == "$2" ]]
}

start_registry() {   # PORT EXPECTED_STATUS [AUTH_FILE]
    local port=$1 expect=$2 htpasswd=${3:-}
    local dir=$STATE_DIR/$port log=$LOG_DIR/mab-registry-$port.log
    mkdir -p "$dir/data"
    write_if_changed "$dir/config.yml" "$(registry_config "$port" "$htpasswd")"
    local status
    status=$(registry_status "$port")
    if [[ $status == "$expect" ]]; then
        say "registry 127.0.0.1:$port: already answering /v2/ ($status)"
        return 0
    fi
    [[ $status == 000 ]] ||
        die "something else answers on 127.0.0.1:$port (/v2/ gave HTTP $status, expected $expect)"
    say "registry 127.0.0.1:$port: starting (config $dir/config.yml, log $log)"
    setsid docker-registry serve "$dir/config.yml" >>"$log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/registry-$port.pid"
    if ! wait_for "registry 127.0.0.1:$port" registry_answers "$port" "$expect"; then
        tail -n 20 "$log" >&2 || true
        die "registry on 127.0.0.1:$port did not answer /v2/ with $expect within ${TIMEOUT}s (see $log)"
    fi
}

start_registry 5000 200

# The auth registry: htpasswd file with a bcrypt hash, made by apache2-utils.
readonly HTPASSWD=$STATE_DIR/5001/htpasswd
mkdir -p "$STATE_DIR/5001"
if [[ -f $HTPASSWD ]] && htpasswd -vb "$HTPASSWD" "$AUTH_USER" "$AUTH_PASSWORD" >/dev/null 2>&1; then
    say "htpasswd for $AUTH_USER: already present"
else
    htpasswd -cbB "$HTPASSWD" "$AUTH_USER" "$AUTH_PASSWORD" 2>/dev/null
    say "htpasswd for $AUTH_USER: written (bcrypt)"
fi
start_registry 5001 401 "$HTPASSWD"
[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -u "$AUTH_USER:$AUTH_PASSWORD" \
      http://127.0.0.1:5001/v2/) == 200 ]] ||
    die "registry 127.0.0.1:5001 does not accept $AUTH_USER's password"
say "registry 127.0.0.1:5001: basic auth works ($AUTH_USER / $AUTH_PASSWORD)"

# ---------------------------------------------------------------------------
# 6. The base image localhost:5000/base/busybox:1 (linux/amd64 + linux/arm64)
# ---------------------------------------------------------------------------
base_image_present() {
    local body
    body=$(curl -sf --max-time 10 \
        -H 'Accept: application/vnd.oci.image.index.v1+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
        http://127.0.0.1:5000/v2/base/busybox/manifests/1) || return 1
    jq -e '[.manifests[]?.platform | "\(.os)/\(.architecture)"] as $p
           | ($p | index("linux/amd64")) != null and ($p | index("linux/arm64")) != null' \
        <<<"$body" >/dev/null
}

if base_image_present; then
    say "base image $BASE_IMAGE: already in the registry"
else
    say "base image $BASE_IMAGE: building from Debian's busybox-static (amd64 + arm64)"
    busybox_debs_present || die "busybox-static debs missing from $BASE_CACHE"
    ctx=$(mktemp -d)
    for arch in amd64 arm64; do
        dpkg-deb -x "$(compgen -G "$BASE_CACHE/busybox-static_*_$arch.deb" | head -n1)" "$ctx/x$arch"
        cp "$ctx/x$arch/bin/busybox" "$ctx/busybox-$arch"
        rm -rf "$ctx/x$arch"
    done
    cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
ARG TARGETARCH
COPY busybox-${TARGETARCH} /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
EOF
    if ! docker buildx build --progress=plain --provenance=false \
            --platform linux/amd64,linux/arm64 -t "$BASE_IMAGE" --push "$ctx" \
            >"$LOG_DIR/mab-base-image.log" 2>&1; then
        tail -n 30 "$LOG_DIR/mab-base-image.log" >&2 || true
        rm -rf "$ctx"
        die "building $BASE_IMAGE failed (see $LOG_DIR/mab-base-image.log)"
    fi
    rm -rf "$ctx"
    base_image_present || die "$BASE_IMAGE was pushed but the registry has no two-platform index for it"
    say "base image $BASE_IMAGE: built and pushed"
fi

say "engine ready in $(( $(date +%s) - START_TS ))s:" \
    "docker $(docker version --format '{{.Server.Version}}'), buildx $(docker buildx version | awk '{print $2}')," \
    "registries 127.0.0.1:5000 and 127.0.0.1:5001 (auth)"
