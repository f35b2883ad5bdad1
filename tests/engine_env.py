"""Is the real build engine from `scripts/engine-up.sh` usable? For engine-backed tests.

`engine_available()` answers with a reason either way, so a skipped test says exactly what
is missing. The checks are cheap (a few `docker` calls and HTTP requests to the local
registries) and the answer is cached for the test session.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

REGISTRY = "localhost:5000"
"""Plain local registry (no auth, deletes enabled)."""
AUTH_REGISTRY = "localhost:5001"
"""Local registry with htpasswd basic auth."""
AUTH_USER = "mab"
AUTH_PASSWORD = "mab-secret"  # test-only credential of the throwaway local registry
BASE_IMAGE = f"{REGISTRY}/base/busybox:1"
"""Two-platform (linux/amd64, linux/arm64) busybox image every test Dockerfile builds on."""
PLATFORMS = ("linux/amd64", "linux/arm64")
PROJECT_DIR = Path(__file__).resolve().parent / "e2e" / "project"
"""The reference multi-stage project (lockfile-keyed deps stage, src stage, final stage)."""

_INDEX_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


def _run(argv: list[str], timeout: float = 30) -> tuple[int, str]:
    """Run a command; returns (exit code, stdout or the first line of stderr)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout:g}s"
    except OSError as exc:
        return 127, str(exc)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or [""]
        return done.returncode, lines[0]
    return 0, done.stdout


def http_status(url: str, headers: dict[str, str] | None = None, timeout: float = 5) -> int:
    """HTTP status of a GET, or 0 when nothing answers."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def _problem() -> str | None:
    if shutil.which("docker") is None:
        return "no `docker` client on PATH"
    code, out = _run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if code != 0:
        return f"`docker info` failed: {out}"
    code, out = _run(["docker", "buildx", "version"])
    if code != 0:
        return f"buildx is missing: {out}"
    code, out = _run(["docker", "buildx", "ls"])
    if code != 0:
        return f"`docker buildx ls` failed: {out}"
    if "linux/arm64" not in out:
        return "the builder does not list linux/arm64 (QEMU binfmt not registered?)"
    status = http_status(f"http://{REGISTRY}/v2/")
    if status != 200:
        return f"registry {REGISTRY} does not answer /v2/ (HTTP {status or 'no answer'})"
    status = http_status(
        f"http://{REGISTRY}/v2/base/busybox/manifests/1", headers={"Accept": _INDEX_TYPES}
    )
    if status != 200:
        return f"base image {BASE_IMAGE} is not in the registry (HTTP {status or 'no answer'})"
    return None


@functools.cache
def engine_available() -> tuple[bool, str]:
    """(True, summary) when engine-backed tests can run, else (False, why not)."""
    problem = _problem()
    if problem is not None:
        return False, f"{problem}; start the engine with `sudo scripts/engine-up.sh`"
    _, version = _run(["docker", "version", "--format", "{{.Server.Version}}"])
    return True, f"docker {version.strip()}, registry {REGISTRY}, base image {BASE_IMAGE}"


def auth_registry_available() -> tuple[bool, str]:
    """(True, ...) when the basic-auth registry on 5001 answers and wants credentials."""
    status = http_status(f"http://{AUTH_REGISTRY}/v2/")
    if status != 401:
        return False, f"auth registry {AUTH_REGISTRY} /v2/ gave HTTP {status or 'no answer'}"
    return True, f"auth registry {AUTH_REGISTRY} (user {AUTH_USER})"


if __name__ == "__main__":  # `python tests/engine_env.py`: a quick check from the shell
    ok, reason = engine_available()
    print(("engine available: " if ok else "engine NOT available: ") + reason)
    raise SystemExit(0 if ok else 1)


# Debian's docker-registry (distribution 2.8, filesystem storage) writes a tag's link file by
# truncating it first; a HEAD that lands in that moment reads an empty digest and answers
# "500 Internal Server Error" (its log: "invalid checksum digest format"). A push through the
# docker driver HEADs the tag from buildkit and the daemon at once, so about one push in a few
# hundred meets it. The push is idempotent: try again.
_REGISTRY_RACE = "500 Internal Server Error"
PUSH_ATTEMPTS = 3


def push_image(ref: str, dockerfile: str, platforms: tuple[str, ...] = PLATFORMS) -> None:
    """Build `dockerfile` (no context) for `platforms` and push it as `ref`; raises
    RuntimeError with buildx's stderr when it cannot."""
    argv = ["docker", "buildx", "build", "--progress=quiet", "--push", "--tag", ref]
    argv += ["--platform", ",".join(platforms), "-"]
    stderr = ""
    for _ in range(PUSH_ATTEMPTS):
        done = subprocess.run(
            argv, input=dockerfile, capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode == 0:
            return
        stderr = done.stderr
        if _REGISTRY_RACE not in stderr:
            break
    raise RuntimeError(f"cannot push {ref}:\n{stderr}")


def own_project(folder: Path, last_run: str) -> Path:
    """A two-file project in `folder` whose every step is this call's own (a token no other
    build on the shared engine has): a RUN writing the token, a COPY, then `last_run`."""
    folder.mkdir(parents=True)
    token = uuid.uuid4().hex
    (folder / "Dockerfile").write_text(
        f'FROM {BASE_IMAGE}\nRUN echo "{token}" > /token\nCOPY app.txt /app.txt\nRUN {last_run}\n'
    )
    (folder / "app.txt").write_text("hello\n")
    return folder


def buildx_running(mark: str) -> bool:
    """Is a `docker buildx build` whose command line holds `mark` still running?"""
    done = subprocess.run(["pgrep", "-f", f"buildx build.*{mark}"], capture_output=True)
    return done.returncode == 0


def wait_for_buildx(proc: subprocess.Popen[str], mark: str, timeout: float = 120) -> None:
    """Until mab (`proc`) has started the build marked `mark`; fails if mab ended first."""
    deadline = time.monotonic() + timeout
    while not buildx_running(mark):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.2)
