"""`mab doctor` on the real, provisioned engine: all checks pass; then faults, each injected
without touching the shared engine (other builds run on it concurrently):

- daemon stopped: `DOCKER_HOST` points at a socket that does not exist;
- emulator missing: ask for a platform no binfmt emulator is registered for;
- registry down: an image on 127.0.0.1:5999, where nothing listens;
- wrong registry password: a Docker config with a bad login for the basic-auth registry;
- `docker` driver without the containerd image store: injected at the data boundary (the real
  `docker info` result with its containerd flag turned off), since switching the store means
  restarting dockerd under everyone; the verdicts themselves are in tests/test_doctor.py.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mab.cli import main
from mab.engine.docker import Preflight, run_checks
from tests import engine_env as engine_check

BINFMT = Path("/proc/sys/fs/binfmt_misc")
PLATFORMS = "linux/amd64,linux/arm64"


def run_doctor(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(SystemExit) as info:
        main(["doctor", "--json", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    code = info.value.code
    data = json.loads(out)
    return (code if isinstance(code, int) else 0), {c["name"]: c for c in data["checks"]}


@pytest.fixture
def engine(
    engine_ready: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> pytest.MonkeyPatch:
    """The real engine, from a directory without .mab.yml and a Docker config of our own."""
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text('{"auths": {}}')
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, password: str) -> None:
    token = base64.b64encode(f"{engine_check.AUTH_USER}:{password}".encode()).decode()
    config = tmp_path / "docker-config" / "config.json"
    config.write_text(json.dumps({"auths": {engine_check.AUTH_REGISTRY: {"auth": token}}}))


def image() -> str:
    return f"{engine_check.REGISTRY}/mabtest/doctor-{uuid.uuid4().hex[:10]}"


@pytest.mark.engine
def test_provisioned_engine_passes_everything(
    engine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = run_doctor(["--platform", PLATFORMS, "--image", image()], capsys)
    # The docker driver's known caveats for cache exports are a warning that still passes.
    assert (
        checks["cache-export"]["status"] == "warn" and "prune" in checks["cache-export"]["summary"]
    )
    failed = {n: c for n, c in checks.items() if c["status"] != "ok" and n != "cache-export"}
    assert code == 0 and not failed, failed
    assert "linux/arm64: emulated (qemu-aarch64" in checks["platforms"]["summary"]
    assert "containerd image store" in checks["daemon"]["summary"]
    assert checks["cache-format"]["summary"].startswith("accepts OCI image indexes")


@pytest.mark.engine
def test_table_output(engine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["doctor", "--platform", "linux/amd64", "--image", image(), "--read-only"])
    out, _ = capsys.readouterr()
    assert info.value.code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["ok", "docker"]
    assert any(line.split()[:2] == ["skip", "registry-push"] for line in lines)
    assert lines[-1] == "all checks passed"


@pytest.mark.engine
def test_auth_registry_with_and_without_the_right_password(
    engine: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"{engine_check.AUTH_REGISTRY}/mabtest/doctor-{uuid.uuid4().hex[:10]}"
    login(engine, tmp_path, engine_check.AUTH_PASSWORD)
    code, checks = run_doctor(["--platform", "linux/amd64", "--image", target], capsys)
    assert code == 0, checks
    assert "(basic auth)" in checks["registry"]["summary"]
    assert "(user 'mab' from" in checks["registry-push"]["summary"]
    login(engine, tmp_path, "wrong-password")
    code, checks = run_doctor(["--platform", "linux/amd64", "--image", target], capsys)
    assert code == 1
    push = checks["registry-push"]
    assert push["status"] == "fail"
    assert "rejected the credentials (user 'mab'" in push["summary"]
    assert "docker login" in push["fix"]
    assert "wrong-password" not in json.dumps(checks)


@pytest.mark.engine
def test_daemon_stopped(engine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    engine.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    code, checks = run_doctor(["--platform", PLATFORMS, "--image", image()], capsys)
    assert code == 1
    daemon = checks["daemon"]
    assert daemon["status"] == "fail"
    assert "not reachable" in daemon["summary"]
    assert daemon["fix"] == (
        "start the daemon behind DOCKER_HOST=unix:///nonexistent.sock, or unset DOCKER_HOST"
    )
    assert checks["builder"]["status"] == checks["platforms"]["status"] == "skip"
    assert checks["registry"]["status"] == "ok"  # the registry does not need the daemon


def unregistered_platform() -> str | None:
    """A platform with no binfmt emulator here (and so none the builder can list)."""
    registered = {p.name for p in BINFMT.iterdir()} if BINFMT.is_dir() else set()
    for platform, binfmt in (
        ("linux/s390x", "qemu-s390x"),
        ("linux/ppc64le", "qemu-ppc64le"),
        ("linux/riscv64", "qemu-riscv64"),
    ):
        if binfmt not in registered:
            return platform
    return None


@pytest.mark.engine
def test_no_emulator_for_a_platform(
    engine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    platform = unregistered_platform()
    if platform is None:
        pytest.skip("every candidate platform has an emulator registered on this machine")
    code, checks = run_doctor(["--platform", f"linux/amd64,{platform}", "--read-only"], capsys)
    assert code == 1
    check = checks["platforms"]
    assert check["status"] == "fail"
    assert f"cannot build {platform}" in check["summary"]
    arch = platform.split("/")[1]
    assert f"tonistiigi/binfmt --install {arch}" in check["fix"]


@pytest.mark.engine
def test_registry_down(engine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = run_doctor(["--platform", "linux/amd64", "--image", "127.0.0.1:5999/x"], capsys)
    assert code == 1
    registry = checks["registry"]
    assert registry["status"] == "fail"
    assert registry["summary"].startswith("127.0.0.1:5999: cannot connect")
    assert "registry is running" in registry["fix"]
    assert checks["registry-push"]["status"] == "skip"
    assert checks["daemon"]["status"] == "ok"


@pytest.mark.engine
def test_docker_driver_without_containerd_store(
    engine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Injected at the data boundary: the real checks' result, as a daemon without the
    containerd snapshotter would have reported it."""

    def classic_store(*args: Any, **kwargs: Any) -> Preflight:
        return replace(run_checks(*args, **kwargs), containerd_store=False)

    engine.setattr("mab.commands.doctor.run_checks", classic_store)
    code, checks = run_doctor(["--platform", PLATFORMS, "--read-only"], capsys)
    assert code == 1
    driver = checks["driver"]
    assert driver["status"] == "fail"
    assert "docker driver without the containerd image store" in driver["summary"]
    assert "containerd-snapshotter" in driver["fix"]


def test_unknown_platform_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["doctor", "--platform", "linux/vax"])
    _, err = capsys.readouterr()
    assert info.value.code == 2
    assert "unknown platform 'linux/vax'" in err


@pytest.mark.engine
def test_unknown_builder(engine: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"mab-missing-{uuid.uuid4().hex[:6]}"
    code, checks = run_doctor(["--platform", "linux/amd64", "--builder", name], capsys)
    assert code == 1
    builder = checks["builder"]
    assert builder["status"] == "fail"
    assert f"builder {name!r} is not usable" in builder["summary"]
    assert "docker buildx ls" in builder["fix"]
    assert checks["driver"]["status"] == checks["platforms"]["status"] == "skip"
