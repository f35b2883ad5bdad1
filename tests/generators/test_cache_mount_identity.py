"""On the real engine: a cache mount carried with every option it was written with reaches the
build; carried without its uid/gid (as mab did before), it fills a different, unused cache.

The injection is done the way buildkit-cache-dance does it (its `cache-map` entry turned into
`--mount=type=cache,<key>=<value>,...` in a throwaway build that copies a folder in), with the
entry mab writes into the workflow. The build then reads the cache mount as the project's
Dockerfile declares it. Runs under the engine lock: `flock /work/wt/engine.lock pytest -m engine`.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from mab.detection.dockerfile import parse_dockerfile
from mab.detection.project import CacheMount
from mab.generators.depcache import Mount, _mount, tool_for_target
from tests import engine_env

pytestmark = pytest.mark.engine


def _mount_args(mount: Mount) -> str:
    """What buildkit-cache-dance (v3) puts after `--mount=` for one cache-map entry."""
    value = mount.cache_map_value()
    if isinstance(value, str):
        return f"type=cache,target={value}"
    return "type=cache," + ",".join(f"{k}={v}" for k, v in value.items())


def _build(context: Path, dockerfile: str, *extra: str) -> subprocess.CompletedProcess[str]:
    (context / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    argv = ["docker", "buildx", "build", "--progress=plain", *extra, str(context)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


def _carried(tmp_path: Path, mount: CacheMount, carried: Mount) -> str:
    """Inject a marker through `carried`, then read it in a build declaring `mount`."""
    marker = uuid.uuid4().hex
    seed = tmp_path / "seed"
    seed.mkdir(parents=True)
    (seed / "marker").write_text(marker, encoding="utf-8")
    inject = (
        f"FROM {engine_env.BASE_IMAGE}\n"
        f"RUN --mount={_mount_args(carried)} --mount=type=bind,source=.,target=/var/dance-cache"
        f" cp -p -R /var/dance-cache/. {carried.target}\n"
    )
    done = _build(seed, inject)
    assert done.returncode == 0, done.stderr
    project = tmp_path / "project"
    project.mkdir(parents=True)
    options = f",uid={mount.uid}" if mount.uid else ""
    options += f",gid={mount.gid}" if mount.gid else ""
    read = (
        f"FROM {engine_env.BASE_IMAGE}\n"
        f"RUN --mount=type=cache,target={mount.target}{options}"
        f" cat {mount.target}/marker 2>/dev/null || echo missing\n"
    )
    done = _build(project, read, "--no-cache")
    assert done.returncode == 0, done.stderr
    return "found" if marker in done.stderr else "missing"


def test_uid_and_gid_carried_reach_the_build(engine_ready: None, tmp_path: Path) -> None:
    target = f"/home/node/.npm-{uuid.uuid4().hex[:8]}"  # a cache no other build shares
    line = f"RUN --mount=type=cache,target={target},uid=1000,gid=1000 npm ci\n"
    info = parse_dockerfile(f"FROM node:22\n{line}", "Dockerfile")
    (mount,) = info.cache_mounts
    carried = _mount(mount, tool_for_target(mount.target))
    assert _carried(tmp_path / "with", mount, carried) == "found"
    # What mab wrote before: the target alone. BuildKit keys that mount differently.
    bare = Mount(mount.target, None, carried.runner_dir)
    assert _carried(tmp_path / "without", mount, bare) == "missing"
