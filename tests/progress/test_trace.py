"""The Chrome trace of every recorded stream, read back and held to the trace-event format's
rules, and to the build summary's figures; the timeline's lanes and the merged runs under it."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mab.progress.model import Kind, StepState
from mab.progress.replay import model_of_recording
from mab.progress.steps import merged_length, merged_runs
from mab.progress.summary import Summary
from mab.progress.timeline import Bar, lanes, timeline_of
from mab.progress.trace import trace_json

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"
RECORDINGS = sorted(p.name for p in STREAMS.glob("*.rawjson"))
PHASES = {"X", "B", "E", "i", "I", "M", "C"}


def validate(doc: dict[str, Any]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """The format's rules (the JSON Object Format of the Trace Event Format document): every
    event has a phase, pid, and for timed ones a numeric ts; B/E balance per thread; complete
    slices have a non-negative dur and nest within their thread; timestamps never go back on a
    thread; every process with events is named. Returns the slices by (pid, tid)."""
    assert isinstance(doc["traceEvents"], list)
    named: dict[int, str] = {}
    last: dict[tuple[int, int], float] = {}
    stacks: dict[tuple[int, int], list[str]] = defaultdict(list)
    slices: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for e in doc["traceEvents"]:
        assert e["ph"] in PHASES, e
        assert isinstance(e["pid"], int)
        if e["ph"] == "M":
            if e["name"] == "process_name":
                named[e["pid"]] = e["args"]["name"]
            continue
        track = (e["pid"], e.get("tid", 0))
        ts = e["ts"]
        assert isinstance(ts, int | float) and ts >= 0, e
        assert ts >= last.get(track, 0.0), f"time went back on {track}: {e}"
        last[track] = ts
        if e["ph"] == "B":
            stacks[track].append(e["name"])
        elif e["ph"] == "E":
            assert stacks[track], f"E without B on {track}"
            stacks[track].pop()
        elif e["ph"] == "X":
            assert e["dur"] >= 0 and isinstance(e["name"], str) and e["name"]
            slices[track].append(e)
    assert not any(stacks.values()), "unbalanced B/E"
    for track, found in slices.items():
        assert track[0] in named, f"process {track[0]} has no name"
        open_ends: list[float] = []
        for e in found:  # in ts order: each slice ends before or inside the one it starts in
            while open_ends and open_ends[-1] <= e["ts"]:
                open_ends.pop()
            end = e["ts"] + e["dur"]
            assert not open_ends or end <= open_ends[-1] + 1e-3, f"overlap on {track}: {e}"
            open_ends.append(end)
    return slices


def load(name: str) -> tuple[Summary, dict[str, Any], Any]:
    model = model_of_recording(name, (STREAMS / name).read_bytes(), "linux/amd64")
    summary = Summary.from_model(model)
    doc = json.loads(trace_json(timeline_of(model, summary)))
    return summary, doc, model


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recording_makes_a_valid_trace_that_adds_up(name: str) -> None:
    summary, doc, _ = load(name)
    slices = validate(doc)
    names = {e["pid"]: e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "process_name"}
    pid_of = {v: k for k, v in names.items()}
    assert [p.platform for p in summary.platforms] == [
        names[pid] for pid in sorted(names) if names[pid] not in ("build-wide", "build")
    ]
    for platform in summary.platforms:
        pid = pid_of[platform.platform]
        mine = [e for (p, tid), es in slices.items() if p == pid and tid > 0 for e in es]
        steps = [e for e in mine if e["args"].get("dockerfile_step")]
        closed = sum(e["dur"] for e in steps if not e["args"].get("open")) / 1e6
        expected = sum(
            s.duration_s or 0.0 for s in summary.steps if platform.platform in s.platforms
        )
        assert closed == pytest.approx(expected, abs=1e-3 * max(1, len(steps)))
        span = slices.get((pid, 0), [])
        total = span[0]["dur"] / 1e6 if span else 0.0
        assert total == pytest.approx(platform.duration_s, abs=1e-3)
        assert all(e["args"]["platform"] == platform.platform for e in mine)


def test_a_failed_step_is_marked() -> None:
    _, doc, _ = load("fail.rawjson")
    failed = [e for e in doc["traceEvents"] if e.get("args", {}).get("state") == "error"]
    assert failed and all(e["cname"] == "terrible" for e in failed)
    marks = [e for e in doc["traceEvents"] if e["ph"] == "i" and e["name"].startswith("failed:")]
    assert [m["name"] for m in marks] == [f"failed: {e['name']}" for e in failed]
    assert doc["otherData"]["status"] == "failed"


def test_a_canceled_build_is_marked() -> None:
    _, doc, _ = load("cancel.rawjson")
    mark = [e for e in doc["traceEvents"] if e["name"] == "build canceled"]
    assert len(mark) == 1 and mark[0]["s"] == "g"
    canceled = [e for e in doc["traceEvents"] if e.get("args", {}).get("state") == "canceled"]
    assert canceled  # the steps cut off by the cancel
    end = max(e["ts"] + e.get("dur", 0) for e in doc["traceEvents"] if e["ph"] == "X")
    assert mark[0]["ts"] == pytest.approx(end, abs=1)


def test_build_wide_vertices_have_their_own_process() -> None:
    _, doc, _ = load("cold-multi.rawjson")
    names = {e["pid"]: e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "process_name"}
    wide = next(pid for pid, n in names.items() if n == "build-wide")
    cats = {e["cat"] for e in doc["traceEvents"] if e["ph"] == "X" and e["pid"] == wide}
    assert {"cache_import", "cache_export"} <= cats


def test_why_missed_goes_into_the_slices() -> None:
    model = model_of_recording("x", (STREAMS / "cold-multi.rawjson").read_bytes())
    summary = Summary.from_model(model)
    why = {"cause": "sources_changed", "detail": "deps.lock changed"}
    steps = tuple(
        replace(s, why={p: why for p in s.platforms})
        if s.instruction.startswith("COPY deps")
        else s
        for s in summary.steps
    )
    doc = json.loads(trace_json(timeline_of(model, replace(summary, steps=steps))))
    marked = [e for e in doc["traceEvents"] if e.get("args", {}).get("why")]
    assert {e["args"]["platform"] for e in marked} == {"linux/amd64", "linux/arm64"}
    assert all(e["args"]["why_detail"] == "deps.lock changed" for e in marked)
    assert all("COPY deps.lock" in e["name"] for e in marked)


def bar(start: float, end: float) -> Bar:
    return Bar(f"{start}", "", Kind.STEP, "p", "", StepState.DONE, start, end)


def test_lanes_never_overlap_and_are_as_few_as_the_overlap_needs() -> None:
    bars = [bar(0, 5), bar(1, 2), bar(2, 3), bar(1.5, 4), bar(5, 6), bar(3, 3)]
    placed, count = lanes(bars)
    assert count == 3  # at 1.5..2 three run at once
    by_lane = defaultdict(list)
    for b in placed:
        by_lane[b.lane].append(b)
    for runs in by_lane.values():
        assert all(a.end <= b.start for a, b in itertools.pairwise(runs))


def test_merged_runs_drop_a_finished_vertexs_unended_repeat_and_keep_an_open_one() -> None:
    runs = [(1.0, 2.0), (1.5, 3.0), (5.0, 6.0), (5.0, None)]
    assert merged_runs(runs, finished=True) == ((1.0, 3.0), (5.0, 6.0))
    assert sum(b - a for a, b in merged_runs(runs, True)) == merged_length(  # type: ignore[operator]
        [(a, b) for a, b in runs if b is not None]
    )
    assert merged_runs([(1.0, 2.0), (4.0, None)], finished=False) == ((1.0, 2.0), (4.0, None))


def test_a_slice_that_ends_where_the_next_begins_ends_exactly_there() -> None:
    """Timestamps are whole microseconds: touching runs on one lane never overlap by a rounding
    error (7622800.825 µs + 5006.508 µs in floats did)."""
    from mab.progress.timeline import Timeline, Track
    from mab.progress.trace import trace_events

    runs = [bar(7.622800825, 7.627807333), bar(7.627807333, 8.0)]
    placed, count = lanes(runs)
    timeline = Timeline(0.0, 0.0, 8.0, "succeeded", (Track("p", placed, count, (7.6, 8.0)),))
    doc = trace_events(timeline)
    validate(doc)
    first, second = [e for e in doc["traceEvents"] if e["ph"] == "X" and e["tid"] == 1]
    assert first["ts"] + first["dur"] == second["ts"]
