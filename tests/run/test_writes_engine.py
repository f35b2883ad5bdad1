"""Cache writes are CI's unless asked: a local `mab build -t REG/app:x` on a feature branch with
no cache flags writes nothing to the registry (no cache, no build record); an explicit registry
`--cache-to` from that branch is refused without --force, and with it writes and says so."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from mab.errors import EXIT_USAGE
from tests import engine_env

DOCKERFILE = "FROM localhost:5000/base/busybox:1\nARG MARK\nRUN echo $MARK > /mark\n"


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def _tags(repository: str) -> list[str]:
    url = f"http://{engine_env.REGISTRY}/v2/{repository}/tags/list"
    if engine_env.http_status(url) == 404:
        return []
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as reply:
        return sorted(json.load(reply).get("tags") or [])


def _mab(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mab", "build", "--no-tui", "--platform", "linux/amd64", *args],
        cwd=folder, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.engine
def test_a_local_build_writes_the_registry_only_when_asked(
    tmp_path: Path, engine_ready: None
) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    _git(tmp_path, "init", "-q", "-b", "feature-x")
    _git(tmp_path, "add", "Dockerfile")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
    repository = f"test/writes-{uuid.uuid4().hex[:12]}"
    tag = f"{engine_env.REGISTRY}/{repository}:x"
    mark = ("--build-arg", f"MARK={uuid.uuid4().hex}")

    plain = _mab(tmp_path, "-t", tag, *mark, ".")
    assert plain.returncode == 0, plain.stderr
    assert _tags(repository) == [], "a local build wrote to the registry unasked"
    assert "--cache-to" not in plain.stderr.splitlines()[0]  # the buildx command line
    assert "Caches written: none" in plain.stdout

    cache = f"type=registry,ref={tag.rsplit(':', 1)[0]}:mine,mode=max"
    refused = _mab(tmp_path, "-t", tag, "--cache-to", cache, *mark, ".")
    assert refused.returncode == EXIT_USAGE
    assert "this is branch feature-x" in refused.stderr and "--force" in refused.stderr
    assert _tags(repository) == []

    forced = _mab(tmp_path, "-t", tag, "--cache-to", cache, "--force", *mark, ".")
    assert forced.returncode == 0, forced.stderr
    assert _tags(repository) == ["mine"]
    assert f"Caches written: {tag.rsplit(':', 1)[0]}:mine" in forced.stdout
