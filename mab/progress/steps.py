"""What readers of the build model get: a step's state and its frozen view. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import msgspec

from mab.progress.logs import LogTail
from mab.progress.names import Kind

__all__ = [
    "BuildStatus",
    "Progress",
    "StepDetail",
    "StepState",
    "StepView",
    "merged_length",
    "merged_runs",
]


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    CACHED = "cached"
    DONE = "done"
    ERROR = "error"
    CANCELED = "canceled"


class BuildStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"  # a recorded stream that ended before the build did


class Progress(msgspec.Struct, frozen=True, gc=False):
    """Sub-progress of a step: a layer pull, an extraction, a push."""

    id: str
    name: str
    current: int
    total: int
    started: float | None
    completed: float | None


@dataclass(frozen=True, slots=True)
class StepView:
    """A step (one vertex, or the vertices of one progress group) as a UI shows it."""

    key: str  # the digest, or "group:<id>" for a progress group
    digests: tuple[str, ...]
    name: str
    kind: Kind
    target: str
    platforms: tuple[str, ...]
    stage: str
    index: int  # 0 when the vertex is not a Dockerfile instruction
    total: int
    instruction: str
    state: StepState
    started: float | None
    completed: float | None
    error: str
    progress: tuple[Progress, ...]
    log_lines: int  # lines seen, kept or not
    run_s: float | None = None  # time it ran: its run intervals merged (None: not finished)
    # Its runs as BuildKit reported them, merged where they overlap; a run still going (or
    # cut off by the end of the stream) ends in None. Read by the timeline.
    runs: tuple[tuple[float, float | None], ...] = ()

    @property
    def duration_s(self) -> float | None:
        """How long the step ran: its intervals merged (a vertex that ran, paused and ran
        again counts its runs, not the pause), else from its first start to its end."""
        if self.run_s is not None:
            return self.run_s
        if self.started is None or self.completed is None:
            return None
        return max(0.0, self.completed - self.started)

    @property
    def is_instruction(self) -> bool:
        """A Dockerfile instruction other than FROM: what cache hits are counted over."""
        return self.kind is Kind.STEP

    @property
    def label(self) -> str:
        """`deps 3/4 RUN ./install.sh`, or the vertex name for other vertices."""
        if not self.index:
            return self.name
        stage = f"{self.stage} " if self.stage else ""
        return f"{stage}{self.index}/{self.total} {self.instruction}"


@dataclass(frozen=True, slots=True)
class StepDetail:
    step: StepView
    log: LogTail


def merged_runs(
    intervals: list[tuple[float, float | None]], finished: bool
) -> tuple[tuple[float, float | None], ...]:
    """Closed runs merged where they overlap, sorted. A run without an end is kept (as the last,
    open one) only when the vertex has not finished: buildx repeats a finished vertex's start
    without its end in some updates."""
    closed = sorted((a, b) for a, b in intervals if b is not None)
    out: list[tuple[float, float | None]] = []
    end = float("-inf")
    for start, stop in closed:
        if out and start <= end:
            if stop > end:
                out[-1] = (out[-1][0], stop)
                end = stop
            continue
        out.append((start, stop))
        end = stop
    if not finished:
        starts = [a for a, b in intervals if b is None and a >= end]
        if starts:
            out.append((min(starts), None))
    return tuple(out)


def merged_length(intervals: list[tuple[float, float]]) -> float:
    """The time covered by intervals that may overlap (as buildx merges a vertex's runs)."""
    total = 0.0
    end = float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total
