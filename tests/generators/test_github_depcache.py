"""Dependency caches in the GitHub workflow: each cache mount carried with every option BuildKit
keys it on, build output saved per run, and mounts that cannot be carried named."""

from __future__ import annotations

import json
from typing import Any

import yaml

from mab.config.settings import Settings
from mab.detection.project import (
    CacheMount,
    DockerfileInfo,
    Image,
    Lockfile,
    Project,
    Remote,
    Stage,
)
from mab.files.yamlio import dump_roundtrip
from mab.generators import github


def _project(*mounts: CacheMount, lockfiles: tuple[Lockfile, ...] = ()) -> Project:
    image = Image(
        name="app",
        context=".",
        dockerfile="Dockerfile",
        info=DockerfileInfo(
            path="Dockerfile", stages=(Stage(0, "node:22", 1),), cache_mounts=mounts
        ),
        lockfiles=lockfiles,
    )
    return Project(images=(image,), remote=Remote("github.com", "acme/app", "github"))


def _render(project: Project) -> tuple[str, dict[str, Any]]:
    text = dump_roundtrip(github.workflow(project, Settings()))
    return text, yaml.safe_load(text)


def _steps(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for job in doc["jobs"].values() for s in job["steps"]}


def test_every_option_that_keys_a_cache_mount_reaches_the_cache_map() -> None:
    project = _project(
        CacheMount("/home/node/.npm", 4, uid="1000", gid="1000", mode="0755", sharing="locked"),
        CacheMount("/var/cache/apt", 3, id="apt-cache", sharing="private"),
        lockfiles=(Lockfile("package-lock.json", "npm"),),
    )
    _, doc = _render(project)
    cache_map = json.loads(_steps(doc)["mab-cache-dance"]["with"]["cache-map"])
    assert list(cache_map.values()) == [
        {
            "target": "/home/node/.npm",
            "uid": "1000",
            "gid": "1000",
            "mode": "0755",
            "sharing": "locked",
        },
        {"target": "/var/cache/apt", "id": "apt-cache", "sharing": "private"},
    ]


def test_build_output_is_saved_per_run_and_downloads_per_lockfile() -> None:
    project = _project(
        CacheMount("/go/pkg/mod", 3),
        CacheMount("/root/.cache/go-build", 3),
        CacheMount("/src/target", 5),
        lockfiles=(Lockfile("go.sum", "go"),),
    )
    _, doc = _render(project)
    steps = _steps(doc)
    mod = steps["mab-cache-go"]["with"]
    assert mod["key"] == "${{ matrix.slug }}-go-${{ hashFiles('go.sum') }}"
    assert mod["restore-keys"] == "${{ matrix.slug }}-go-"
    compiled = steps["mab-cache-go-build"]["with"]
    locked = "${{ matrix.slug }}-go-build-${{ hashFiles('go.sum') }}"
    assert compiled["key"] == f"{locked}-${{{{ github.run_id }}}}"
    assert compiled["restore-keys"].splitlines() == [f"{locked}-", "${{ matrix.slug }}-go-build-"]
    assert steps["mab-cache-go-build-ro"]["with"] == compiled
    target = steps["mab-cache-build"]["with"]
    assert target["key"].endswith("-${{ github.run_id }}")
    assert "/root/.cache/go-build" not in mod["path"] and "go-build" in compiled["path"]


def test_a_mount_based_on_a_stage_is_named_not_carried() -> None:
    project = _project(CacheMount("/cache", 6, source_stage="seed"))
    text, doc = _render(project)
    assert "mab-cache-dance" not in _steps(doc)
    assert "the cache mount on /cache (line 6) starts from stage seed" in text
