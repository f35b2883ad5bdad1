"""mab.metrics.build: one build's gauges, parsed back with prometheus-client's own parser and
checked with `promtool check metrics` (Debian's prometheus package) when it is installed."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from mab.metrics.build import BuildFacts, gitlab_report, misses_by_cause, registry_for, slowdown
from mab.progress.model import StepState
from mab.progress.summary import StepSummary, Summary
from tests.actions.cases import AMD, ARM, CASES

IMAGE = "localhost:5000/acme/app"
FACTS = BuildFacts(
    image=IMAGE,
    finished_at=1_700_000_000.0,
    cache_import_failures={ARM: 1},
    misses_by_cause={(ARM, "source-changed"): 1, (ARM, "parent-missed"): 2},
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in parse_text(text)
        for s in family.samples
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_platform_figure_matches_the_summary(case: str) -> None:
    summary = CASES[case]()
    got = samples(generate_latest(registry_for(summary, FACTS)).decode())
    for p in summary.platforms:
        labels = (("image", IMAGE), ("platform", p.platform))
        assert got[("mab_steps", labels)] == p.steps
        assert got[("mab_steps_cached", labels)] == p.cached
        assert got[("mab_steps_executed", labels)] == p.executed
        assert got[("mab_steps_failed", labels)] == p.failed
        assert got[("mab_cache_hit_ratio", labels)] == round(p.hit_ratio, 3)
        assert got[("mab_duration_seconds", labels)] == round(p.duration_s, 3)
    succeeded = 1.0 if summary.status == "succeeded" else 0.0
    assert got[("mab_build_succeeded", (("image", IMAGE),))] == succeeded
    assert got[("mab_build_timestamp_seconds", (("image", IMAGE),))] == FACTS.finished_at


def test_misses_by_cause_and_import_failures_are_labelled_by_platform() -> None:
    got = samples(generate_latest(registry_for(CASES["failure"](), FACTS)).decode())
    cause = (("cause", "parent-missed"), ("image", IMAGE), ("platform", ARM))
    assert got[("mab_misses", cause)] == 2
    assert got[("mab_cache_import_failures", (("image", IMAGE), ("platform", ARM)))] == 1
    assert got[("mab_cache_import_failures", (("image", IMAGE), ("platform", AMD)))] == 0


def test_labels_stay_bounded() -> None:
    """No step names, digests, commits or build ids: only these label names ever appear."""
    text = generate_latest(registry_for(CASES["success"](), FACTS)).decode()
    names = {k for family in parse_text(text) for s in family.samples for k in s.labels}
    assert names <= {"image", "platform", "cause"}


def _step(platform: str, index: int, state: StepState, seconds: float | None) -> StepSummary:
    return StepSummary((platform,), "app", index, 3, f"RUN step {index}", state, seconds)


def test_slowdown_counts_only_steps_every_platform_finished() -> None:
    """arm64 ran both steps 4x slower; amd64's second step was canceled after 50 s, which
    must not make amd64 look slow."""
    base = CASES["success"]()
    steps = (
        _step(AMD, 1, StepState.DONE, 2.0),
        _step(ARM, 1, StepState.DONE, 8.0),
        _step(AMD, 2, StepState.CANCELED, 50.0),
        _step(ARM, 2, StepState.DONE, 20.0),
    )
    summary = Summary(base.status, 60.0, base.platforms, steps, (), None)
    assert slowdown(summary) == {AMD: 1.0, ARM: 4.0}


def test_no_slowdown_for_one_platform_or_nothing_in_common() -> None:
    base = CASES["success"]()
    one = (_step(AMD, 1, StepState.DONE, 2.0),)
    assert slowdown(Summary(base.status, 1.0, base.platforms[:1], one, (), None)) == {}
    apart = (_step(AMD, 1, StepState.DONE, 2.0), _step(ARM, 2, StepState.DONE, 3.0))
    assert slowdown(Summary(base.status, 1.0, base.platforms, apart, (), None)) == {}


def test_gitlab_report_is_openmetrics_labelled_by_platform_only() -> None:
    text = gitlab_report(CASES["success"]())
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in parse_om(text)}
    assert {"mab_steps", "mab_cache_hit_ratio", "mab_build_succeeded"} <= set(families)
    assert "mab_build_timestamp_seconds" not in families
    labels = {k for f in families.values() for s in f.samples for k in s.labels}
    assert labels == {"platform"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_exposition() -> None:
    text = generate_latest(registry_for(CASES["failure"](), FACTS))
    done = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_misses_by_cause_counts_each_platforms_first_causes() -> None:
    base = CASES["success"]()
    why_src = {"cause": "source_changed", "detail": "src/app.py changed"}
    why_parent = {"cause": "parent_missed", "detail": "after src 1/2"}
    steps = (
        replace(_step(AMD, 1, StepState.DONE, 1.0), why={AMD: why_src}),
        replace(_step(AMD, 2, StepState.DONE, 1.0), why={AMD: why_parent}),
        replace(_step(ARM, 1, StepState.DONE, 1.0), why={ARM: why_src}),
        _step(ARM, 2, StepState.CACHED, None),
    )
    summary = Summary(base.status, 1.0, base.platforms, steps, (), None)
    assert misses_by_cause(summary) == {
        (AMD, "source_changed"): 1,
        (AMD, "parent_missed"): 1,
        (ARM, "source_changed"): 1,
    }
