"""The aggregates of the local build history, computed on every scrape of `mab metrics serve`.

Series (labels: image, platform, and window, outcome or cause; all bounded):
- `mab_history_builds_total{outcome}`: builds recorded, by outcome;
- `mab_history_cache_hit_ratio{window}`: cached over all instructions of the builds that
  finished within the last hour, day, week and 30 days (no sample when none did);
- `mab_history_build_duration_seconds`: a histogram of the platform's build times;
- `mab_history_misses_total{cause}`: instructions that missed, by first cause;
- `mab_history_last_build_timestamp_seconds`.

The history is read through `HistorySource`, so the collector is tested with plain data and
served from the SQLite store.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from mab.errors import MabError
from mab.history.store import HistoryStore

WINDOWS: tuple[tuple[str, float], ...] = (
    ("1h", 3600.0),
    ("24h", 86400.0),
    ("7d", 7 * 86400.0),
    ("30d", 30 * 86400.0),
)
BUCKETS: tuple[float, ...] = (5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)


@dataclass(frozen=True)
class PlatformBuild:
    """One platform of one recorded build."""

    image: str
    platform: str
    finished_at: float  # epoch seconds
    outcome: str  # succeeded, failed, canceled, incomplete
    steps: int
    cached: int
    duration_s: float


@dataclass(frozen=True)
class Misses:
    """Instructions of one image and platform that missed, by first cause, over all builds."""

    image: str
    platform: str
    cause: str
    count: int


class HistorySource(Protocol):
    def platform_builds(self) -> Iterable[PlatformBuild]: ...

    def misses(self) -> Iterable[Misses]: ...


@dataclass
class _Series:
    builds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    window_steps: dict[str, list[int]] = field(default_factory=dict)
    durations: list[float] = field(default_factory=list)
    misses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    last: float = 0.0


class HistoryCollector(Collector):
    def __init__(self, source: HistorySource, clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        try:
            series = self._series()
        except MabError as exc:  # a history damaged since: said once per scrape, no traceback
            sys.stderr.write(exc.render() + "\n")
            return
        yield from _families(series)

    def _series(self) -> dict[tuple[str, str], _Series]:
        now = self.clock()
        series: dict[tuple[str, str], _Series] = defaultdict(_Series)
        for build in self.source.platform_builds():
            s = series[(build.image, build.platform)]
            s.builds[build.outcome] += 1
            s.durations.append(build.duration_s)
            s.last = max(s.last, build.finished_at)
            for name, span in WINDOWS:
                if now - build.finished_at <= span:
                    pair = s.window_steps.setdefault(name, [0, 0])
                    pair[0] += build.cached
                    pair[1] += build.steps
        for m in self.source.misses():
            series[(m.image, m.platform)].misses[m.cause] += m.count
        return series


def _families(series: Mapping[tuple[str, str], _Series]) -> Iterator[Metric]:
    labels = ["image", "platform"]
    builds = CounterMetricFamily(
        "mab_history_builds", "builds recorded, by outcome", labels=[*labels, "outcome"]
    )
    ratio = GaugeMetricFamily(
        "mab_history_cache_hit_ratio",
        "cached over all instructions of the builds finished within the window",
        labels=[*labels, "window"],
    )
    duration = HistogramMetricFamily(
        "mab_history_build_duration_seconds", "the platform's build time", labels=labels
    )
    misses = CounterMetricFamily(
        "mab_history_misses",
        "instructions that missed the cache, by first cause",
        labels=[*labels, "cause"],
    )
    last = GaugeMetricFamily(
        "mab_history_last_build_timestamp_seconds", "when the last build finished", labels=labels
    )
    for (image, platform), s in sorted(series.items()):
        key = [image, platform]
        for outcome, count in sorted(s.builds.items()):
            builds.add_metric([*key, outcome], count)
        for window, (cached, steps) in s.window_steps.items():
            if steps:
                ratio.add_metric([*key, window], cached / steps)
        duration.add_metric(key, _buckets(s.durations), sum(s.durations))
        for cause, count in sorted(s.misses.items()):
            misses.add_metric([*key, cause], count)
        last.add_metric(key, s.last)
    yield from (builds, ratio, duration, misses, last)


def _buckets(values: list[float]) -> list[tuple[str, float]]:
    counts = [(str(float(b)), float(sum(1 for v in values if v <= b))) for b in BUCKETS]
    return [*counts, ("+Inf", float(len(values)))]


class StoreSource:
    """A `HistorySource` over the SQLite history (`mab.history.store`), read on each scrape."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def platform_builds(self) -> Iterator[PlatformBuild]:
        with HistoryStore.open(self.path, create=False) as store:
            rows = store.builds()
        for row in rows:
            if row.source == "registry":  # copies fetched from a registry, not builds here
                continue
            for stat in row.platforms:
                yield PlatformBuild(
                    image=row.image,
                    platform=stat.platform,
                    finished_at=row.started_at + row.duration_s,
                    outcome=row.outcome,
                    steps=stat.steps,
                    cached=stat.cached,
                    duration_s=stat.duration_s,
                )

    def misses(self) -> Iterator[Misses]:
        with HistoryStore.open(self.path, create=False) as store:
            images = sorted({row.image for row in store.builds()})
            counts = [(image, store.misses_by_cause(image=image)) for image in images]
        for image, found in counts:
            for m in found:
                yield Misses(image, m.platform, m.cause, m.count)
