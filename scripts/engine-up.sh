#!/usr/bin/env bash
# Bring up the real build engine that mab's end-to-end tests and CI need, on a
# Debian 12 (bookworm) machine where we are root, have no systemd and no Docker Hub:
#
#   * Docker 26 + buildx 0.13 + containerd + runc + tini, taken from Debian trixie's
#     packages (bookworm's docker.io is too old) but *unpacked into a private prefix*
#     (/opt/mab-engine), never installed with dpkg: the system keeps bookworm's libc,
#     /usr/bin/python3 and every other package it had
#   * the containerd image store (multi-platform builds, registry cache export)
#   * QEMU user emulation for linux/arm64 through binfmt_misc
#   * a plain local registry on 127.0.0.1:5000 (deletes enabled)
#   * a basic-auth registry on 127.0.0.1:5001 (user mab, password mab-secret)
#   * the two-platform base image localhost:5000/base/busybox:1, made from
#     Debian's busybox-static packages
#
# What it changes on the machine:
#   * apt installs, from bookworm only: qemu-user-static binfmt-support docker-registry
#     rsync apache2-utils curl jq ca-certificates iptables patchelf. Before installing it
#     simulates the install and refuses if that would touch libc6 or python3 or take any
#     package from a Debian release other than 12.
#   * /opt/mab-engine: root/ (the unpacked trixie packages), glibc/ (trixie's libc6 and
#     libseccomp2, used only by the binaries that need glibc >= 2.38: runc, patched with
#     patchelf to load them), bin/ (links dockerd runs its helpers from)
#   * /var/cache/mab-engine: the downloaded .debs and a private apt state for trixie
#     (its own sources list and package lists; /etc/apt is not touched)
#   * /opt/mab-engine/tools: trixie's cosign (for the signing tests), unpacked the same way,
#     with a link in /opt/mab-engine/bin
#   * /usr/local/lib/docker/cli-plugins/docker-buildx: link to the private buildx
#   * /etc/docker/daemon.json: features.containerd-snapshotter=true (other keys kept)
#   * binfmt_misc mounted, qemu-aarch64 enabled (flags PF)
#   * dockerd (data in /var/lib/docker, pid file /var/run/docker.pid) and two
#     docker-registry processes (state in /var/lib/mab-registry), logs in /var/log/mab-*
# It records `/usr/bin/python3 --version` and the libc6 version when it starts and fails
# (exit 3, naming what changed) if either differs when it ends.
#
# Every step first checks whether its work is already done, so a second run only
# verifies and takes a few seconds. Stop everything again with scripts/engine-down.sh.
#
# Environment knobs (all optional):
#   MAB_ENGINE_TIMEOUT   seconds to wait for each service (default 90)
#   MAB_ENGINE_PREFIX    where the engine binaries are unpacked (default /opt/mab-engine)
#   MAB_STATE_DIR        registry data and configs (default /var/lib/mab-registry)
#   MAB_LOG_DIR          service logs (default /var/log)
#   MAB_FORCE_APT=1      redo the apt steps and re-unpack the prefix even when all is in place
set -euo pipefail

readonly TIMEOUT="${MAB_ENGINE_TIMEOUT:-90}"
readonly PREFIX="${MAB_ENGINE_PREFIX:-/opt/mab-engine}"
readonly STATE_DIR="${MAB_STATE_DIR:-/var/lib/mab-registry}"
readonly LOG_DIR="${MAB_LOG_DIR:-/var/log}"
readonly RUN_DIR=/run/mab-engine
readonly CACHE_DIR=/var/cache/mab-engine
readonly DEB_CACHE=$CACHE_DIR/debs
readonly APT_STATE=$CACHE_DIR/apt
readonly DOCKERD_LOG="$LOG_DIR/mab-dockerd.log"
readonly DOCKERD_PIDFILE=/var/run/docker.pid
readonly DAEMON_JSON=/etc/docker/daemon.json
readonly PLUGIN_LINK=/usr/local/lib/docker/cli-plugins/docker-buildx
readonly BASE_IMAGE=localhost:5000/base/busybox:1
readonly BASE_CACHE=$CACHE_DIR/busybox
readonly AUTH_USER=mab
readonly AUTH_PASSWORD=mab-secret
# Bump when the prefix's layout changes, so the next run rebuilds it.
readonly PREFIX_LAYOUT=1

