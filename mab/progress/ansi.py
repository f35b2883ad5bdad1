"""Terminal control sequences in build output: `mab.terminal` holds the one sanitiser (it sits
outside this package so the command line can guard its output without loading it); the names
are here too for the progress views."""

from __future__ import annotations

from mab.terminal import (
    GuardedStream,
    clean,
    guarded_output,
    has_controls,
    lines,
    safe,
    scrub,
    write_own,
)

__all__ = [
    "GuardedStream",
    "clean",
    "guarded_output",
    "has_controls",
    "lines",
    "safe",
    "scrub",
    "write_own",
]
