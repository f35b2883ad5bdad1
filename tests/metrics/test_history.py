"""mab.metrics.history: the history's aggregates as the collector exposes them (plain data in;
the SQLite-backed source is tested with the store)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mab.metrics.history import HistoryCollector, Misses, PlatformBuild

NOW = 1_800_000_000.0
DAY = 86400.0


def build(platform: str, ago: float, cached: int, outcome: str = "succeeded") -> PlatformBuild:
    return PlatformBuild(
        image="acme/app",
        platform=platform,
        finished_at=NOW - ago,
        outcome=outcome,
        steps=10,
        cached=cached,
        duration_s=40.0 if platform.endswith("arm64") else 8.0,
    )


class Source:
    def __init__(self, builds: list[PlatformBuild], misses: list[Misses] | None = None) -> None:
        self.builds = builds
        self.missed = misses or []

    def platform_builds(self) -> list[PlatformBuild]:
        return self.builds

    def misses(self) -> list[Misses]:
        return self.missed


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(builds: list[PlatformBuild], misses: list[Misses] | None = None) -> Samples:
    registry = CollectorRegistry()
    registry.register(HistoryCollector(Source(builds, misses), clock=lambda: NOW))
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def labels(platform: str, **more: str) -> frozenset[tuple[str, str]]:
    return frozenset({"image": "acme/app", "platform": platform, **more}.items())


def test_hit_ratio_per_window_counts_only_builds_inside_it() -> None:
    got = scrape(
        [
            build("linux/arm64", 600, cached=8),  # 10 minutes ago
            build("linux/arm64", 2 * DAY, cached=2),  # two days ago
        ]
    )
    assert got[("mab_history_cache_hit_ratio", labels("linux/arm64", window="1h"))] == 0.8
    assert got[("mab_history_cache_hit_ratio", labels("linux/arm64", window="7d"))] == 0.5
    assert ("mab_history_cache_hit_ratio", labels("linux/arm64", window="24h")) in got


def test_no_ratio_sample_for_an_empty_window() -> None:
    got = scrape([build("linux/amd64", 3 * DAY, cached=5)])
    assert ("mab_history_cache_hit_ratio", labels("linux/amd64", window="1h")) not in got
    assert got[("mab_history_cache_hit_ratio", labels("linux/amd64", window="7d"))] == 0.5


def test_builds_by_outcome_misses_by_cause_and_durations() -> None:
    got = scrape(
        [
            build("linux/amd64", 60, cached=10),
            build("linux/amd64", 120, cached=7, outcome="failed"),
            build("linux/amd64", 180, cached=9),
        ],
        [Misses("acme/app", "linux/amd64", "source-changed", 4)],
    )
    amd = "linux/amd64"
    assert got[("mab_history_builds_total", labels(amd, outcome="succeeded"))] == 2
    assert got[("mab_history_builds_total", labels(amd, outcome="failed"))] == 1
    assert got[("mab_history_misses_total", labels(amd, cause="source-changed"))] == 4
    assert got[("mab_history_build_duration_seconds_count", labels(amd))] == 3
    assert got[("mab_history_build_duration_seconds_bucket", labels(amd, le="10.0"))] == 3
    assert got[("mab_history_build_duration_seconds_bucket", labels(amd, le="5.0"))] == 0
    assert got[("mab_history_last_build_timestamp_seconds", labels(amd))] == NOW - 60


def test_an_empty_history_exposes_no_series() -> None:
    assert not [k for k in scrape([]) if k[0].startswith("mab_")]
