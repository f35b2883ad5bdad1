"""The streamed build: `docker buildx build --progress=rawjson ...` in its own process group,
every raw chunk of its stderr (the progress stream) handed to a callback, cancelled cleanly
(SIGINT, then SIGTERM, then SIGKILL to the whole group; no orphans). Run here rather than
through python-on-whales, whose log streaming keeps the whole stream in memory and gives no
handle to cancel the process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from mab.engine.checks import (
    INSTALL_DOCKER,
)
from mab.errors import EnvironmentNotReady

CHUNK_SIZE = 65536


StdoutMode = Literal["inherit", "capture", "stderr"]


@dataclass(frozen=True)
class ProcessResult:
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

    async def run(self) -> ProcessResult:
        if self._started:
            raise RuntimeError("a BuildRunner runs once")
        self._started = True
        started = time.monotonic()
        self._loop = asyncio.get_running_loop()
        if self._cancel_requested:
            return ProcessResult(130, True, 0.0)
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
        return ProcessResult(
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
) -> ProcessResult:
    """Run a build to its end (stdout passed through); see `BuildRunner` to cancel it."""
    return await BuildRunner(argv, on_chunk, record).run()
