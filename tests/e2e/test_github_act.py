"""The GitHub workflow `mab init-ci` writes, run for real under `act` (see `act_env` for what
is real and what is stood in for): two platforms, linux/arm64 emulated by the engine's QEMU,
the registry on 127.0.0.1:5001 with its credentials as secrets, the `docker` buildx driver
through `github.buildx` in .mab.yml (a self-hosted runner's engine).

- A push to the default branch builds both platforms of each image, hands their digests to
  the merge job, and publishes one tag holding both platforms.
- A second push, on a pruned builder (a fresh runner) after a lockfile change: the layer cache
  comes from the registry and the dependency downloads from actions/cache, on both platforms.
- A pull request pushes nothing and writes no cache; a `v*` tag publishes the release tags.
- A deliberately broken workflow (a test-only mutation) fails the run: the test can fail.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from mab.files.yamlio import dump_roundtrip, load_roundtrip
from tests.e2e.act_env import Act, ActRun
from tests.e2e.conftest import Engine

pytestmark = pytest.mark.engine

USER, PASSWORD = "mab", "mab-secret"
DOCKERFILE = """\
ARG BASE=localhost:5000/base/busybox:1
FROM ${BASE}
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \\
    if [ -f /root/.npm/seen ]; then echo "npm cache: warm"; else echo "npm cache: cold"; fi; \\
    cp package-lock.json /root/.npm/seen
