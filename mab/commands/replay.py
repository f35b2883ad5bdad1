"""`mab replay FILE|-`: show a recorded `--progress=rawjson` stream again.

The stream goes through the same decoder, build model and outcome rule as a live build
(`mab.progress.replay`). In the TUI the recording plays at its own pace (`--speed X`: X times
it; 0: as fast as possible); plain lines and `--json` are computed as fast as possible unless
`--speed` is given. mab exits with the recorded outcome: 0, 1 (failed), 130 (canceled), or
6 when the stream ends before the build did (`incomplete`).
"""

from __future__ import annotations

import codecs
import platform as host
import sys
from pathlib import Path
from typing import BinaryIO

import click

from mab.commands.running import interactive, output_mode, silence_stdout, tui_entry
from mab.config.settings import parse_platforms
from mab.errors import EXIT_INTERRUPTED, UserError
from mab.progress.replay import (
    ReplayRequest,
    check_speed,
    decode_recording,
    model_of_recording,
    replay,
)
from mab.progress.session import StreamSession

_MACHINES = {"x86_64": "linux/amd64", "amd64": "linux/amd64", "aarch64": "linux/arm64"}


def read_recording(source: str, stdin: BinaryIO | None = None) -> tuple[str, bytes]:
    """(name, bytes) of FILE, or of stdin for `-`; a clear UserError when it cannot be read."""
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        return "<stdin>", as_utf8(stream.read())
    path = Path(source)
    try:
        return source, as_utf8(path.read_bytes())
    except FileNotFoundError:
        raise UserError(
            f"{source}: no such file",
            hint="record a build with `mab build --record FILE`, then replay FILE",
        ) from None
    except IsADirectoryError:
        raise UserError(f"{source}: is a directory, not a recorded stream") from None
    except OSError as exc:
        raise UserError(f"{source}: cannot be read: {exc.strerror or exc}") from None


def as_utf8(data: bytes) -> bytes:
    """A recording that an editor or a shell saved with a byte order mark (UTF-8, or UTF-16 as
    Windows PowerShell's `2>` and `Out-File` write) as the UTF-8 buildx wrote."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace").encode("utf-8")
    return data


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
    if trace:
        from mab.commands.outputs import check_output, write_trace

        target = check_output(trace, "--trace")
        name, data = read_recording(source)
        write_trace(target, model_of_recording(name, data, default))
    else:
        name, data = read_recording(source)
    mode = output_mode(as_json, no_tui)
    tui = mode == "tui" and not ci and source != "-" and interactive()
    entry = tui_entry() if tui else None
    if entry is not None:
        decode_recording(name, data)  # refuse what is no stream before the app starts
        request = ReplayRequest(name, data, 1.0 if speed is None else speed, default)
        return entry.run_replay_app(request)
    request = ReplayRequest(name, data, speed or 0.0, default)
    if ci:
        from mab.commands.build_ci import run_replay_ci

        return run_replay_ci(request)
    # Progress lines help a person who watches the replay at a pace; unpaced, only the end.
    session = StreamSession((), "json" if as_json else "plain", default_platform=default)
    session.progress = not as_json or request.speed > 0
    try:
        replay(request, session)
        session.report()
    except BrokenPipeError:  # `mab replay FILE | head`
        silence_stdout()
        return EXIT_INTERRUPTED
    return session.model.exit_code or 0