# From trixie, unpacked into $PREFIX/root: the engine. Into $PREFIX/glibc: the libraries
# of the binaries that need a newer glibc than bookworm's 2.36.
readonly ENGINE_PKGS=(docker.io docker-buildx containerd runc tini)
readonly GLIBC_PKGS=(libc6 libseccomp2)
# From trixie, unpacked into $PREFIX/tools: what the tests use beside the engine (cosign
# signs images for `mab verify`'s tests). A Go binary: bookworm's glibc runs it.
readonly TOOL_PKGS=(cosign)
readonly TOOL_CACHE=$CACHE_DIR/tools
# From bookworm, installed with apt.
readonly BOOKWORM_PKGS=(qemu-user-static binfmt-support docker-registry rsync
                        apache2-utils curl jq ca-certificates iptables patchelf)
# $PREFIX/bin/NAME -> $PREFIX/root/PATH: what dockerd (and containerd under it) look up
# on PATH, plus the buildx plugin.
readonly ENGINE_LINKS=(
    dockerd=usr/sbin/dockerd
    docker-proxy=usr/sbin/docker-proxy
    containerd=usr/bin/containerd
    containerd-shim-runc-v2=usr/bin/containerd-shim-runc-v2
    ctr=usr/bin/ctr
    runc=usr/sbin/runc
    docker-init=usr/bin/tini-static
    docker-buildx=usr/libexec/docker/cli-plugins/docker-buildx
)

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

# ---------------------------------------------------------------------------
# 0. The system's libc and python3 must be the same when this script ends
# ---------------------------------------------------------------------------
python3_version() { /usr/bin/python3 --version 2>&1 || echo "no /usr/bin/python3"; }
libc_version() {
    printf '%s (%s)' "$(dpkg-query -W -f='${Version}' libc6 2>/dev/null || echo '?')" \
        "$(ldd --version 2>/dev/null | head -n1)"
}
PYTHON3_BEFORE=$(python3_version)
LIBC_BEFORE=$(libc_version)
readonly PYTHON3_BEFORE LIBC_BEFORE

