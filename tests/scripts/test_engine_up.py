"""`scripts/engine-up.sh` brings the engine up from a private prefix and leaves the system alone.

The engine-backed checks (marker `engine`) look at the running engine: dockerd, its containerd
and the runc they use come from the prefix (`/opt/mab-engine`, or `$MAB_ENGINE_PREFIX`),
bookworm's libc6 and `/usr/bin/python3` are still installed, and a second run of the script
only verifies. The script checks (shellcheck, no trixie apt source) need no engine.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE_UP = ROOT / "scripts" / "engine-up.sh"
ENGINE_DOWN = ROOT / "scripts" / "engine-down.sh"
PREFIX = Path(os.environ.get("MAB_ENGINE_PREFIX", "/opt/mab-engine"))
DOCKERD_PIDFILE = Path("/var/run/docker.pid")
PLUGIN_LINK = Path("/usr/local/lib/docker/cli-plugins/docker-buildx")


def _output(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _dockerd_pid() -> int | None:
    try:
        pid = int(DOCKERD_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None
    comm = Path(f"/proc/{pid}/comm")
    if not comm.exists() or comm.read_text().strip() != "dockerd" or not _alive(pid):
        return None
    return pid


def _exe(pid: int) -> Path:
    return Path(f"/proc/{pid}/exe").readlink()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _elf_interpreter(path: Path) -> str | None:
    """The PT_INTERP of a 64-bit little-endian ELF file, or None for a static one."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, f"{path}: not ELF64 LE"
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize
        )
        if p_type == 3:  # PT_INTERP
            return data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode()
    return None


@pytest.fixture
def engine_from_prefix() -> int:
    """dockerd's pid; skips unless root and engine-up.sh's dockerd from the prefix runs."""
    if os.geteuid() != 0:
        pytest.skip("needs root (the engine's processes and pid file belong to root)")
    if not (PREFIX / "bin" / "dockerd").exists():
        pytest.skip(f"no engine prefix at {PREFIX}: run scripts/engine-up.sh")
    pid = _dockerd_pid()
    if pid is None:
        pytest.skip(f"dockerd is not running (no live pid in {DOCKERD_PIDFILE})")
    return pid


@pytest.mark.engine
def test_dockerd_and_containerd_run_from_the_prefix(engine_from_prefix: int) -> None:
    dockerd = _exe(engine_from_prefix)
    assert dockerd.is_relative_to(PREFIX), f"dockerd runs from {dockerd}, not from {PREFIX}"
    containerds = [
        c for c in _children(engine_from_prefix) if _exe(c).name == "containerd" and _alive(c)
    ]
    assert containerds, "dockerd has no containerd child"
    for pid in containerds:
        assert _exe(pid).is_relative_to(PREFIX), f"containerd runs from {_exe(pid)}"


@pytest.mark.engine
def test_dockerd_finds_its_helpers_in_the_prefix(engine_from_prefix: int) -> None:
    environ = Path(f"/proc/{engine_from_prefix}/environ").read_bytes().split(b"\0")
    path = next(e[5:].decode() for e in environ if e.startswith(b"PATH="))
    for helper in ("containerd", "containerd-shim-runc-v2", "runc", "docker-init", "docker-proxy"):
        found = shutil.which(helper, path=path)
        assert found is not None, f"dockerd's PATH ({path}) has no {helper}"
        assert Path(found).resolve().is_relative_to(PREFIX), f"dockerd's {helper} is {found}"


@pytest.mark.engine
def test_server_is_docker_26_or_newer_with_the_prefix_runc(engine_from_prefix: int) -> None:
    server = _output("docker", "version", "--format", "{{.Server.Version}}").strip()
    assert int(server.split(".")[0]) >= 26, server
    runc_version = _output(str(PREFIX / "bin" / "runc"), "--version")
    commit = re.search(r"commit: (\S+)", runc_version)
    assert commit, runc_version
    assert commit.group(1) in _output("docker", "version"), "the engine's runc is another one"


@pytest.mark.engine
def test_binaries_needing_new_glibc_load_the_prefix_loader(engine_from_prefix: int) -> None:
    runc = (PREFIX / "bin" / "runc").resolve()
    interpreter = _elf_interpreter(runc)
    assert interpreter is not None
    assert Path(interpreter).is_relative_to(PREFIX / "glibc"), interpreter
    # docker-init is the static tini: nothing to load at all.
    assert _elf_interpreter((PREFIX / "bin" / "docker-init").resolve()) is None


@pytest.mark.engine
def test_buildx_plugin_is_the_prefix_one(engine_from_prefix: int) -> None:
    assert PLUGIN_LINK.resolve().is_relative_to(PREFIX), PLUGIN_LINK.resolve()
    assert "linux/arm64" in _output("docker", "buildx", "ls")


@pytest.mark.engine
def test_cosign_runs_from_the_prefix_and_is_not_installed(engine_from_prefix: int) -> None:
    cosign = PREFIX / "bin" / "cosign"
    assert cosign.resolve().is_relative_to(PREFIX / "tools"), cosign.resolve()
    assert "GitVersion" in _output(str(cosign), "version")
    listed = subprocess.run(["dpkg-query", "-W", "cosign"], capture_output=True, check=False)
    assert listed.returncode != 0, "cosign was installed with dpkg; it must only be unpacked"


@pytest.mark.engine
def test_system_python3_and_libc_are_bookworm_ones(engine_from_prefix: int) -> None:
    assert _output("/usr/bin/python3", "--version").startswith("Python 3.11."), (
        "/usr/bin/python3 is no longer bookworm's 3.11"
    )
    libc6 = _output("dpkg-query", "-W", "-f=${Version}", "libc6").strip()
    assert re.fullmatch(r"2\.36-9(\+deb12u\d+)?", libc6), f"libc6 {libc6} is not bookworm's"
    assert _output("ldd", "--version").splitlines()[0].endswith(" 2.36")
    assert not list(Path("/etc/apt").rglob("*mab-engine*")), "engine-up wrote apt config"


@pytest.mark.engine
def test_second_run_only_verifies(engine_from_prefix: int) -> None:
    started = time.monotonic()
    out = _output("bash", str(ENGINE_UP))
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"a second engine-up.sh run took {elapsed:.0f}s"
    already = ("engine prefix", "tools in", "dockerd: already running", "already in the registry")
    for line in already:
        assert line in out, f"{line!r} missing from:\n{out}"
    assert "apt-get install" not in out
    assert _dockerd_pid() == engine_from_prefix, "the second run restarted dockerd"


def test_engine_up_uses_no_trixie_apt_source() -> None:
    text = ENGINE_UP.read_text()
    assert "-t trixie" not in text
    assert "/etc/apt/preferences.d" not in text
    assert not re.search(r">\s*\"?/etc/apt", text), "engine-up.sh writes under /etc/apt"


@pytest.mark.parametrize("script", [ENGINE_UP, ENGINE_DOWN], ids=lambda p: p.name)
def test_shellcheck_clean(script: Path) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck; .ci/run installs it)")
    _output("shellcheck", str(script))
