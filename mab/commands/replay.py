"""`mab replay FILE|-`: show a recorded `--progress=rawjson` stream again.

The stream goes through the same decoder, build model and outcome rule as a live build
(`mab.progress.replay`). In the TUI the recording plays at its own pace (`--speed X`: X times
it; 0: as fast as possible); plain lines and `--json` are computed as fast as possible unless
`--speed` is given. mab exits with the recorded outcome: 0, 1 (failed), 130 (canceled), or
6 when the stream ends before the build did (`incomplete`).
"""

from __future__ import annotations

import platform as host
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Literal

import click

from mab.commands.running import interactive, output_mode, tui_entry
from mab.config.settings import parse_platforms
from mab.errors import EXIT_INTERRUPTED, UserError
from mab.progress.replay import (
    Readable,
    ReplayRequest,
    check_speed,
    decode_recording,
    model_of_recording,
    replay,
    utf8_chunks,
)
from mab.progress.session import StreamSession
from mab.run.stdio import silence_stdout

_MACHINES = {"x86_64": "linux/amd64", "amd64": "linux/amd64", "aarch64": "linux/arm64"}


def read_recording(source: str, stdin: BinaryIO | None = None) -> tuple[str, bytes]:
    """(name, bytes) of FILE, or of stdin for `-`; a clear UserError when it cannot be read."""
    with open_recording(source, stdin) as (name, stream):
        return name, b"".join(utf8_chunks(stream))


class _Reading:
    """A recording being read: a read that fails (a disk error, a file that is a directory)
    is a clear UserError, not a traceback."""

    def __init__(self, name: str, stream: BinaryIO) -> None:
        self.name = name
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._stream.read(size)
        except OSError as exc:
            raise _unreadable(self.name, exc) from None


@contextmanager
def open_recording(source: str, stdin: BinaryIO | None = None) -> Iterator[tuple[str, Readable]]:
    """(name, binary stream) of FILE, or of stdin for `-`, to be read in pieces; a clear
    UserError when it cannot be opened or read."""
    if source == "-":
        yield "<stdin>", _Reading(source, stdin if stdin is not None else sys.stdin.buffer)
        return
    try:
        stream = Path(source).open("rb")  # noqa: SIM115 - closed below, after the with's body
    except FileNotFoundError:
        raise UserError(
            f"{source}: no such file",
            hint="record a build with `mab build --record FILE`, then replay FILE",
        ) from None
    except OSError as exc:
        raise _unreadable(source, exc) from None
    with stream:
        yield source, _Reading(source, stream)


def _unreadable(source: str, exc: OSError) -> UserError:
    if isinstance(exc, IsADirectoryError):
        return UserError(f"{source}: is a directory, not a recorded stream")
    return UserError(f"{source}: cannot be read: {exc.strerror or exc}")


def machine_platform() -> str:
    """This machine's platform, for a recording that names none (`--platform` overrides)."""
    machine = host.machine().lower()
    return _MACHINES.get(machine, f"linux/{machine}" if machine else "linux/amd64")


def replay_platform(given: str | None) -> str:
    if given is None:
        return machine_platform()
    platforms = parse_platforms(given)
    if len(platforms) != 1:
        raise UserError(
            f"--platform {given}: name one platform",
            hint="it names the platform of a single-platform stream, which buildx leaves out",
        )
    return platforms[0]


@click.command("replay")
@click.argument("source", metavar="FILE|-")
@click.option(
    "--speed",
    type=float,
    default=None,
    help="Pace relative to the original build; 0 replays as fast as possible. "
    "Default: 1 in the TUI; plain lines and --json are not paced unless given.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
@click.option("--no-tui", is_flag=True, help="Plain lines even in a terminal.")
@click.option("--ci", is_flag=True, help="The CI job's log and reports, as `mab build --ci`.")
@click.option(
    "--platform",
    metavar="PLATFORM",
    help="The platform of a single-platform stream that names none "
    "(default: mab's recording header, else this machine's).",
)
@click.option(
    "--trace",
    metavar="FILE",
    help="Also write the build as a Chrome trace (open it in Perfetto or chrome://tracing).",
)
def replay_command(
    source: str,
    speed: float | None,
    as_json: bool,
    no_tui: bool,
    ci: bool,
    platform: str | None,
    trace: str | None,
) -> int:
    """Show a recorded build stream (`mab build --record FILE`, or `docker buildx build
    --progress=rawjson . 2> FILE`) again; exit with the recorded outcome."""
    if speed is not None:
        check_speed(speed)
    default = replay_platform(platform)
    data: bytes | None = None  # read whole only for --trace (stdin cannot be read twice)
    if trace:
        from mab.commands.outputs import check_output, write_trace

        target = check_output(trace, "--trace")
        name, data = read_recording(source)
        write_trace(target, model_of_recording(name, data, default))
    mode = output_mode(as_json, no_tui)
    tui = mode == "tui" and not ci and source != "-" and interactive()
    entry = tui_entry() if tui else None
    if entry is not None:
        if data is None:
            name, data = read_recording(source)
        decode_recording(name, data)  # refuse what is no stream before the app starts
        request = ReplayRequest(name, data, 1.0 if speed is None else speed, default)
        return entry.run_replay_app(request)
    if data is not None:
        return _show(ReplayRequest(name, data, speed or 0.0, default), ci, as_json)
    with open_recording(source) as (name, stream):
        return _show(ReplayRequest(name, b"", speed or 0.0, default, stream=stream), ci, as_json)


def _show(request: ReplayRequest, ci: bool, as_json: bool) -> int:
    """Plain lines, `--json` or `--ci` of a recording; the recorded outcome's exit code."""
    if ci:
        from mab.commands.build_ci import run_replay_ci

        return run_replay_ci(request)
    # Progress lines help a person who watches the replay at a pace; unpaced, only the end.
    mode: Literal["json", "plain"] = "json" if as_json else "plain"
    session = StreamSession((), mode, default_platform=request.default_platform)
    session.progress = not as_json or request.speed > 0
    try:
        replay(request, session)
        session.report()
    except BrokenPipeError:  # `mab replay FILE | head`
        silence_stdout()
        return EXIT_INTERRUPTED
    return session.model.exit_code or 0