COPY src/ ./src/
RUN cat src/* > app && echo "built for $(uname -m)"
"""


def git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


def registry_get(path: str) -> Any:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:5001/v2/{path}",
        headers={
            "Authorization": f"Basic {token}",
            "Accept": "application/vnd.oci.image.index.v1+json,"
            "application/vnd.docker.distribution.manifest.list.v2+json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def tags(repo: str) -> set[str]:
    found = registry_get(f"{repo}/tags/list")
    return set((found or {}).get("tags") or ())


def platforms(repo: str, tag: str) -> set[str]:
    index = registry_get(f"{repo}/manifests/{tag}")
    return {
        f"{m['platform']['os']}/{m['platform']['architecture']}"
        for m in index["manifests"]
        if m.get("platform", {}).get("os") != "unknown"
    }


def utility_image(engine: Engine) -> str:
    """buildkit-cache-dance's helper image (it needs a default command; the engine's busybox
    base has none), in the local registry: this machine reaches no other."""
    ref = f"{engine.registry}/act/utility:1"
    dockerfile = f'FROM {engine.base_image}\nCMD ["sh"]\n'
    argv = ["docker", "buildx", "build", "-q", "--platform", ",".join(engine.platforms)]
    done = subprocess.run(
        [*argv, "-t", ref, "--push", "-"],
        input=dockerfile,
        text=True,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    return ref


def make_project(root: Path, names: tuple[str, ...], utility: str) -> dict[str, str]:
    """A repository with one image per name (each its own Dockerfile, lockfile and cache
    mount), its `mab init-ci` workflow written; returns name -> registry repository."""
    root.mkdir()
    run_id = uuid.uuid4().hex[:8]
    repos, entries = {}, []
    for name in names:
        folder = root / name
        (folder / "src").mkdir(parents=True)
        (folder / "Dockerfile").write_text(DOCKERFILE)
        (folder / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0"}))
        (folder / "package-lock.json").write_text(json.dumps({"name": name, "v": 1}))
        (folder / "src" / "main.sh").write_text(f"echo {name}\n")
        repos[name] = f"act/{name}-{run_id}"
        entries.append(
            f"  - {{name: {name}, image: 127.0.0.1:5001/{repos[name]}, "
            f"dockerfile: {name}/Dockerfile, context: {name}}}"
        )
    # No SBOM: BuildKit's scanner image is on Docker Hub, out of reach here. No signing: it
    # needs GitHub's OIDC issuer (tests/generators/test_github_release.py checks those jobs).
    (root / ".mab.yml").write_text(
        "sign: false\nsbom: false\n"
        "github:\n  buildx:\n    driver: docker\n"
        f"    utility-image: {utility}\n"
        "images:\n" + "\n".join(entries) + "\n"
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", "https://github.com/acme/shop.git")
    image = f"127.0.0.1:5001/{repos[names[0]]}"
    done = subprocess.run(
        [sys.executable, "-m", "mab", "init-ci", "--github", "--image", image, "."],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    one_job_at_a_time(root / ".github" / "workflows" / "mab.yml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the project and its workflow")
    return repos


def one_job_at_a_time(workflow: Path) -> None:
    """GitHub gives every job a runner of its own; here one machine runs them all, and
    buildkit-cache-dance's fixed container name (`cache-container`) would collide between
    jobs running at once. `max-parallel: 1` runs the build jobs one after the other; nothing
    else of the generated workflow changes."""
    doc = load_roundtrip(workflow.read_text(), str(workflow))
    doc["jobs"]["build"]["strategy"]["max-parallel"] = 1
    # The verify job pip-installs this mab's release from PyPI; `mab verify` itself runs
    # against the engine's images in tests/registry/test_verify_engine.py.
    del doc["jobs"]["verify"]
    workflow.write_text(dump_roundtrip(doc))


def verify(image: str, tmp_path: Path) -> None:
    """`mab verify` agrees: both platforms there, each one's binaries its own, provenance
    bound to each (no SBOM or signature: the project turns them off)."""
    config = tmp_path / "docker-config"
    config.mkdir(exist_ok=True)
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {"127.0.0.1:5001": {"auth": auth}}}))
    argv = [sys.executable, "-m", "mab", "verify", image, "--platform", "linux/amd64,linux/arm64"]
    done = subprocess.run(
        [*argv, "--no-sbom", "--no-sign"],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_CONFIG": str(config)},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def act_for(project: Path, tmp_path: Path) -> Act:
    return Act(
        project,
        tmp_path / "act",
        {"REGISTRY_USERNAME": USER, "REGISTRY_PASSWORD": PASSWORD},
    )


def printed(run: ActRun, platform: str, text: str) -> list[str]:
    """What that platform's builds printed (`#10 0.53 npm cache: warm`), not the echo in the
    instruction's own line."""
    pattern = re.compile(r"\| #\d+ \d+\.\d+ " + re.escape(text) + "$")
    return [line for line in run.lines(platform, text) if pattern.search(line)]


def cached(run: ActRun, platform: str) -> set[str]:
    """The instructions buildx reported CACHED in that platform's build jobs."""
    named: dict[str, str] = {}
    out = set()
    for line in run.lines(platform, "#"):
        text = line.split("|", 1)[-1].strip()
        number, _, rest = text.partition(" ")
        if rest.startswith("[") and "] " in rest:
            named[number] = rest.split("] ", 1)[1].strip()
        elif rest == "CACHED" and number in named:
            out.add(named[number])
    return out


def prune() -> None:
    subprocess.run(["docker", "builder", "prune", "-af"], capture_output=True, check=True)


def test_two_images_push_then_a_fresh_runner_hits_both_caches_then_a_pull_request(
    engine: Engine, tmp_path: Path
) -> None:
    project = tmp_path / "shop"
    repos = make_project(project, ("web", "worker"), utility_image(engine))
    act = act_for(project, tmp_path)

    first = act.run("push")
    assert first.returncode == 0, first.log[-6000:]
    for name, repo in repos.items():
        assert platforms(repo, "main") == {"linux/amd64", "linux/arm64"}, name
        assert {"buildcache-linux-amd64", "buildcache-linux-arm64"} <= tags(repo)
    for platform in ("linux/amd64", "linux/arm64"):
        assert first.lines(platform, "Cache saved with key: "), platform
    for repo in repos.values():  # the workflow's verify job installs mab from PyPI: this one
        verify(f"127.0.0.1:5001/{repo}:main", tmp_path)

    # A fresh runner: nothing in the builder (cache mounts included); a new lockfile.
    prune()
    for name in repos:
        (project / name / "package-lock.json").write_text(json.dumps({"name": name, "v": 2}))
    git(project, "commit", "-q", "-am", "a new lockfile")
    second = act.run("push")
    assert second.returncode == 0, second.log[-6000:]
    for platform in ("linux/amd64", "linux/arm64"):
        # the downloads came back from actions/cache, by the key's prefix (the lockfile moved)
        assert len(second.lines(platform, "Cache restored from key: ")) == len(repos), platform
        # ... and reached the build's cache mount through buildkit-cache-dance
        assert len(printed(second, platform, "npm cache: warm")) == len(repos), platform
        # the steps before the lockfile came from the registry cache
        assert cached(second, platform) >= {"WORKDIR /app"}, platform

    before = {repo: tags(repo) for repo in repos.values()}
    (project / "web" / "src" / "main.sh").write_text("echo changed on a branch\n")
    git(project, "checkout", "-q", "-b", "feature")
    git(project, "commit", "-q", "-am", "a change on a branch")
    payload = {
        "pull_request": {
            "number": 7,
            "head": {"ref": "feature", "repo": {"full_name": "acme/shop"}},
            "base": {"ref": "main", "repo": {"full_name": "acme/shop"}},
        },
        "repository": {"full_name": "acme/shop", "default_branch": "main"},
    }
    pull = act.run("pull_request", payload)
    assert pull.returncode == 0, pull.log[-6000:]
    assert pull.lines("Build", "Build and push by digest")  # it built
    assert not pull.lines("Publish", "Create the multi-platform image")  # the merge never ran
    assert {repo: tags(repo) for repo in repos.values()} == before  # nothing pushed, no cache


def test_one_image_a_release_tag_publishes_the_version(engine: Engine, tmp_path: Path) -> None:
    project = tmp_path / "tool"
    repos = make_project(project, ("tool",), utility_image(engine))
    git(project, "tag", "v1.2.3")
    act = act_for(project, tmp_path)
    release = act.run("push", {"ref": "refs/tags/v1.2.3", "repository": {"default_branch": "main"}})
    assert release.returncode == 0, release.log[-6000:]
    repo = repos["tool"]
    assert {"1.2.3", "1.2"} <= tags(repo)
    assert platforms(repo, "1.2.3") == {"linux/amd64", "linux/arm64"}
    assert not {t for t in tags(repo) if t.startswith("buildcache-")}  # tags write no cache


def test_a_broken_workflow_fails_the_run(engine: Engine, tmp_path: Path) -> None:
    """A test-only mutation of the generated workflow: the digest hand-over uploads nothing
    (the artifact's name no longer matches the merge's pattern). The run must fail."""
    project = tmp_path / "tool"
    make_project(project, ("tool",), utility_image(engine))
    workflow = project / ".github" / "workflows" / "mab.yml"
    text = workflow.read_text()
    assert "name: digests@" in text
    workflow.write_text(text.replace("name: digests@", "name: lost@"))
    git(project, "commit", "-q", "-am", "a broken hand-over")
    broken = act_for(project, tmp_path).run("push")
    assert broken.returncode != 0
    assert broken.lines("Publish", "0 of 2 platforms built")