check_system_unchanged() {
    local rc=$? changed=()
    local py libc
    py=$(python3_version)
    libc=$(libc_version)
    [[ $py == "$PYTHON3_BEFORE" ]] || changed+=("/usr/bin/python3: '$PYTHON3_BEFORE' -> '$py'")
    [[ $libc == "$LIBC_BEFORE" ]] || changed+=("libc6: '$LIBC_BEFORE' -> '$libc'")
    if (( ${#changed[@]} )); then
        local c
        for c in "${changed[@]}"; do
            printf '[engine-up] ERROR: the system changed during this run: %s\n' "$c" >&2
        done
        exit 3
    fi
    exit "$rc"
}
trap check_system_unchanged EXIT

mkdir -p "$RUN_DIR" "$STATE_DIR" "$LOG_DIR" "$CACHE_DIR"

if [[ -e /etc/apt/sources.list.d/trixie.sources ]]; then
    say "note: /etc/apt/sources.list.d/trixie.sources (from an older engine-up) is left as is and not used"
fi

# ---------------------------------------------------------------------------
# 1. Bookworm packages, with apt (after a simulation says it is harmless)
# ---------------------------------------------------------------------------
pkg_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing_bookworm_pkgs() {
    local p
    for p in "${BOOKWORM_PKGS[@]}"; do
        pkg_installed "$p" || printf '%s\n' "$p"
    done
}

# apt_guard PKG...: refuse if installing PKG... would install, upgrade or remove libc6 or
# python3 (or their close relatives), or take any package from a Debian release other than 12.
apt_guard() {
    local sim line bad=()
    sim=$(apt-get -s -o Debug::NoLocking=1 install "$@" 2>&1) ||
        die "apt-get -s install $* failed:"$'\n'"$sim"
    while IFS= read -r line; do
        case $line in
            Inst\ *|Remv\ *|Conf\ *) ;;
            *) continue ;;
        esac
        local name=${line#* }
        name=${name%% *}
        name=${name%%:*}
        if [[ $name =~ ^(libc6|libc-bin|libc6-dev|python3|python3-minimal|libpython3(\.[0-9]+)?(-minimal|-stdlib)?|python3\.[0-9]+(-minimal)?)$ ]]; then
            bad+=("$line")
        elif [[ $line == Inst\ * && $line == *Debian* && $line != *Debian*:12[./]* ]]; then
            bad+=("$line")
        fi
    done <<<"$sim"
    if (( ${#bad[@]} )); then
        printf '[engine-up] ERROR: refusing to install: apt would change the system:\n' >&2
        printf '    %s\n' "${bad[@]}" >&2
        exit 1
    fi
}

mapfile -t MISSING < <(missing_bookworm_pkgs)
if (( ${#MISSING[@]} == 0 )) && [[ ${MAB_FORCE_APT:-0} != 1 ]]; then
    say "bookworm packages: already installed"
else
    (( ${#MISSING[@]} )) || MISSING=("${BOOKWORM_PKGS[@]}")
    # No prompts, ever (CI has no stdin): keep locally changed conffiles, no needrestart dialog.
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    say "apt-get update ..."
    apt-get update -qq || die "apt-get update failed"
    apt_guard "${MISSING[@]}"
    say "apt simulation: installing ${MISSING[*]} leaves libc6 and python3 alone"
    # Keep the packages' init scripts from starting a registry on their own: this script
    # starts it, with its own configuration and logs.
    policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        created_policy=1
    fi
    rc=0
    say "apt-get install ${MISSING[*]} ..."
    apt-get install -y -qq -o Dpkg::Use-Pty=0 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${MISSING[@]}" </dev/null >/dev/null || rc=$?
    if (( created_policy )); then rm -f "$policy"; fi
    (( rc == 0 )) || die "apt-get install failed (exit $rc)"
    say "bookworm packages: installed"
fi

# ---------------------------------------------------------------------------
# 2. The engine, unpacked from trixie's packages into $PREFIX
# ---------------------------------------------------------------------------
# A private apt configuration: its own sources (trixie for the engine, bookworm for the
# arm64 busybox), lists and cache under $APT_STATE. It reads dpkg's status but never
# writes anything outside $APT_STATE, and /etc/apt stays as it is.
private_apt() {
    apt-get -q \
        -o Dir::Etc::SourceList="$APT_STATE/sources.list" \
        -o Dir::Etc::SourceParts="$APT_STATE/sources.list.d" \
        -o Dir::Etc::Preferences=/dev/null \
        -o Dir::Etc::PreferencesParts="$APT_STATE/preferences.d" \
        -o Dir::State::Lists="$APT_STATE/lists" \
        -o Dir::Cache="$APT_STATE/cache" \
        -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 \
        "$@"
}

private_apt_update() {
    mkdir -p "$APT_STATE"/{sources.list.d,preferences.d,lists/partial,cache/archives/partial}
    : >"$APT_STATE/sources.list"
    local uri
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    uri=${uri:-http://deb.debian.org/debian}
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nArchitectures: %s\nSigned-By: %s\n\n' \
        "$uri" trixie amd64 /usr/share/keyrings/debian-archive-keyring.gpg \
        "$uri" bookworm 'amd64 arm64' /usr/share/keyrings/debian-archive-keyring.gpg \
        >"$APT_STATE/sources.list.d/mab-engine.sources"
    say "private apt update (trixie + bookworm lists in $APT_STATE) ..."
    private_apt update -qq >/dev/null || die "apt-get update of the private apt state failed"
}

# download_debs DEST SPEC...: apt-get download into DEST (through a directory _apt may write).
download_debs() {
    local dest=$1; shift
    local tmp
    tmp=$(mktemp -d)
    chmod 0777 "$tmp"   # apt-get download drops privileges to _apt
    if ! (cd "$tmp" && private_apt download -qq "$@" >/dev/null); then
        rm -rf "$tmp"
        die "apt-get download $* failed"
    fi
    mkdir -p "$dest"
    mv "$tmp"/*.deb "$dest"/
    rm -rf "$tmp"
}

busybox_debs_present() {
    compgen -G "$BASE_CACHE/busybox-static_*_amd64.deb" >/dev/null &&
        compgen -G "$BASE_CACHE/busybox-static_*_arm64.deb" >/dev/null
}

prefix_stamp() {   # what $PREFIX/.stamp says when the prefix is complete
    printf 'layout %s\n' "$PREFIX_LAYOUT"
    local d
    for d in "$DEB_CACHE"/*.deb; do basename "$d"; done
}

prefix_ready() {
    [[ -f $PREFIX/.stamp && -d $DEB_CACHE ]] || return 1
    [[ $(<"$PREFIX/.stamp") == "$(prefix_stamp)" ]] || return 1
    local link name
    for link in "${ENGINE_LINKS[@]}"; do
        name=${link%%=*}
        [[ -x $PREFIX/bin/$name ]] || return 1
    done
    "$PREFIX/bin/runc" --version >/dev/null 2>&1 && "$PREFIX/bin/dockerd" --version >/dev/null 2>&1
}

# needs_new_glibc FILE: does this dynamically linked FILE want a glibc symbol version the
# system's glibc lacks? (Reads the ELF's version needs with objdump when there is one,
# else asks the system's loader.)
needs_new_glibc() {
    local f=$1 need sys
    file_is_dynamic "$f" || return 1
    sys=$(ldd --version | head -n1 | awk '{print $NF}')
    if command -v objdump >/dev/null 2>&1; then
        need=$(objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)
        [[ -n $need ]] || return 1
        [[ $(printf '%s\n%s\n' "$need" "$sys" | sort -V | tail -n1) != "$sys" ]]
    else
        ldd "$f" 2>&1 | grep -q "version \`GLIBC_"
    fi
}

file_is_dynamic() { patchelf --print-interpreter "$1" >/dev/null 2>&1; }

build_prefix() {
    private_apt_update
    rm -rf "$DEB_CACHE.new"
    download_debs "$DEB_CACHE.new" "${ENGINE_PKGS[@]/%//trixie}" "${GLIBC_PKGS[@]/%//trixie}"
    rm -rf "$DEB_CACHE"
    mv "$DEB_CACHE.new" "$DEB_CACHE"

    local version
    version=$(dpkg-deb -f "$(compgen -G "$DEB_CACHE/docker.io_*.deb" | head -n1)" Version)
    dpkg --compare-versions "$version" ge 26 || die "trixie's docker.io $version is older than 26"

    local new=$PREFIX.new
    rm -rf "$new"
    mkdir -p "$new/root" "$new/glibc" "$new/bin"
    local p deb
    for p in "${ENGINE_PKGS[@]}"; do
        deb=$(compgen -G "$DEB_CACHE/${p}_*_amd64.deb" | head -n1) || die "no $p .deb in $DEB_CACHE"
        dpkg-deb -x "$deb" "$new/root"
    done
    for p in "${GLIBC_PKGS[@]}"; do
        deb=$(compgen -G "$DEB_CACHE/${p}_*_amd64.deb" | head -n1) || die "no $p .deb in $DEB_CACHE"
        dpkg-deb -x "$deb" "$new/glibc"
    done
    # The Debian init script and systemd units are of no use here; drop them so nothing
    # mistakes the prefix for an installed service.
    rm -rf "$new/root/etc" "$new/root/lib" "$new/root/usr/lib/systemd"

    # Binaries that want glibc >= 2.38 load trixie's loader and libraries from the prefix
    # (DT_RPATH, which wins even over LD_LIBRARY_PATH). A wrapper script would not do:
    # runc re-executes itself through /proc/self/exe.
    local libdir=$PREFIX/glibc/usr/lib/x86_64-linux-gnu f patched=()
    while IFS= read -r -d '' f; do
        if needs_new_glibc "$f"; then
            patchelf --set-interpreter "$libdir/ld-linux-x86-64.so.2" \
                     --force-rpath --set-rpath "$libdir" "$f" ||
                die "patchelf failed on $f"
            patched+=("${f#"$new/root"}")
        fi
    done < <(find "$new/root/usr/bin" "$new/root/usr/sbin" "$new/root/usr/libexec" -type f -perm -u+x -print0)

    local link name target
    for link in "${ENGINE_LINKS[@]}"; do
        name=${link%%=*}
        target=${link#*=}
        [[ -e $new/root/$target ]] || die "$target is missing from trixie's packages"
        ln -s "$PREFIX/root/$target" "$new/bin/$name"
    done

    rm -rf "$PREFIX.old"
    if [[ -e $PREFIX ]]; then mv "$PREFIX" "$PREFIX.old"; fi
    mv "$new" "$PREFIX"
    rm -rf "$PREFIX.old"
    prefix_stamp >"$PREFIX/.stamp"
    say "engine prefix $PREFIX: unpacked (patched for trixie's glibc: ${patched[*]:-none})"
    prefix_ready || die "the binaries in $PREFIX do not run (try: $PREFIX/bin/runc --version)"
}

if prefix_ready && [[ ${MAB_FORCE_APT:-0} != 1 ]]; then
    say "engine prefix $PREFIX: already in place"
else
    build_prefix
fi

# Debian's statically linked busybox, for both platforms, as the base image's content.
if busybox_debs_present; then
    say "busybox-static debs: already cached"
else
    if ! compgen -G "$APT_STATE/lists/*_dists_bookworm_*Packages*" >/dev/null; then
        private_apt_update
    fi
    download_debs "$BASE_CACHE" busybox-static:amd64/bookworm busybox-static:arm64/bookworm
    say "busybox-static debs: downloaded to $BASE_CACHE"
fi

# The tools beside the engine (cosign), unpacked from trixie into $PREFIX/tools. After the
# prefix step, since a rebuilt prefix starts without them.
tools_ready() { [[ -x $PREFIX/bin/cosign ]] && "$PREFIX/bin/cosign" version >/dev/null 2>&1; }
if tools_ready && [[ ${MAB_FORCE_APT:-0} != 1 ]]; then
    say "tools in $PREFIX/tools (${TOOL_PKGS[*]}): already in place"
else
    if ! compgen -G "$TOOL_CACHE/cosign_*_amd64.deb" >/dev/null; then
        if ! compgen -G "$APT_STATE/lists/*_dists_trixie_*Packages*" >/dev/null; then
            private_apt_update
        fi
        download_debs "$TOOL_CACHE" "${TOOL_PKGS[@]/%//trixie}"
    fi
    rm -rf "$PREFIX/tools.new"
    mkdir -p "$PREFIX/tools.new"
    for p in "${TOOL_PKGS[@]}"; do
        deb=$(compgen -G "$TOOL_CACHE/${p}_*_amd64.deb" | head -n1) || die "no $p .deb in $TOOL_CACHE"
        dpkg-deb -x "$deb" "$PREFIX/tools.new"
    done
    rm -rf "$PREFIX/tools"
    mv "$PREFIX/tools.new" "$PREFIX/tools"
    ln -sfn "$PREFIX/tools/usr/bin/cosign" "$PREFIX/bin/cosign"
    tools_ready || die "$PREFIX/bin/cosign does not run"
    say "tools in $PREFIX/tools (${TOOL_PKGS[*]}): unpacked"
fi

# The docker client on PATH may be newer than the engine; that is fine (it negotiates the
# API version), but it must find the buildx plugin: /usr/local/lib/docker/cli-plugins is
# one of the places every docker client looks.
if [[ $(readlink "$PLUGIN_LINK" 2>/dev/null) == "$PREFIX/bin/docker-buildx" ]]; then
    say "buildx plugin link $PLUGIN_LINK: already present"
else
    mkdir -p "$(dirname "$PLUGIN_LINK")"
    ln -sfn "$PREFIX/bin/docker-buildx" "$PLUGIN_LINK"
    say "buildx plugin link $PLUGIN_LINK: written"
fi
docker buildx version >/dev/null 2>&1 || die "the docker client on PATH ($(command -v docker)) does not find buildx"

# ---------------------------------------------------------------------------
# 3. daemon.json: the containerd image store, merged into what is there
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
# 4. QEMU for linux/arm64 through binfmt_misc
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
# 5. dockerd
# ---------------------------------------------------------------------------
docker_up() { timeout 10 docker info >/dev/null 2>&1; }

dockerd_pid() {
    local pid
    [[ -f $DOCKERD_PIDFILE ]] || return 1
    pid=$(<"$DOCKERD_PIDFILE")
    # a stale pid file (dockerd killed) may name a recycled pid: check it is dockerd, and
    # alive (a killed dockerd stays a zombie until something reaps it)
    [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] && pid_alive "$pid" &&
        echo "$pid"
}

# pid_alive PID: a process that exists and is not a zombie.
pid_alive() {
    [[ -d /proc/$1 ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

# After a kill -9, dockerd and its containerd stay zombies until their reaper gets to them,
# and both refuse to start while their pid file names a process that "still runs". Such a
# pid file is stale: remove it.
clear_stale_pidfiles() {
    local f pid
    for f in "$DOCKERD_PIDFILE" /var/run/docker/containerd/containerd.pid; do
        [[ -f $f ]] || continue
        pid=$(<"$f")
        if [[ -z $pid ]] || ! pid_alive "$pid"; then
            rm -f "$f"
            say "removed the stale pid file $f${pid:+ (pid $pid is gone)}"
        fi
    done
}

start_dockerd() {
    clear_stale_pidfiles
    say "dockerd: starting $PREFIX/bin/dockerd (log: $DOCKERD_LOG)"
    # setsid: its own session, so it outlives this script and a CI step's process group.
    # PATH: dockerd finds containerd, docker-proxy and docker-init there, containerd finds
    # containerd-shim-runc-v2, and the shim finds runc, all from the prefix.
    PATH="$PREFIX/bin:$PATH" setsid "$PREFIX/bin/dockerd" --pidfile "$DOCKERD_PIDFILE" \
        >>"$DOCKERD_LOG" 2>&1 </dev/null &
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

# dockerd_from_prefix: is the dockerd of the pid file the one unpacked in $PREFIX?
dockerd_from_prefix() {
    local pid
    pid=$(dockerd_pid) || return 1
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$PREFIX"/* ]]
}

if docker_up; then
    restart_why=
    if (( DAEMON_JSON_CHANGED )); then
        restart_why="daemon.json changed"
    elif ! dockerd_from_prefix; then
        restart_why="it is not $PREFIX's dockerd"
    fi
    if [[ -n $restart_why ]]; then
        say "dockerd: running, but $restart_why: restarting"
        dockerd_pid >/dev/null || die "dockerd runs but not from $DOCKERD_PIDFILE; stop it by hand"
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
# 6. Registries
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
# 7. The base image localhost:5000/base/busybox:1 (linux/amd64 + linux/arm64)
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
