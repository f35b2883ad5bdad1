"""A build as a timeline: per platform, each step's runs as bars on lanes. Pure.

`timeline_of(model, summary)` lays out what the build model holds: one track per platform (the
requested ones first), then one for the build-wide vertices (cache import and export, image
export, push). A step shared by platforms is drawn in each. Each run of a vertex is one bar (a
vertex that ran, paused and ran again has two); a run the stream cut off is `open` and ends where
the timeline does. Bars go on the first lane free at their start, so bars on one lane never
overlap and the lanes of a track are what ran at the same time. Times are seconds from `origin`,
the earliest start seen (BuildKit can report a shared vertex from just before this build's own
start, `build_start`). The trace export, the HTML report and the TUI's timeline all read this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mab.progress.model import BuildModel, Kind, StepState, StepView
from mab.progress.summary import StepSummary, Summary

__all__ = ["BUILD_WIDE", "Bar", "Timeline", "Track", "lanes", "timeline_of"]

BUILD_WIDE = ""  # the platform of the build-wide track
LABEL_CHARS = 80


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # `deps 2/4 RUN make`, or the vertex's name
    instruction: str
    kind: Kind
    platform: str  # BUILD_WIDE for the build-wide track
    stage: str
    state: StepState
    start: float  # seconds from the timeline's origin
    end: float
    lane: int = 0
    open: bool = False  # still running when the stream ended
    counted: bool = False  # a Dockerfile step (FROM included): what the summary lists
    why: Mapping[str, str] | None = None  # why it missed the cache on this platform

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Track:
    platform: str  # BUILD_WIDE for the build-wide vertices
    bars: tuple[Bar, ...]  # by lane, then start
    lanes: int
    # From the build's start to the end of its last finished Dockerfile step: what the summary
    # counts as the platform's time (None when no step of it finished).
    span: tuple[float, float] | None

    @property
    def name(self) -> str:
        return self.platform or "build-wide"

    @property
    def steps(self) -> tuple[Bar, ...]:
        return tuple(b for b in self.bars if b.counted)


@dataclass(frozen=True, slots=True)
class Timeline:
    origin: float  # seconds since the epoch of offset 0
    build_start: float  # offset where this build began (its build definition loads)
    end: float  # offset of the latest start or end seen
    status: str
    tracks: tuple[Track, ...]

    @property
    def platform_tracks(self) -> tuple[Track, ...]:
        return tuple(t for t in self.tracks if t.platform != BUILD_WIDE)


def cut(text: str, limit: int = LABEL_CHARS) -> str:
    """One short line: `RUN a && \\` continuations joined, long text cut with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _label(view: StepView) -> str:
    if not view.index:
        return cut(view.name)
    stage = f"{view.stage} " if view.stage else ""
    return cut(f"{stage}{view.index}/{view.total} {view.instruction}")


def lanes(bars: Iterable[Bar]) -> tuple[tuple[Bar, ...], int]:
    """The bars each on the first lane free at its start (a lane is free from the end of its
    last bar on); by lane then start; and how many lanes that took."""
    ends: list[float] = []
    placed: list[Bar] = []
    for bar in sorted(bars, key=lambda b: (b.start, -b.end, b.label)):
        lane = next((i for i, end in enumerate(ends) if end <= bar.start), len(ends))
        if lane == len(ends):
            ends.append(bar.end)
        else:
            ends[lane] = bar.end
        placed.append(_on_lane(bar, lane))
    placed.sort(key=lambda b: (b.lane, b.start))
    return tuple(placed), len(ends)


def _on_lane(bar: Bar, lane: int) -> Bar:
    return Bar(
        bar.label,
        bar.instruction,
        bar.kind,
        bar.platform,
        bar.stage,
        bar.state,
        bar.start,
        bar.end,
        lane,
        bar.open,
        bar.counted,
        bar.why,
    )


def _bars(
    view: StepView,
    platform: str,
    origin: float,
    end: float,
    counted: bool,
    why: Mapping[str, str] | None,
) -> list[Bar]:
    out = []
    for start, stop in view.runs:
        out.append(
            Bar(
                label=_label(view),
                instruction=view.instruction or view.name,
                kind=view.kind,
                platform=platform,
                stage=view.stage,
                state=view.state,
                start=start - origin,
                end=(end if stop is None else stop - origin),
                open=stop is None,
                counted=counted,
                why=why,
            )
        )
    return out


def _whys(summary: Summary | None, steps: tuple[StepView, ...]) -> list[StepSummary | None]:
    if summary is None or len(summary.steps) != len(steps):
        return [None] * len(steps)
    return list(summary.steps)


def timeline_of(model: BuildModel, summary: Summary | None = None) -> Timeline:
    """The model's timeline; `summary` (annotated by history) gives each miss its cause."""
    views = model.vertices()
    starts = [a for v in views for a, _ in v.runs]
    stops = [b for v in views for _, b in v.runs if b is not None]
    floor, _ = model.span()
    origin = min(starts + ([floor] if floor is not None else [])) if starts else 0.0
    end = max(stops + starts) - origin if starts else 0.0
    steps = model.steps()
    counted = {v.key for v in steps}
    whys = {v.key: s for v, s in zip(steps, _whys(summary, steps), strict=True)}
    per: dict[str, list[Bar]] = {p: [] for p in model.platforms()}
    per[BUILD_WIDE] = []
    for view in views:
        step = whys.get(view.key)
        for platform in view.platforms or (BUILD_WIDE,):
            why = (step.why or {}).get(platform) if step is not None else None
            per.setdefault(platform, []).extend(
                _bars(view, platform, origin, end, view.key in counted, why)
            )
    start = (floor - origin) if floor is not None else 0.0
    tracks = []
    for platform, bars in per.items():
        if not bars and platform == BUILD_WIDE:
            continue
        placed, count = lanes(bars)
        tracks.append(Track(platform, placed, count, _span(placed, start)))
    return Timeline(origin, start, end, str(model.status), tuple(tracks))


def _span(bars: tuple[Bar, ...], floor: float) -> tuple[float, float] | None:
    """As the summary counts a platform's time: from its first step's start (not before the
    build's own) to its last finished step's end."""
    steps = [b for b in bars if b.counted]
    ends = [b.end for b in steps if not b.open and b.end >= floor]
    if not steps or not ends:
        return None
    return (max(min(b.start for b in steps), floor), max(ends))
