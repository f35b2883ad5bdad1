"""Cache health on the real engine: a refused export is named in JSON, plain output and the
`--ci` summary while the build stays green; a normal export is read back and verified on both
platforms; a cache ref overwritten with another platform's cache is reported as such by
`mab cache inspect` (against the record of the build that wrote it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests import engine_env

pytestmark = pytest.mark.engine
AMD, ARM = "linux/amd64", "linux/arm64"
EXPORT = "mode=max,oci-mediatypes=true,image-manifest=true,ignore-error=true"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def project(tmp_path: Path, engine_ready: None) -> Path:
    return engine_env.own_project(
        tmp_path / "project", "cat /token /app.txt > /both && ls /bin | wc -l > /tools"
    )


def mab(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "MAB_HISTORY": str(cwd.parent / "history.sqlite3"), **(env or {})},
    )


def test_a_refused_export_is_named_and_the_build_stays_green(project: Path, tmp_path: Path) -> None:
    ref = f"{engine_env.AUTH_REGISTRY}/health/{uuid.uuid4().hex[:8]}:buildcache-linux-amd64"
    cache_to = f"type=registry,ref={ref},{EXPORT}"
    common = ("build", ".", "--platform", AMD, "--cache-to", cache_to)
    done = mab(*common, "--json", cwd=project)
    assert done.returncode == 0, done.stderr[-2000:]
    export = json.loads(done.stdout)["cache_export"][AMD]
    assert export["status"] == "failed" and export["ref"] == ref
    assert "401" in export["error"]
    assert f"mab: warning: {AMD}: the cache export to {ref} failed" in done.stderr

    plain = mab(*common, "--no-tui", cwd=project)
    assert plain.returncode == 0
    assert f"! {AMD}: the cache export to {ref} failed" in plain.stdout

    summary = tmp_path / "summary.md"
    ci_env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "RUNNER_TEMP": str(tmp_path),
    }
    ci = mab(*common, "--ci", cwd=project, env=ci_env)
    assert ci.returncode == 0, ci.stdout[-2000:] + ci.stderr[-2000:]
    assert f"::warning::{AMD}: the cache export to {ref} failed" in ci.stdout
    assert "⚠️ linux/amd64: the cache export" in summary.read_text()


def test_a_normal_export_is_verified_on_both_platforms(project: Path) -> None:
    image = f"{engine_env.REGISTRY}/health/{uuid.uuid4().hex[:8]}"
    for platform in (AMD, ARM):
        ref = f"{image}:buildcache-{platform.replace('/', '-')}"
        done = mab(
            "build", ".", "--json", "--platform", platform,
            "--cache-to", f"type=registry,ref={ref},{EXPORT}", cwd=project,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        data = json.loads(done.stdout)
        export = data["cache_export"][platform]
        assert export["status"] == "verified", export
        assert export["records"] >= data["platforms"][platform]["steps"] > 0


def _manifest(ref: str) -> tuple[bytes, str]:
    name, _, tag = ref.rpartition(":")
    host, _, repo = name.partition("/")
    request = urllib.request.Request(
        f"http://{host}/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.read(), reply.headers["Content-Type"]


def _put_manifest(ref: str, body: bytes, media_type: str) -> None:
    name, _, tag = ref.rpartition(":")
    host, _, repo = name.partition("/")
    request = urllib.request.Request(
        f"http://{host}/v2/{repo}/manifests/{tag}",
        data=body,
        method="PUT",
        headers={"Content-Type": media_type},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 201


def test_a_ref_overwritten_with_another_platforms_cache_is_wrong_platform(
    project: Path,
) -> None:
    image = f"{engine_env.REGISTRY}/health/{uuid.uuid4().hex[:8]}"
    refs = {p: f"{image}:buildcache-{p.replace('/', '-')}" for p in (AMD, ARM)}
    for platform, ref in refs.items():
        done = mab(
            "build",
            ".",
            "--json",
            "--platform",
            platform,
            "-t",
            f"{image}:x",
            "--cache-to",
            f"type=registry,ref={ref},{EXPORT}",
            "--push-record",
            cwd=project,
        )  # fmt: skip  (the record beside the cache says what it should hold; a local build
        # pushes one only when asked)
        assert done.returncode == 0, done.stderr[-2000:]
    before = mab("cache", "inspect", refs[AMD], "--json", cwd=project)
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["coverage"]["status"] == "verified"

    body, media_type = _manifest(refs[ARM])  # same repository: its blobs are all there
    _put_manifest(refs[AMD], body, media_type)
    after = mab("cache", "inspect", refs[AMD], "--json", cwd=project)
    assert after.returncode == 0, after.stderr
    judged = json.loads(after.stdout)["coverage"]
    assert judged["status"] == "wrong-platform", judged
    assert "linux/arm64's base image layers" in judged["detail"]
    text = mab("cache", "inspect", refs[AMD], cwd=project)
    assert "coverage: wrong-platform" in text.stdout
