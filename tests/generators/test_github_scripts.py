"""The shell scripts of the GitHub workflow, run by bash the way the runner runs them
(`bash --noprofile --norc -eo pipefail`), with the values the runner would give them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from mab.config.settings import Settings
from mab.detection.project import CacheMount, Lockfile
from mab.files.yamlio import dump_roundtrip
from mab.generators import github
from tests.generators.test_github_depcache import _project


def _step(doc: dict[str, Any], job: str, step_id: str) -> dict[str, Any]:
    step: dict[str, Any] = next(s for s in doc["jobs"][job]["steps"] if s.get("id") == step_id)
    return step


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
    full = {"PATH": os.environ["PATH"], **env}
    return subprocess.run(argv, cwd=cwd, env=full, capture_output=True, text=True, check=False)


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_the_dependency_cache_keys_follow_the_lockfiles(tmp_path: Path) -> None:
    project = _project(
        CacheMount("/go/pkg/mod", 3),
        CacheMount("/root/.cache/go-build", 3),
        lockfiles=(Lockfile("go.sum", "go"),),
    )
    doc = yaml.safe_load(dump_roundtrip(github.workflow(project, Settings())))
    image = doc["jobs"]["build"]["strategy"]["matrix"]["image"][0]
    script = _step(doc, "build", "mab-deps")["run"]
    (tmp_path / "go.sum").write_text("a v1.0.0 h1:x\n")

    def run() -> dict[str, str]:
        out = tmp_path / "out"
        out.write_text("")
        env = {
            "GITHUB_OUTPUT": str(out),
            "HOME": "/home/runner",
            "MAB_DEPS": image["deps"],
            "MAB_BUILDS": image["builds"],
            "MAB_CACHE_MAP": image["cache-map"],
        }
        done = _bash(script, tmp_path, env)
        assert done.returncode == 0, done.stderr
        return _outputs(out)

    first = run()
    assert len(first["deps"]) == 32 and first["deps"] == first["builds"]
    # where the actions/cache path `~/.mab-cache` is
    assert '"/home/runner/.mab-cache/deps/go/go-pkg-mod":"/go/pkg/mod"' in first["cache-map"]
    assert "@cache@" not in first["cache-map"]
    assert run() == first
    (tmp_path / "go.sum").write_text("a v1.0.1 h1:y\n")
    assert run()["deps"] != first["deps"]


def test_the_merge_publishes_only_when_every_platform_built(tmp_path: Path) -> None:
    # docker is a stand-in here that prints its arguments: the script's own logic (counting the
    # digests, building the argument list) is what this checks; the real imagetools run needs
    # a registry and pushed digests (the engine tests cover pushing by digest).
    doc = yaml.safe_load(dump_roundtrip(github.workflow(_project(), Settings())))
    script = _step(doc, "merge", "mab-manifest")["run"]
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "docker").write_text('#!/bin/sh\necho "docker $*"\n')
    (stub / "docker").chmod(0o755)
    digests = tmp_path / "digests"
    digests.mkdir()
    (digests / ("a" * 64)).touch()
    env = {
        "PATH": f"{stub}:{os.environ['PATH']}",
        "MAB_IMAGE": "ghcr.io/acme/app",
        "MAB_PLATFORMS": "2",
        "MAB_TAGS": "ghcr.io/acme/app:main\n\nghcr.io/acme/app:sha-1234567\n",
    }
    done = _bash(script, digests, env)
    assert done.returncode == 1
    assert "1 of 2 platforms built" in done.stdout
    (digests / ("b" * 64)).touch()
    done = _bash(script, digests, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "docker", "buildx", "imagetools", "create",
        "--tag=ghcr.io/acme/app:main", "--tag=ghcr.io/acme/app:sha-1234567",
        f"ghcr.io/acme/app@sha256:{'a' * 64}", f"ghcr.io/acme/app@sha256:{'b' * 64}",
    ]  # fmt: skip
