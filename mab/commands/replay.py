"""`mab replay FILE|-`: show a recorded `--progress=rawjson` stream again.

The stream goes through the same decoder and build model as a live build. `--speed X` replays
at X times the original pace, taken from the stream's own timestamps (0: as fast as possible).
A recording holds no exit code, so the outcome is read from the stream: an `ERROR:` block or a
failed step is a failed build, steps closed as canceled (or still running when the recording
stops) a canceled one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import click

from mab.commands.build import (
    StreamSession,
    interactive,
    output_mode,
    silence_stdout,
    tui_hook,
)
from mab.engine.docker import CHUNK_SIZE
from mab.errors import EXIT_INTERRUPTED, UserError
from mab.progress.decoder import DecoderStats, Event, SolveStatus, StreamDecoder
from mab.progress.model import BuildModel, BuildStatus, Kind, StepState

# Idle stretches longer than this (in stream time) are shortened to it, so a replay of a build
# that waited minutes on a lock does not sit still for minutes.
MAX_GAP = 5.0
_CACHE_KINDS = (Kind.CACHE_IMPORT, Kind.CACHE_EXPORT)


@dataclass(frozen=True)
class ReplayRequest:
    """What `mab.tui.run_replay_app(request)` receives: the recording and the pace."""

    name: str  # the file name, or "-" for stdin
    data: bytes
    speed: float = 1.0


def event_time(event: Event) -> float | None:
    """The latest moment an event speaks of (seconds since the epoch), if it has any."""
    if not isinstance(event, SolveStatus):
        return None
    times = [t for v in event.vertexes for t in (v.started, v.completed) if t is not None]
    times += [s.timestamp for s in event.statuses if s.timestamp is not None]
    times += [log.timestamp for log in event.logs if log.timestamp is not None]
    return max(times) if times else None


class ReplayClock:
    """Maps stream time to wall time: `delay(event)` is how long to wait before showing it."""

    def __init__(self, speed: float, now: Callable[[], float] = time.monotonic) -> None:
        if speed < 0:
            raise UserError(f"--speed {speed:g} is negative", hint="use 0 (no waiting) or more")
        self.speed = speed
        self._now = now
        self._stream: float | None = None  # latest stream time seen
        self._due: float | None = None  # wall time at which that stream time is shown

    def delay(self, event: Event) -> float:
        t = event_time(event)
        if self.speed == 0 or t is None:
            return 0.0
        now = self._now()
        if self._stream is None or self._due is None:
            self._stream, self._due = t, now
            return 0.0
        if t <= self._stream:
            return max(0.0, self._due - now)
        gap = min(t - self._stream, MAX_GAP)
        self._stream = t
        self._due = max(self._due, now - 0.5) + gap / self.speed
        return max(0.0, self._due - now)


def read_recording(source: str, stdin: BinaryIO | None = None) -> tuple[str, bytes]:
    """(name, bytes) of FILE, or of stdin for `-`; a clear UserError when it cannot be read."""
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        return "<stdin>", stream.read()
    path = Path(source)
    try:
        return source, path.read_bytes()
    except FileNotFoundError:
        raise UserError(
            f"{source}: no such file",
            hint="record a build with `mab build --record FILE`, then replay FILE",
        ) from None
    except IsADirectoryError:
        raise UserError(f"{source}: is a directory, not a recorded stream") from None
    except OSError as exc:
        raise UserError(f"{source}: cannot be read: {exc.strerror or exc}") from None


def decode_recording(name: str, data: bytes) -> tuple[list[Event], DecoderStats]:
    """Every event of a recording, in order; a UserError when it holds no BuildKit progress."""
    decoder = StreamDecoder()
    events: list[Event] = []
    for start in range(0, len(data), CHUNK_SIZE):
        events += decoder.feed(data[start : start + CHUNK_SIZE])
    events += decoder.close()
    if decoder.stats.objects == 0:
        what = "it is empty" if not data.strip() else f"none in {len(data)} bytes"
        raise UserError(
            f"{name}: not a recorded build stream: no BuildKit progress objects ({what})",
            hint="replay a file written by `mab build --record FILE` or by "
            "`docker buildx build --progress=rawjson . 2> FILE`",
        )
    return events, decoder.stats


def recorded_outcome(model: BuildModel) -> tuple[int, bool]:
    """(exit code, canceled) of the recorded build, read from what the stream showed.

    buildx ends a failed build with an `ERROR:` block; a step's own error counts too when the
    recording stops before that block. Cache import/export errors do not fail a build."""
    canceled_text = any("context canceled" in line for line in model.error_text)
    if model.error_text and not canceled_text:
        return 1, False
    views = model.vertices()
    if any(v.state is StepState.ERROR and v.kind not in _CACHE_KINDS for v in views):
        return 1, False
    states = {v.state for v in views}
    if canceled_text or StepState.CANCELED in states or StepState.RUNNING in states:
        return 130, True
    return 0, False


def replay(
    request: ReplayRequest,
    session: StreamSession,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.monotonic,
) -> BuildStatus:
    """Feed the recording through `session` at the requested pace; the recorded outcome."""
    clock = ReplayClock(request.speed, now)
    events, stats = decode_recording(request.name, request.data)
    if stats.skipped_objects:
        click.echo(
            f"mab: warning: {request.name}: {stats.skipped_objects} damaged progress "
            f"object(s) skipped ({stats.skipped_bytes} bytes)",
            err=True,
        )
    for event in events:
        wait = clock.delay(event)
        if wait > 0:
            sleep(wait)
        session.apply(event)
    code, canceled = recorded_outcome(session.model)
    session.finish(code, canceled)
    return session.model.status


@click.command("replay")
@click.argument("source", metavar="FILE|-")
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Pace relative to the original build; 0 replays as fast as possible.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
@click.option("--no-tui", is_flag=True, help="Plain lines even in a terminal.")
def replay_command(source: str, speed: float, as_json: bool, no_tui: bool) -> int:
    """Show a recorded build stream (`mab build --record FILE`) again."""
    if speed < 0:
        raise UserError(f"--speed {speed:g} is negative", hint="use 0 (no waiting) or more")
    name, data = read_recording(source)
    request = ReplayRequest(name, data, speed)
    mode = output_mode(as_json, no_tui)
    tui = mode == "tui" and source != "-" and interactive()
    run_replay_app = tui_hook("run_replay_app") if tui else None
    if run_replay_app is not None:
        return int(run_replay_app(request))
    session = StreamSession((), "json" if as_json else "plain")
    try:
        replay(request, session)
        session.report()
    except BrokenPipeError:  # `mab replay FILE | head`
        silence_stdout()
        return EXIT_INTERRUPTED
    return 0
