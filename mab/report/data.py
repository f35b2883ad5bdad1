"""What an HTML report shows, from a recording's build model or from a history build. Pure.

`Report` holds the summary, the timeline (when step times are known), the cache-export
verdicts and, from the history database, the image's last builds for the charts. A history
build's timeline comes from each step's recorded start and duration (records written before
mab kept step starts have none).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mab.history.record import BuildRecord, StepRecord
from mab.history.store import BuildRow
from mab.history.why import Why
from mab.progress.model import BuildModel, Kind, StepState
from mab.progress.summary import PlatformSummary, StepSummary, Summary
from mab.progress.timeline import Bar, Timeline, Track, lanes, timeline_of

__all__ = ["Point", "Report", "report_of_model", "report_of_record", "summary_of_record", "trend"]

_STATES: dict[str, StepState] = {
    "cached": StepState.CACHED,
    "ran": StepState.DONE,
    "failed": StepState.ERROR,
    "canceled": StepState.CANCELED,
    "pending": StepState.PENDING,
}


@dataclass(frozen=True, slots=True)
class Point:
    """One build in a chart: its id, when, and per platform (hit ratio, duration)."""

    build: int
    started_at: float
    platforms: Mapping[str, tuple[float | None, float]]


@dataclass(frozen=True, slots=True)
class Report:
    title: str  # the image, or the recording's file name
    source: str  # `recording cold.rawjson`, `build #12 of app, 2026-12-08 02:10 UTC`
    summary: Summary
    timeline: Timeline | None
    trend: tuple[Point, ...] = ()  # the image's builds, oldest first


def trend(rows: Sequence[BuildRow]) -> tuple[Point, ...]:
    """History rows (newest first, as the store lists them) as chart points, oldest first."""
    return tuple(
        Point(r.id, r.started_at, {p.platform: (p.hit_ratio, p.duration_s) for p in r.platforms})
        for r in reversed(rows)
        if r.source != "registry"
    )


def report_of_model(
    title: str, source: str, model: BuildModel, summary: Summary, rows: Sequence[BuildRow] = ()
) -> Report:
    return Report(title, source, summary, timeline_of(model, summary), trend(rows))


def when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


def report_of_record(
    row: BuildRow,
    record: BuildRecord,
    whys: Mapping[str, Mapping[str, Why]],
    rows: Sequence[BuildRow] = (),
) -> Report:
    """A history build: its summary from the record, its timeline from the steps' starts."""
    source = f"build #{row.id} of {record.image}, {when(record.started_at)}"
    if record.git_commit:
        source += f", {record.git_branch or 'commit'}@{record.git_commit[:7]}"
    summary = summary_of_record(row, record, whys)
    return Report(record.image, source, summary, _timeline(record, summary), trend(rows))


def _step(step: StepRecord, whys: Mapping[str, Mapping[str, Why]]) -> StepSummary:
    why = whys.get(step.platform, {}).get(step.id)
    return StepSummary(
        platforms=(step.platform,),
        stage=step.stage,
        index=step.index,
        total=step.total,
        instruction=step.instruction,
        state=_STATES[step.state],
        duration_s=step.duration_s,
        is_from=step.is_from,
        why={step.platform: why.to_json()} if why is not None else None,
    )


def summary_of_record(
    row: BuildRow, record: BuildRecord, whys: Mapping[str, Mapping[str, Why]]
) -> Summary:
    steps = tuple(_step(s, whys) for s in record.steps)
    stats = {p.platform: p for p in row.platforms}
    platforms = []
    for p in record.platforms:
        counted = [s for s in steps if p in s.platforms and not s.is_from]
        states = [s.state for s in counted]
        stat = stats.get(p)
        platforms.append(
            PlatformSummary(
                platform=p,
                steps=len(counted),
                cached=states.count(StepState.CACHED),
                executed=states.count(StepState.DONE),
                failed=states.count(StepState.ERROR),
                canceled=states.count(StepState.CANCELED),
                duration_s=_platform_time(record, p, stat.duration_s if stat else 0.0),
                first_miss=next((s for s in counted if s.state is not StepState.CACHED), None),
            )
        )
    ran = sorted(
        (s for s in steps if s.state is StepState.DONE and (s.duration_s or 0.0) >= 0.05),
        key=lambda s: -(s.duration_s or 0.0),
    )
    return Summary(
        status=record.outcome,
        duration_s=record.duration_s,
        platforms=tuple(platforms),
        steps=steps,
        slowest=tuple(ran[:5]),
        error=None,
    )


def _platform_time(record: BuildRecord, platform: str, fallback: float) -> float:
    """From its first step's start to its last step's end, when the record has the starts."""
    timed = [
        (s.start_s, s.start_s + (s.duration_s or 0.0))
        for s in record.platform_steps(platform)
        if s.start_s is not None
    ]
    if not timed:
        return fallback
    return max(e for _, e in timed) - min(s for s, _ in timed)


def _timeline(record: BuildRecord, summary: Summary) -> Timeline | None:
    if not any(s.start_s is not None for s in record.steps):
        return None
    tracks = []
    end = 0.0
    for p in record.platforms:
        bars = []
        for step, shown in zip(record.steps, summary.steps, strict=True):
            if step.platform != p or step.start_s is None:
                continue
            stop = step.start_s + (step.duration_s or 0.0)
            end = max(end, stop)
            bars.append(
                Bar(
                    label=shown.label,
                    instruction=step.instruction,
                    kind=Kind.BASE_IMAGE if step.is_from else Kind.STEP,
                    platform=p,
                    stage=step.stage,
                    state=shown.state,
                    start=step.start_s,
                    end=stop,
                    open=step.duration_s is None,
                    counted=True,
                    why=(shown.why or {}).get(p),
                )
            )
        placed, count = lanes(bars)
        starts = [b.start for b in placed]
        span = (min(starts), max(b.end for b in placed)) if placed else None
        tracks.append(Track(p, placed, count, span))
    return Timeline(record.started_at, 0.0, end, record.outcome, tuple(tracks))
