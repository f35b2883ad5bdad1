#!/usr/bin/env bash
# Stop what scripts/engine-up.sh started: the two local registries and dockerd.
# Packages, daemon.json, the binfmt registration and the registries' data stay, so the
# next engine-up.sh is quick and finds the base image still pushed. Safe to run twice.
set -euo pipefail

readonly TIMEOUT="${MAB_ENGINE_TIMEOUT:-90}"
readonly STATE_DIR="${MAB_STATE_DIR:-/var/lib/mab-registry}"
readonly RUN_DIR=/run/mab-engine
readonly DOCKERD_PIDFILE=/var/run/docker.pid

say() { printf '[engine-down] %s\n' "$*"; }
die() { printf '[engine-down] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root"

# stop_pid WHAT PID: SIGTERM, wait, then SIGKILL as a last resort.
stop_pid() {
    local what=$1 pid=$2 i
    say "$what: stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for (( i = 0; i < TIMEOUT; i++ )); do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "$what: stopped"
            return 0
        fi
        sleep 1
    done
    say "$what: still running after ${TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
    kill -0 "$pid" 2>/dev/null && die "$what (pid $pid) survived SIGKILL"
    return 0
}

# The pid of the registry serving PORT, from engine-up's pid file, checked against the
# process's command line so a recycled pid is never signalled.
registry_pid() {
    local port=$1 pidfile=$RUN_DIR/registry-$1.pid pid
    [[ -f $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$STATE_DIR/$port/config.yml" || return 1
    echo "$pid"
}

for port in 5001 5000; do
    if pid=$(registry_pid "$port"); then
        stop_pid "registry 127.0.0.1:$port" "$pid"
    else
        say "registry 127.0.0.1:$port: not running (no live pid in $RUN_DIR)"
    fi
    rm -f "$RUN_DIR/registry-$port.pid"
done

if [[ -f $DOCKERD_PIDFILE ]] && pid=$(<"$DOCKERD_PIDFILE") && [[ -n $pid ]] &&
   [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] &&
   [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
    # dockerd stops its containers and its own containerd on SIGTERM.
    stop_pid dockerd "$pid"
else
    say "dockerd: not running"
fi
say "done"
