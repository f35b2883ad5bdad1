"""A build in the Chrome trace-event format (Perfetto, chrome://tracing, speedscope). Pure.

    {"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}

One process per platform (named by `process_name` metadata events, in the build's platform
order), then one for the build-wide vertices (cache import and export, image export, push).
Thread 0 of a platform holds one slice over the platform's time as the summary counts it; each
further thread is one lane of the timeline (`mab.progress.timeline`): the steps that ran at the
same time. Each run of a step is a complete slice (`ph: X`, microseconds from the first start
seen, whole) named by its instruction, with its cache state, stage, platform and why-missed cause as
arguments. A failed step ends in an instant event `failed`, a canceled build in a global one.
"""

from __future__ import annotations

import json
from typing import Any

from mab.progress.steps import StepState
from mab.progress.timeline import Bar, Timeline, Track

__all__ = ["trace_events", "trace_json"]

US = 1_000_000.0
# Chrome's trace viewer's reserved colour names; Perfetto picks its own.
_COLOURS = {
    StepState.CACHED: "good",
    StepState.ERROR: "terrible",
    StepState.CANCELED: "bad",
    StepState.RUNNING: "yellow",
}


def _us(seconds: float) -> int:
    """Whole microseconds: a slice that ends where the next begins ends exactly there."""
    return round(seconds * US)


def _meta(pid: int, tid: int | None, name: str, value: object) -> dict[str, Any]:
    event: dict[str, Any] = {"ph": "M", "pid": pid, "name": name, "args": {}}
    if tid is not None:
        event["tid"] = tid
    event["args"]["sort_index" if name.endswith("sort_index") else "name"] = value
    return event


def _slice(bar: Bar, pid: int) -> dict[str, Any]:
    args: dict[str, Any] = {"state": str(bar.state), "platform": bar.platform or None}
    if bar.stage:
        args["stage"] = bar.stage
    args["instruction"] = bar.instruction
    if bar.why:
        args["why"] = bar.why.get("cause", "")
        args["why_detail"] = bar.why.get("detail", "")
    if bar.counted:
        args["dockerfile_step"] = True  # what the summary lists and times
    if bar.open:
        args["open"] = True  # still running when the stream ended: cut at its end
    event: dict[str, Any] = {
        "ph": "X",
        "name": bar.label,
        "cat": str(bar.kind),
        "ts": _us(bar.start),
        "dur": _us(bar.end) - _us(bar.start),
        "pid": pid,
        "tid": bar.lane + 1,
        "args": args,
    }
    if bar.state in _COLOURS:
        event["cname"] = _COLOURS[bar.state]
    return event


def _track(track: Track, pid: int) -> list[dict[str, Any]]:
    out = [
        _meta(pid, None, "process_name", track.name),
        _meta(pid, None, "process_sort_index", pid),
    ]
    if track.span is not None:
        out += [_meta(pid, 0, "thread_name", "platform"), _meta(pid, 0, "thread_sort_index", 0)]
        start, end = track.span
        out.append(
            {
                "ph": "X",
                "name": track.name,
                "cat": "platform",
                "ts": _us(start),
                "dur": _us(end) - _us(start),
                "pid": pid,
                "tid": 0,
                "args": {"steps": len(track.steps)},
            }
        )
    for lane in range(track.lanes):
        out.append(_meta(pid, lane + 1, "thread_name", f"lane {lane + 1}"))
        out.append(_meta(pid, lane + 1, "thread_sort_index", lane + 1))
    for bar in track.bars:  # by lane then start: each thread's events in time order
        out.append(_slice(bar, pid))
        if bar.state is StepState.ERROR:
            out.append(
                {
                    "ph": "i",
                    "s": "t",
                    "name": f"failed: {bar.label}",
                    "ts": _us(bar.end),
                    "pid": pid,
                    "tid": bar.lane + 1,
                }
            )
    return out


def trace_events(timeline: Timeline) -> dict[str, Any]:
    """The trace document of a timeline."""
    events: list[dict[str, Any]] = []
    for pid, track in enumerate(timeline.tracks, start=1):
        events += _track(track, pid)
    if timeline.status == "canceled":
        events.append(
            {"ph": "i", "s": "g", "name": "build canceled", "ts": _us(timeline.end), "pid": 0}
        )
        events.insert(0, _meta(0, None, "process_name", "build"))
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "status": timeline.status,
            "origin_epoch_s": round(timeline.origin, 6),
            "build_start_us": _us(timeline.build_start),
            "platforms": [t.platform for t in timeline.platform_tracks],
        },
    }


def trace_json(timeline: Timeline) -> str:
    return json.dumps(trace_events(timeline), separators=(",", ":"), ensure_ascii=False) + "\n"
