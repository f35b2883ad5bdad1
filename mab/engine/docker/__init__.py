"""The one package that runs `docker`: `facts` (the environment checks and the daemon's facts,
through python-on-whales) and `runner` (the streamed `docker buildx build` in its own process
group). What `mab.engine.checks` reads from docker's answers is re-exported here too."""

from mab.engine.checks import (
    CONTAINERD_SNAPSHOTTER,
    ENABLE_CONTAINERD,
    INSTALL_BUILDX,
    INSTALL_DOCKER,
    MIN_BUILDX,
    BuilderInfo,
    CheckResult,
    CheckStatus,
    Preflight,
    check_image_store,
    check_platforms,
    emulator_fix,
    exports_need_image_store,
    normalize_builder_platform,
    parse_buildx_version,
    parse_inspect_text,
    uses_containerd_store,
)
from mab.engine.docker.facts import DaemonFacts, daemon_facts, preflight, run_checks
from mab.engine.docker.runner import CHUNK_SIZE, BuildRunner, ProcessResult, StdoutMode, run_build

__all__ = [
    "CHUNK_SIZE",
    "CONTAINERD_SNAPSHOTTER",
    "ENABLE_CONTAINERD",
    "INSTALL_BUILDX",
    "INSTALL_DOCKER",
    "MIN_BUILDX",
    "BuildRunner",
    "BuilderInfo",
    "CheckResult",
    "CheckStatus",
    "DaemonFacts",
    "Preflight",
    "ProcessResult",
    "StdoutMode",
    "check_image_store",
    "check_platforms",
    "daemon_facts",
    "emulator_fix",
    "exports_need_image_store",
    "normalize_builder_platform",
    "parse_buildx_version",
    "parse_inspect_text",
    "preflight",
    "run_build",
    "run_checks",
    "uses_containerd_store",
]
