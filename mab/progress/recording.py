"""The one recording writer: the raw stream of a build, framed by two lines of mab's own.

`mab build --record FILE` (plain, `--json`, `--ci`) and the TUI's live source both write
through `Recording`, so every recording reads the same:

    # mab platforms: linux/amd64,linux/arm64      <- the requested platforms
    {...the build's rawjson stream, untouched...}
    # mab outcome: failed 1                       <- how the build ended, once it has

buildx never writes a line starting with `#`, and the decoder hands such lines over as text, so
a replay learns the platforms (a single-platform stream names none) and the true outcome (a
stream holds no exit code). A recording without the last line stopped before the build did.
"""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path
from typing import BinaryIO

from mab.errors import MabError, UserError, WriteError
from mab.progress.outcome import Outcome

__all__ = [
    "OUTCOME_TRAILER",
    "PLATFORMS_HEADER",
    "Recording",
    "parse_outcome_trailer",
    "read_trailer",
    "record_header",
    "record_trailer",
]

PLATFORMS_HEADER = "# mab platforms: "
OUTCOME_TRAILER = "# mab outcome: "
_STATUSES = ("succeeded", "failed", "canceled")


def record_header(platforms: tuple[str, ...]) -> bytes:
    """The first line of a recording: the platforms the build was asked for."""
    return f"{PLATFORMS_HEADER}{','.join(platforms)}\n".encode()


def record_trailer(status: str, exit_code: int) -> bytes:
    """The last line of a recording: the build's status and mab's exit code."""
    return f"\n{OUTCOME_TRAILER}{status} {exit_code}\n".encode()


_CODES = {"succeeded": range(0, 1), "failed": range(1, 256), "canceled": range(130, 131)}


def parse_outcome_trailer(text: str) -> tuple[str, int] | None:
    """(status, exit code) from a trailer line; None when the line is not one. A trailer whose
    status and code disagree or are out of range (`failed 256`, `succeeded 1`) is a
    `ValueError` saying so: the outcome then comes from the stream, as without a trailer."""
    if not text.startswith(OUTCOME_TRAILER):
        return None
    parts = text[len(OUTCOME_TRAILER) :].split()
    if len(parts) != 2 or parts[0] not in _STATUSES or not parts[1].isdecimal():
        raise ValueError(f"not an outcome line mab writes: {text!r}")
    status, code = parts[0], int(parts[1])
    if code not in _CODES[status]:
        expected = _CODES[status]
        want = str(expected.start) if len(expected) == 1 else f"{expected.start}-{expected[-1]}"
        raise ValueError(f"{text!r}: a {status} build exits with {want}, not {code}")
    return status, code


def read_trailer(text: str) -> tuple[tuple[str, int] | None, str]:
    """(the trailer or None, the line): a trailer `parse_outcome_trailer` refuses becomes a
    warning line, and the outcome is then read from the stream."""
    try:
        return parse_outcome_trailer(text), text
    except ValueError as exc:
        return None, f"mab: warning: the recording's outcome line is ignored: {exc}"


class Recording:
    """A recording being written (or none, without a path). `file` goes to the engine's
    `BuildRunner`, which writes the raw chunks as they come; `close(outcome)` ends the file
    with the outcome line. As a context manager it is closed (without one) on the way out."""

    def __init__(self, path: Path | None, file: BinaryIO | None) -> None:
        self.path = path
        self.file = file

    @classmethod
    def open(cls, path: str | Path | None, platforms: tuple[str, ...]) -> Recording:
        """Create (or replace) the file and write the header; a UserError when it cannot."""
        if path is None:
            return cls(None, None)
        path = Path(path)
        try:
            file = path.open("wb")
            file.write(record_header(platforms))
        except OSError as exc:
            raise _cannot_record(path, exc) from None
        return cls(path, file)

    def close(self, outcome: Outcome | None = None) -> None:
        """Write the outcome line (when the build ended) and close; never raises (a full disk
        was already reported by the runner, and the build's result matters more)."""
        file = self.file
        if file is None or file.closed:
            return
        with contextlib.suppress(OSError, ValueError):
            if outcome is not None:
                file.write(record_trailer(str(outcome.status), outcome.exit_code))
        with contextlib.suppress(OSError, ValueError):
            file.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cannot_record(path: Path, exc: OSError) -> MabError:
    """A wrong --record path is the user's to fix (exit 2); a read-only folder or a full disk
    is the machine's (exit 3). Either way before the build starts."""
    reason = f"{path}: cannot write the recording: {exc.strerror or exc}"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR):
        return UserError(reason, hint="give --record a file path in an existing folder")
    return WriteError(reason, hint="record into a writable folder with free space, then run again")
