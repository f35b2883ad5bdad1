"""The Grafana dashboard shipped with mab: valid JSON, and every query names metrics mab
exports (checked against what the collectors really expose, not against a list)."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mab.metrics.build import BuildFacts, registry_for
from mab.metrics.history import HistoryCollector, Misses, PlatformBuild
from tests.actions.cases import CASES


def dashboard() -> dict[str, Any]:
    text = resources.files("mab.metrics").joinpath("grafana-dashboard.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def exported_names() -> set[str]:
    facts = BuildFacts(image="a/b", finished_at=1.0, misses_by_cause={("linux/amd64", "x"): 1})
    text = "".join(generate_latest(registry_for(CASES[case](), facts)).decode() for case in CASES)

    class Source:
        def platform_builds(self) -> list[PlatformBuild]:
            return [PlatformBuild("a/b", "linux/amd64", 1.0, "succeeded", 4, 2, 3.0)]

        def misses(self) -> list[Misses]:
            return [Misses("a/b", "linux/amd64", "x", 2)]

    history = CollectorRegistry()
    history.register(HistoryCollector(Source(), clock=lambda: 2.0))
    text += generate_latest(history).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def expressions(data: dict[str, Any]) -> list[str]:
    found = [t["expr"] for p in data["panels"] for t in p.get("targets", [])]
    found += [
        v["query"]["query"]
        for v in data["templating"]["list"]
        if "query" in v and isinstance(v["query"], dict)
    ]
    return found


def test_every_query_names_only_exported_metrics() -> None:
    exported = exported_names()
    exprs = expressions(dashboard())
    assert len(exprs) >= 10
    for expr in exprs:
        names = set(re.findall(r"\bmab_[a-z_]+\b", expr))
        assert names, f"no mab metric in {expr!r}"
        assert names <= exported, f"{expr!r} names {sorted(names - exported)}"


def test_hit_ratio_duration_and_misses_by_cause_are_shown() -> None:
    exprs = " ".join(expressions(dashboard()))
    for needed in ("mab_cache_hit_ratio", "mab_duration_seconds", "mab_misses", "platform"):
        assert needed in exprs


def test_panels_have_unique_ids_and_use_the_datasource_variable() -> None:
    data = dashboard()
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))
    for p in data["panels"]:
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}"
