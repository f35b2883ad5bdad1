"""One build's metrics: what `--metrics-file`, `--pushgateway` and the GitLab report carry.

Every figure is a gauge: a build is a point in time, and Prometheus (or the Pushgateway, or
node_exporter's textfile collector) keeps the series. The names are documented in the README;
the GitLab report keeps the names and labels it has always had (`platform` only), the others
add `image` so one Prometheus can follow several images.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_text

from mab.progress.model import StepState
from mab.progress.summary import StepSummary, Summary

PLATFORM_METRICS = (
    ("mab_steps", "Dockerfile instructions (other than FROM) of the platform in the build"),
    ("mab_steps_cached", "instructions completed from the cache"),
    ("mab_steps_executed", "instructions that ran"),
    ("mab_steps_failed", "instructions that failed"),
    ("mab_cache_hit_ratio", "cached instructions over all instructions, 0 to 1"),
    ("mab_duration_seconds", "the platform's build time, first step start to last step end"),
    (
        "mab_slowdown_ratio",
        "time of the steps every platform ran, over the fastest platform's time for them",
    ),
    (
        "mab_cache_import_failures",
        "cache imports that failed (a ref that does not exist yet is not one)",
    ),
)
BUILD_METRICS = (
    ("mab_build_duration_seconds", "wall-clock time of the whole build"),
    ("mab_build_succeeded", "1 when the build succeeded, else 0"),
    ("mab_build_timestamp_seconds", "when the build finished, seconds since the epoch"),
)
MISSES = ("mab_misses", "instructions that missed the cache, by first cause")


@dataclass(frozen=True)
class BuildFacts:
    """What a summary does not hold: where the build ran and what explained its misses."""

    image: str | None = None  # None: no `image` label (the GitLab report)
    finished_at: float | None = None  # epoch seconds
    cache_import_failures: Mapping[str, int] | None = None  # platform -> count
    misses_by_cause: Mapping[tuple[str, str], int] | None = None  # (platform, cause) -> count


def misses_by_cause(summary: Summary) -> dict[tuple[str, str], int]:
    """(platform, cause) -> instructions that missed for that first cause (`steps[].why`)."""
    counts: dict[tuple[str, str], int] = {}
    for step in summary.steps:
        for platform, why in (step.why or {}).items():
            cause = why.get("cause")
            if cause:
                counts[(platform, cause)] = counts.get((platform, cause), 0) + 1
    return counts


def slowdown(summary: Summary) -> dict[str, float]:
    """Per platform, its time for the instructions every platform executed, over the fastest
    platform's time for the same instructions. Steps a platform did not finish (cached,
    failed, canceled) are left out, so a cancelled build never inflates a ratio. Platforms with
    nothing in common get no ratio."""
    names = [p.platform for p in summary.platforms]
    if len(names) < 2:
        return {}
    times: dict[tuple[str, int, str], dict[str, float]] = {}
    for step in summary.steps:
        if step.state is not StepState.DONE or step.duration_s is None or step.is_from:
            continue
        for platform in step.platforms:
            times.setdefault(_key(step), {})[platform] = step.duration_s
    common = [t for t in times.values() if all(n in t for n in names)]
    totals = {n: sum(t[n] for t in common) for n in names}
    fastest = min(totals.values(), default=0.0)
    if not common or fastest <= 0:
        return {}
    return {n: totals[n] / fastest for n in names}


def _key(step: StepSummary) -> tuple[str, int, str]:
    return (step.stage, step.index, step.instruction)


def registry_for(summary: Summary, facts: BuildFacts = BuildFacts()) -> CollectorRegistry:
    """A registry holding one build's gauges (a fresh registry: nothing global is touched)."""
    registry = CollectorRegistry(auto_describe=True)
    base = ("image",) if facts.image is not None else ()
    extra = (facts.image,) if facts.image is not None else ()
    gauges = {
        name: Gauge(name, doc, [*base, "platform"], registry=registry)
        for name, doc in PLATFORM_METRICS
    }
    ratios = slowdown(summary)
    imports = facts.cache_import_failures or {}
    for p in summary.platforms:
        labels = (*extra, p.platform)
        values = {
            "mab_steps": p.steps,
            "mab_steps_cached": p.cached,
            "mab_steps_executed": p.executed,
            "mab_steps_failed": p.failed,
            "mab_cache_hit_ratio": p.hit_ratio,
            "mab_duration_seconds": p.duration_s,
            "mab_cache_import_failures": imports.get(p.platform, 0),
        }
        if p.platform in ratios:
            values["mab_slowdown_ratio"] = ratios[p.platform]
        for name, value in values.items():
            gauges[name].labels(*labels).set(round(value, 3))
    figures: dict[str, float] = {
        "mab_build_duration_seconds": summary.duration_s,
        "mab_build_succeeded": 1 if summary.status == "succeeded" else 0,
    }
    if facts.finished_at is not None:
        figures["mab_build_timestamp_seconds"] = facts.finished_at
    for name, doc in BUILD_METRICS:
        if name in figures:
            gauge = Gauge(name, doc, list(base), registry=registry)
            (gauge.labels(*extra) if extra else gauge).set(round(figures[name], 3))
    if facts.misses_by_cause is not None:
        misses = Gauge(MISSES[0], MISSES[1], [*base, "platform", "cause"], registry=registry)
        for (platform, cause), count in sorted(facts.misses_by_cause.items()):
            misses.labels(*extra, platform, cause).set(count)
    return registry


def gitlab_report(summary: Summary) -> str:
    """The GitLab metrics report (`artifacts:reports:metrics`): OpenMetrics text, labelled by
    platform only, as it always was."""
    text: bytes = openmetrics_text(registry_for(summary))  # type: ignore[no-untyped-call]
    return text.decode("utf-8")
