"""mab's own lines on stderr, and a stdout whose reader went away. Light: `mab replay` and the
CLI's error handler import it without the rest of a build run."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TextIO

__all__ = ["say", "silence_stdout"]


def silence_stdout() -> None:
    """Whoever read stdout went away (`mab build | head`): drop further output quietly."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def say(text: str, out: TextIO | None = None) -> None:
    """One line of mab's own on stderr (`mab: ...`)."""
    stream = out or sys.stderr
    stream.write(f"mab: {text}\n")
    stream.flush()
