"""What a finished run hands every display: one value, and the one rule for mab's exit code."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, field

from mab.errors import EXIT_INTERRUPTED
from mab.history.why import Why
from mab.progress.summary import Summary

__all__ = ["ENDING_SIGNALS", "BuildResult", "exit_code_of"]

# Signals that end mab: each cancels the build mab started before mab exits.
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE)


def exit_code_of(outcome_code: int, *, canceled: bool, ended_by: int | None, error: int) -> int:
    """mab's exit code: a signal that ended mab is 128+N as the shell says (Ctrl+C: 130);
    a build that never ran exits with its error's code; a cancel 130; otherwise the outcome's
    (buildx's exit code, or a recording's)."""
    if ended_by is not None:
        return 128 + ended_by
    if error:
        return error
    if canceled:
        return EXIT_INTERRUPTED
    return outcome_code


@dataclass(frozen=True)
class BuildResult:
    """A run's whole result: the summary every display shows (its cache exports read back,
    its misses with their causes, the caches it read and wrote), how it ended, and what it
    recorded."""

    summary: Summary
    exit_code: int
    canceled: bool = False
    ended_by: int | None = None  # the signal that ended mab during the run
    error: str = ""  # why the build never ran (rendered, for stderr), else ""
    whys: Mapping[str, Mapping[str, Why]] = field(default_factory=dict)
    history_id: int | None = None  # the row written in the history database
    notices: tuple[str, ...] = ()  # what the history, metrics and record steps had to say
    record_error: str | None = None  # why the recording stopped early (the build went on)
    record: str | None = None  # the recording's path

    @property
    def status(self) -> str:
        return self.summary.status

    @property
    def warnings(self) -> tuple[str, ...]:
        """A cache export that failed or came out wrong: never silent, in any display."""
        return tuple(e.message() for e in self.summary.cache_exports if e.problem)
