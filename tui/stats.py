"""Live numbers the views show, read from the build model: per-platform cache use and time.

The model stays the only source of truth; these are small pure functions over its read API.
A build that names no platform (single-platform, builder default) has one column, `ALL`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mab.progress.model import BuildModel, StepState, StepView

ALL = ""


def column_platforms(model: BuildModel) -> tuple[str, ...]:
    return model.platforms() or (ALL,)


def platform_name(platform: str) -> str:
    return platform or "default"


def steps_for(steps: Iterable[StepView], platform: str) -> list[StepView]:
    """The steps one platform's column lists (steps of no platform are everyone's)."""
    if platform == ALL:
        return list(steps)
    return [v for v in steps if platform in v.platforms or not v.platforms]


Row = tuple[str, str, int, str]  # (target, stage, index, key of a vertex of no index)


def aligned(steps: Sequence[StepView], platforms: Sequence[str]) -> list[list[StepView | None]]:
    """Each platform's column, one row per Dockerfile step: a step keeps the same row in every
    column, a blank (None) where a platform has no such step (a cross-compiling build's
    shared stage, a base image pulled once)."""
    rows: dict[tuple[Row, int], dict[str, StepView]] = {}
    for view in steps:
        base: Row = (view.target, view.stage, view.index, "" if view.index else view.key)
        mine = [p for p in platforms if p == ALL or p in view.platforms or not view.platforms]
        n = 0
        while any(p in rows.get((base, n), {}) for p in mine):
            n += 1  # two steps of one platform with one name: a row each
        row = rows.setdefault((base, n), {})
        for p in mine:
            row[p] = view
    return [[row.get(p) for row in rows.values()] for p in platforms]


def slowdowns(
    steps: Sequence[StepView], platforms: Sequence[str], now: float | None = None
) -> dict[str, float]:
    """Each platform's time over the fastest one's, from what is known so far: on the steps
    every platform ran or runs (a step cached, canceled or not started on one of them is left
    out), a step still running counting at least the time it has run (`now`); no entry when
    no such step took any time."""
    if len(platforms) < 2:
        return {}
    spent = dict.fromkeys(platforms, 0.0)
    for row in zip(*aligned(steps, platforms), strict=True):
        taken = [_taken(v, now) for v in row]
        if any(t is None for t in taken):
            continue
        if len({v.key for v in row if v is not None}) < len(row):
            continue  # shared: one run for all, nothing to compare
        for p, t in zip(platforms, taken, strict=True):
            spent[p] += t or 0.0
    fastest = min(spent.values())
    if fastest < MIN_COMPARED_S:
        return {}
    return {p: t / fastest for p, t in spent.items()}


def _taken(view: StepView | None, now: float | None) -> float | None:
    """The time a step took (DONE), or has taken so far (RUNNING, at `now`); None otherwise."""
    if view is None:
        return None
    if view.state is StepState.DONE:
        return view.duration_s or 0.0
    if view.state is StepState.RUNNING and now is not None and view.started is not None:
        return max(0.0, now - view.started)
    return None


MIN_COMPARED_S = 1.0  # under a second of work, a ratio is noise


def latest_time(*views: Iterable[StepView]) -> float | None:
    """The latest moment the stream spoke of (over the given steps and vertices): the clock
    of a replay shown as fast as it can go."""
    latest: float | None = None
    for group in views:
        for v in group:
            t = v.completed if v.completed is not None else v.started
            if t is not None and (latest is None or t > latest):
                latest = t
    return latest


@dataclass(frozen=True, slots=True)
class PlatformStats:
    """Cache use over the Dockerfile's instructions (FROM excluded) and the platform's time."""

    platform: str
    steps: int
    cached: int
    executed: int
    running: int
    failed: int
    started: float | None
    ended: float | None
    active: bool  # something of this platform still runs

    @property
    def hit_ratio(self) -> float | None:
        return self.cached / self.steps if self.steps else None

    def elapsed(self, now: float | None) -> float:
        if self.started is None:
            return 0.0
        end = now if self.active and now is not None else self.ended
        return max(0.0, (end or self.started) - self.started)


def stats_for(
    platform: str, views: Sequence[StepView], build_start: float | None = None
) -> PlatformStats:
    """`build_start`: where this build began. A step another build ran or cached arrives with
    that build's old times; the platform's time starts no earlier than this build did."""
    count = Counter(v.state for v in views if v.is_instruction)
    floor = build_start if build_start is not None else float("-inf")
    started = [max(v.started, floor) for v in views if v.started is not None]
    completed = [max(v.completed, floor) for v in views if v.completed is not None]
    return PlatformStats(
        platform,
        steps=count.total(),
        cached=count[StepState.CACHED],
        executed=count[StepState.DONE],
        running=count[StepState.RUNNING],
        failed=count[StepState.ERROR],
        started=min(started, default=None),
        ended=max(completed, default=None),
        active=any(v.state is StepState.RUNNING for v in views),
    )


def platform_stats(model: BuildModel) -> tuple[PlatformStats, ...]:
    steps = model.steps()
    start = model.span()[0]
    return tuple(stats_for(p, steps_for(steps, p), start) for p in column_platforms(model))


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What one finished run of the session did, to compare the next run against."""

    number: int
    no_cache: bool
    status: str
    duration: float
    platforms: tuple[PlatformStats, ...]

    def platform(self, name: str) -> PlatformStats | None:
        return next((p for p in self.platforms if p.platform == name), None)


@dataclass(frozen=True, slots=True)
class Delta:
    """A platform's change against the previous run: hit ratio points and seconds."""

    hit_points: float | None
    seconds: float


def delta(
    current: PlatformStats, previous: PlatformStats | None, now: float | None
) -> Delta | None:
    if previous is None:
        return None
    points = None
    if current.hit_ratio is not None and previous.hit_ratio is not None:
        points = (current.hit_ratio - previous.hit_ratio) * 100
    return Delta(points, current.elapsed(now) - previous.elapsed(None))


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.0f}%"


def compare_runs(previous: RunRecord, current: RunRecord) -> str:
    """`linux/arm64: hit 0% -> 100%, 63.2s -> 1.1s`, a line per platform."""
    lines = []
    for now in current.platforms:
        before = previous.platform(now.platform)
        if before is None:
            continue
        lines.append(
            f"{platform_name(now.platform)}: hit {_percent(before.hit_ratio)} -> "
            f"{_percent(now.hit_ratio)}, {before.elapsed(None):.1f}s -> {now.elapsed(None):.1f}s"
        )
    return (
        "\n".join(lines)
        or f"run {current.number}: no platform in common with run {previous.number}"
    )
