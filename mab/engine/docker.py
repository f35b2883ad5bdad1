"""The one module that starts `docker`: environment checks and the streamed build.

- `run_checks` / `preflight`: is docker on PATH, is buildx new enough, is the daemon up, can the
  builder build the requested platforms into the requested output? Each check is also data
  (`CheckResult`, from `mab.engine.checks`, re-exported here) so `mab doctor` can list them;
  `preflight` raises `EnvironmentNotReady` with the fix named for the first failure.
- `BuildRunner` / `run_build`: run `docker buildx build --progress=rawjson ...` in its own
  process group, hand every raw chunk of its stderr (the progress stream) to a callback, and
  cancel it cleanly (SIGINT, then SIGTERM, then SIGKILL to the whole group; no orphans).

python-on-whales is used for the quick queries; the build itself is run here, because its log
streaming keeps the whole stream in memory and gives no handle to cancel the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

from mab.engine.checks import (
    CONTAINERD_SNAPSHOTTER,
    ENABLE_CONTAINERD,
    INSTALL_BUILDX,
    INSTALL_DOCKER,
    MIN_BUILDX,
    BuilderInfo,
    CheckResult,
    CheckStatus,
    Preflight,
    check_image_store,
    check_platforms,
    daemon_fix,
    emulator_fix,
    exports_need_image_store,
    first_line,
    normalize_builder_platform,
    parse_buildx_version,
    parse_inspect_text,
    platform_text,
    skipped,
    uses_containerd_store,
)
from mab.errors import EnvironmentNotReady

__all__ = [
    "CHUNK_SIZE",
    "CONTAINERD_SNAPSHOTTER",
    "ENABLE_CONTAINERD",
    "INSTALL_BUILDX",
    "INSTALL_DOCKER",
    "MIN_BUILDX",
    "BuildResult",
    "BuildRunner",
    "BuilderInfo",
    "CheckResult",
    "CheckStatus",
    "DaemonFacts",
    "Preflight",
    "StdoutMode",
    "check_image_store",
    "check_platforms",
    "daemon_facts",
    "emulator_fix",
    "exports_need_image_store",
    "normalize_builder_platform",
    "parse_buildx_version",
    "parse_inspect_text",
    "preflight",
    "run_build",
    "run_checks",
    "uses_containerd_store",
]

CHUNK_SIZE = 65536


# --------------------------------------------------------------------------- the checks


def _check_buildx(docker: Any) -> tuple[CheckResult, tuple[int, int, int] | None]:
    from python_on_whales.exceptions import DockerException

    try:
        text = docker.buildx.version()
    except DockerException as exc:
        detail = first_line(exc.stderr) or "`docker buildx version` failed"
        summary = f"buildx is not installed ({detail})"
        return CheckResult("buildx", "fail", summary, INSTALL_BUILDX), None
    version = parse_buildx_version(str(text))
    if version is None:
        summary = f"cannot read the buildx version from {first_line(str(text))!r}"
        return CheckResult("buildx", "fail", summary, INSTALL_BUILDX), None
    shown = ".".join(map(str, version))
    if version[:2] < MIN_BUILDX:
        summary = f"buildx {shown} is too old: mab needs 0.12 or newer (for --progress=rawjson)"
        return CheckResult("buildx", "fail", summary, INSTALL_BUILDX), version
    return CheckResult("buildx", "ok", f"buildx {shown}"), version


def _check_daemon(docker: Any) -> tuple[CheckResult, bool | None]:
    from python_on_whales.exceptions import DockerException

    try:
        info = docker.system.info()
    except DockerException as exc:
        stderr = exc.stderr or ""
        detail = first_line(stderr) or "`docker info` failed"
        summary = f"the Docker daemon is not reachable: {detail}"
        return CheckResult("daemon", "fail", summary, daemon_fix(stderr)), None
    containerd = uses_containerd_store(info.driver_status)
    store = "containerd image store" if containerd else f"classic image store ({info.driver})"
    return CheckResult("daemon", "ok", f"Docker {info.server_version}, {store}"), containerd


def _inspect_builder(docker: Any, name: str | None) -> BuilderInfo:
    """python-on-whales for the lookup; the text of `buildx inspect` when the JSON of
    `buildx ls` (which the library reads, and which buildx < 0.13 lacks) does not fit."""
    from python_on_whales.exceptions import DockerException

    try:
        builder = docker.buildx.inspect(name, bootstrap=True)
        platforms = [
            normalize_builder_platform(platform_text(p))
            for node in builder.nodes or ()
            for p in node.platforms or ()
        ]
        return BuilderInfo(str(builder.name), str(builder.driver), tuple(dict.fromkeys(platforms)))
    except DockerException as exc:
        if "ls" not in exc.docker_command:  # `buildx inspect` itself failed: no such builder
            raise
    except (ValueError, TypeError, AttributeError):
        pass
    cmd = [str(x) for x in docker.client_config.docker_cmd]
    argv = [*cmd, "buildx", "inspect", *([name] if name else [])]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return parse_inspect_text(done.stdout)


def _check_builder(docker: Any, name: str | None) -> tuple[CheckResult, BuilderInfo | None]:
    from python_on_whales.exceptions import DockerException

    shown = f"builder {name!r}" if name else "the current builder"
    try:
        info = _inspect_builder(docker, name)
    except DockerException as exc:
        detail = first_line(exc.stderr) or "`docker buildx inspect` failed"
        fix = (
            "list builders with `docker buildx ls`; create one with "
            f"`docker buildx create --name {name or 'mab'} --driver docker-container --use`"
        )
        return CheckResult("builder", "fail", f"{shown} is not usable: {detail}", fix), None
    except (ValueError, IndexError) as exc:
        return CheckResult("builder", "fail", f"cannot inspect {shown}: {exc}", None), None
    if not info.name or not info.driver:
        return CheckResult("builder", "fail", f"cannot read what {shown} is", None), None
    listed = ", ".join(info.platforms) or "none listed"
    summary = f"builder {info.name!r} (driver {info.driver}): {listed}"
    return CheckResult("builder", "ok", summary), info


def run_checks(
    platforms: Sequence[str],
    wants_multi_platform_output: bool = False,
    cache_exports: Sequence[str] = (),
    builder: str | None = None,
) -> Preflight:
    """Run every check (never raises); later checks are skipped when an earlier one they need
    failed. One `docker buildx version`, one `docker info`, one builder inspection."""
    path = shutil.which("docker")
    if path is None:
        missing = CheckResult("docker", "fail", "`docker` is not on PATH", INSTALL_DOCKER)
        rest = ("buildx", "daemon", "builder", "image-store", "platforms")
        return Preflight((missing, *(skipped(n, "no docker") for n in rest)))
    from python_on_whales import DockerClient

    docker = DockerClient(client_call=[path])
    checks = [CheckResult("docker", "ok", path)]
    buildx, version = _check_buildx(docker)
    daemon, containerd = _check_daemon(docker)
    checks += [buildx, daemon]
    info: BuilderInfo | None = None
    if not buildx.ok or not daemon.ok:
        reason = "buildx missing" if not buildx.ok else "daemon down"
        checks += [skipped(n, reason) for n in ("builder", "image-store", "platforms")]
    else:
        builder_check, info = _check_builder(docker, builder)
        checks.append(builder_check)
        if info is None:
            checks += [skipped(n, "no builder") for n in ("image-store", "platforms")]
        else:
            store = check_image_store(info, containerd, wants_multi_platform_output, cache_exports)
            checks += [store, check_platforms(info, platforms)]
    return Preflight(tuple(checks), path, version, info, containerd)


@dataclass(frozen=True)
class DaemonFacts:
    """What `mab doctor` needs beyond the checks: where the daemon keeps its data (and the
    builder's cache) and the machine it runs on."""

    root_dir: str  # DockerRootDir, e.g. /var/lib/docker
    architecture: str  # as `uname -m` says it on the daemon's machine, e.g. x86_64


def daemon_facts() -> DaemonFacts | None:
    """One `docker info`; None when docker or the daemon cannot answer."""
    path = shutil.which("docker")
    if path is None:
        return None
    from python_on_whales import DockerClient
    from python_on_whales.exceptions import DockerException

    try:
        info = DockerClient(client_call=[path]).system.info()
    except DockerException:
        return None
    return DaemonFacts(str(info.docker_root_dir or ""), str(info.architecture or ""))


def preflight(
    platforms: Sequence[str],
    wants_multi_platform_output: bool,
    cache_exports: Sequence[str],
    builder: str | None,
) -> Preflight:
    """`run_checks`, raising `EnvironmentNotReady` (exit 3) naming the fix on any failure."""
    result = run_checks(platforms, wants_multi_platform_output, cache_exports, builder)
    result.raise_if_failed()
    return result


# --------------------------------------------------------------------------- the build


StdoutMode = Literal["inherit", "capture", "stderr"]


@dataclass(frozen=True)
class BuildResult:
    exit_code: int  # buildx's exit code (128+N when a signal N ended it)
    canceled: bool
    duration: float  # seconds
    stdout: bytes = b""  # buildx's stdout when captured
    record_error: str | None = None  # why the recording stopped early (the build went on)

    @property
    def mab_exit_code(self) -> int:
        """What `mab build` exits with: 130 after a cancel, buildx's code otherwise."""
        return 130 if self.canceled else self.exit_code


@dataclass
class _Escalation:
    level: int = 0  # 0 none, 1 SIGINT sent, 2 SIGTERM sent, 3 SIGKILL sent
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


class BuildRunner:
    """Runs one `docker buildx build` and lets a UI cancel it.

    `on_chunk` receives every raw chunk of stderr (the rawjson stream, up to 64 KiB each, split
    anywhere); `record`, when given, receives the same bytes. buildx's stdout is inherited,
    captured into the result, or sent to mab's stderr (`stdout`); its stdin is closed unless
    `stdin` (for `docker buildx build -`). `cancel()` may be called from any
    thread, any number of times: the first call sends SIGINT to the build's process group, later
    calls (or the grace periods running out) escalate to SIGTERM and then SIGKILL.
    """

    def __init__(
        self,
        argv: Sequence[str],
        on_chunk: Callable[[bytes], None],
        record: BinaryIO | None = None,
        *,
        stdout: StdoutMode = "inherit",
        stdin: bool = False,
        grace: tuple[float, float] = (10.0, 5.0),
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self._on_chunk = on_chunk
        self._record = record
        self._stdout_mode = stdout
        self._stdin = stdin
        self._grace = grace
        self._cwd = cwd
        self._env = env
        self._proc: asyncio.subprocess.Process | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._esc = _Escalation()
        self._cancel_requested = False
        self._started = False
        self._record_error: str | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def canceled(self) -> bool:
        return self._cancel_requested

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    # -- cancellation

    def cancel(self) -> None:
        """Ask the build to stop; safe from signal handlers, the UI and other threads."""
        self._cancel_requested = True
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not started yet: `run` will not start it
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._escalate()
        else:
            loop.call_soon_threadsafe(self._escalate)

    def _escalate(self) -> None:
        if self._proc is None or self._proc.returncode is not None or self._esc.level >= 3:
            return
        if self._esc.timer is not None:
            self._esc.timer.cancel()
        sig = _SIGNALS[self._esc.level]
        self._esc.level += 1
        self._signal_group(sig)
        if self._esc.level < 3 and self._loop is not None:
            delay = self._grace[self._esc.level - 1]
            self._esc.timer = self._loop.call_later(delay, self._escalate)

    def _signal_group(self, sig: signal.Signals) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    def _reap_group(self) -> None:
        """Leave nothing behind: SIGKILL whatever is still in the build's process group."""
        if self._esc.timer is not None:
            self._esc.timer.cancel()
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    # -- running

    def _stdout_target(self) -> int | None:
        if self._stdout_mode == "capture":
            return subprocess.PIPE
        if self._stdout_mode == "stderr":
            try:
                return sys.stderr.fileno()
            except (AttributeError, ValueError, OSError):  # a replaced sys.stderr
                return 2
        return None

    async def _start(self) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=None if self._stdin else subprocess.DEVNULL,
                stdout=self._stdout_target(),
                stderr=subprocess.PIPE,
                start_new_session=True,
                cwd=self._cwd,
                env=self._env,
            )
        except FileNotFoundError:
            raise EnvironmentNotReady(
                f"cannot run {self.argv[0]!r}: not found", hint=INSTALL_DOCKER
            ) from None
        except PermissionError as exc:
            raise EnvironmentNotReady(f"cannot run {self.argv[0]!r}: {exc}") from None

    async def _pump(self, stream: asyncio.StreamReader, sink: Callable[[bytes], None]) -> None:
        while chunk := await stream.read(CHUNK_SIZE):
            sink(chunk)

    def _deliver(self, chunk: bytes) -> None:
        if self._record is not None:
            try:
                self._record.write(chunk)
            except (OSError, ValueError) as exc:  # disk full, closed file: keep building
                self._record, self._record_error = None, str(exc) or type(exc).__name__
        self._on_chunk(chunk)

    async def run(self) -> BuildResult:
        if self._started:
            raise RuntimeError("a BuildRunner runs once")
        self._started = True
        started = time.monotonic()
        self._loop = asyncio.get_running_loop()
        if self._cancel_requested:
            return BuildResult(130, True, 0.0)
        proc = self._proc = await self._start()
        if self._cancel_requested:  # cancel() arrived while starting
            self._escalate()
        captured: list[bytes] = []
        assert proc.stderr is not None
        pumps = [asyncio.ensure_future(self._pump(proc.stderr, self._deliver))]
        if proc.stdout is not None:
            pumps.append(asyncio.ensure_future(self._pump(proc.stdout, captured.append)))
        try:
            await asyncio.gather(*pumps)
            code = await proc.wait()
        except BaseException:
            # The consumer failed or this task was cancelled: stop the build, drain, re-raise.
            await self._abort(proc, pumps)
            raise
        finally:
            self._reap_group()
            if self._record is not None:
                with contextlib.suppress(ValueError, OSError):
                    self._record.flush()
        return BuildResult(
            exit_code=code if code >= 0 else 128 - code,
            canceled=self._cancel_requested,
            duration=time.monotonic() - started,
            stdout=b"".join(captured),
            record_error=self._record_error,
        )

    async def _abort(
        self, proc: asyncio.subprocess.Process, pumps: Sequence[asyncio.Future[None]]
    ) -> None:
        self._cancel_requested = True
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        self._escalate()
        drains = [
            asyncio.ensure_future(self._pump(s, lambda _c: None))
            for s in (proc.stderr, proc.stdout)
            if s is not None
        ]
        try:
            await asyncio.shield(asyncio.wait_for(proc.wait(), sum(self._grace) + 1.0))
        except (TimeoutError, asyncio.CancelledError):
            self._signal_group(signal.SIGKILL)
        finally:
            for d in drains:
                d.cancel()


async def run_build(
    argv: list[str],
    on_chunk: Callable[[bytes], None],
    record: BinaryIO | None = None,
) -> BuildResult:
    """Run a build to its end (stdout passed through); see `BuildRunner` to cancel it."""
    return await BuildRunner(argv, on_chunk, record).run()
