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


def _image(doc: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = doc["jobs"]["build"]["strategy"]["matrix"]["image"][0]
    return entry


def test_every_option_that_keys_a_cache_mount_reaches_the_cache_map() -> None:
    project = _project(
        CacheMount("/home/node/.npm", 4, uid="1000", gid="1000", mode="0755", sharing="locked"),
        CacheMount("/var/cache/apt", 3, id="apt-cache", sharing="private"),
        lockfiles=(Lockfile("package-lock.json", "npm"),),
    )
    _, doc = _render(project)
    cache_map = json.loads(_image(doc)["cache-map"])
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
    dance = _steps(doc)["mab-cache-dance"]["with"]
    assert dance["cache-map"] == "${{ steps.mab-deps.outputs.cache-map }}"


def test_build_output_is_saved_per_run_and_downloads_per_lockfile() -> None:
    project = _project(
        CacheMount("/go/pkg/mod", 3),
        CacheMount("/root/.cache/go-build", 3),
        CacheMount("/src/target", 5),
        lockfiles=(Lockfile("go.sum", "go"),),
    )
    _, doc = _render(project)
    image = _image(doc)
    assert image["deps"] == "go.sum"
    assert image["builds"] == "go.sum\nDockerfile"
    cache_map = json.loads(image["cache-map"])
    assert cache_map["@cache@/deps/go/go-pkg-mod"] == "/go/pkg/mod"
    assert cache_map["@cache@/builds/go/root-.cache-go-build"] == "/root/.cache/go-build"
    assert cache_map["@cache@/builds/build/src-target"] == "/src/target"
    steps = _steps(doc)
    downloads = steps["mab-cache-deps"]["with"]
    base = "${{ matrix.platform.slug }}-deps-${{ matrix.image.name }}@"
    assert downloads["key"] == base + "${{ steps.mab-deps.outputs.deps }}"
    assert downloads["restore-keys"] == base
    built = steps["mab-cache-builds"]["with"]
    base = "${{ matrix.platform.slug }}-builds-${{ matrix.image.name }}@"
    locked = base + "${{ steps.mab-deps.outputs.builds }}"
    assert built["key"] == f"{locked}-${{{{ github.run_id }}}}"
    assert built["restore-keys"].splitlines() == [f"{locked}-", base]
    assert steps["mab-cache-builds-ro"]["with"] == built
    assert built["path"] != downloads["path"]


def test_a_mount_based_on_a_stage_is_named_not_carried() -> None:
    project = _project(CacheMount("/cache", 6, source_stage="seed"))
    text, doc = _render(project)
    assert "mab-cache-dance" not in _steps(doc)
    assert "the cache mount on /cache (line 6) starts from stage seed" in text


def test_a_mount_whose_options_name_a_variable_is_named_not_carried() -> None:
    # The copy is made in a build of its own, where `$UID` is not set: BuildKit would key it
    # on other options than the project's build (or refuse an empty uid).
    project = _project(CacheMount("/home/app/.npm", 7, uid="$UID", gid="1000"))
    text, doc = _render(project)
    assert "mab-cache-dance" not in _steps(doc)
    assert "the cache mount on /home/app/.npm (line 7) takes uid=$UID from a variable" in text
