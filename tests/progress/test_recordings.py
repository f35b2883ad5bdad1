"""The model against real buildx recordings: what `--progress=plain` of the same build says.

Each `tests/fixtures/streams/<name>.rawjson` has a `.plain.txt` twin recorded from the same
cache state. Plain prints `#N [linux/arm64 deps 2/4] RUN ...` then `#N CACHED`, `#N DONE 1.2s`,
`#N ERROR: ...` or `#N CANCELED`. One known difference: a step restored from a registry cache
is `cached` in rawjson, while plain shows its layer being extracted and then `DONE`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel, BuildStatus, Kind, StepState, parse_name
from mab.progress.summary import Summary, render_markdown, render_table

STREAMS = Path(__file__).parent.parent / "fixtures" / "streams"
NAMES = sorted(p.stem for p in STREAMS.glob("*.rawjson"))
pytestmark = pytest.mark.skipif(not NAMES, reason="no recorded streams")


@dataclass
class Plain:
    name: str
    state: str = "pending"
    restored: bool = False  # CACHED at some point, or layers fetched/extracted


def parse_plain(text: str) -> dict[int, Plain]:
    vertices: dict[int, Plain] = {}
    for line in text.splitlines():
        m = re.match(r"#(\d+) (.*)", line)
        if not m:
            continue
        n, rest = int(m.group(1)), m.group(2)
        if n not in vertices:
            vertices[n] = Plain(rest)
        elif rest == "CACHED":
            vertices[n].state = "cached"
            vertices[n].restored = True
        elif re.fullmatch(r"DONE \d+\.\d+s", rest):
            vertices[n].state = "done"
        elif rest.startswith("ERROR"):
            vertices[n].state = "error"
        elif rest == "CANCELED":
            vertices[n].state = "canceled"
        elif re.match(r"(extracting )?sha256:[0-9a-f]{64} ", rest):
            vertices[n].restored = True
    return vertices


@dataclass
class Recording:
    name: str
    platforms: tuple[str, ...]
    exit_code: int
    model: BuildModel
    plain: dict[int, Plain]


def record(name: str) -> Recording:
    cmd = (STREAMS / f"{name}.cmd").read_text()
    m = re.search(r"--platform (\S+)", cmd)
    platforms = tuple(m.group(1).split(",")) if m else ()
    code = re.search(r"--progress=rawjson: .*; exit (\d+);", cmd)
    exit_code = int(code.group(1)) if code else 0
    model = BuildModel(platforms=platforms)
    decoder = StreamDecoder()
    data = (STREAMS / f"{name}.rawjson").read_bytes()
    for at in range(0, len(data), 4096):
        for event in decoder.feed(data[at : at + 4096]):
            model.apply(event)
    for event in decoder.close():
        model.apply(event)
    model.finish(exit_code, canceled=name == "cancel")
    plain = parse_plain((STREAMS / f"{name}.plain.txt").read_text())
    return Recording(name, platforms, exit_code, model, plain)


def plain_steps(rec: Recording) -> dict[str, Plain]:
    """Plain's Dockerfile instructions, FROM left out: which name a FROM gets is the first
    of the stages sharing it, and differs between two runs of the same build."""
    return {p.name: p for p in rec.plain.values() if parse_name(p.name).kind is Kind.STEP}


@pytest.mark.parametrize("name", [n for n in NAMES if n != "cancel"])
def test_step_states_match_plain_output(name: str) -> None:
    rec = record(name)
    views = {v.name: v for v in rec.model.steps() if v.kind is Kind.STEP}
    expected = plain_steps(rec)
    assert set(views) == set(expected)
    for step_name, plain in expected.items():
        state = views[step_name].state
        if plain.state == "done" and plain.restored and state is StepState.CACHED:
            continue  # restored from the registry cache: cached in rawjson, DONE in plain
        assert str(state) == plain.state, step_name


@pytest.mark.parametrize("name", [n for n in NAMES if n != "cancel"])
def test_platform_counts_match_plain_output(name: str) -> None:
    """Counts per platform from plain's states, over the platforms the model attributes."""
    rec = record(name)
    views = {v.name: v for v in rec.model.steps()}
    expected: dict[str, Counter[str]] = {p: Counter() for p in rec.model.platforms()}
    for step_name, plain in plain_steps(rec).items():
        view = views[step_name]
        if view.kind is not Kind.STEP:
            continue
        state = plain.state
        if state == "done" and plain.restored and view.state is StepState.CACHED:
            state = "cached"
        for platform in view.platforms:
            expected[platform][state] += 1
            expected[platform]["steps"] += 1
    counts = Summary.from_model(rec.model).to_json()["platforms"]
    for platform, c in expected.items():
        got = counts[platform]
        assert (got["steps"], got["cached"], got["executed"], got["failed"]) == (
            c["steps"],
            c["cached"],
            c["done"],
            c["error"],
        ), platform


@pytest.mark.parametrize("name", NAMES)
def test_platforms_from_names_and_graph(name: str) -> None:
    rec = record(name)
    assert rec.model.platforms() == rec.platforms
    for view in rec.model.steps():
        prefix = parse_name(view.name).platform or rec.platforms[0]
        assert prefix in view.platforms, view.name
        if name != "cross":  # only the cross build shares steps between platforms
            assert view.platforms == (prefix,), view.name


def test_cross_compile_recording() -> None:
    rec = record("cross")
    steps = {(v.stage, v.index, v.platforms) for v in rec.model.steps()}
    both = ("linux/amd64", "linux/arm64")
    # the $BUILDPLATFORM stage is shared up to the step that depends on TARGETARCH
    assert {("build", 2, both), ("build", 3, both)} <= steps
    assert {("build", 4, ("linux/amd64",)), ("build", 4, ("linux/arm64",))} <= steps


def test_steps_come_in_build_order() -> None:
    rec = record("cold-multi")
    stages = list(dict.fromkeys(v.stage for v in rec.model.steps() if v.stage))
    assert stages.index("base") < stages.index("deps") < stages.index("final")
    assert stages.index("src") < stages.index("final")


def test_warm_build_is_all_cache_hits() -> None:
    counts = Summary.from_model(record("warm-multi").model).to_json()["platforms"]
    for platform in ("linux/amd64", "linux/arm64"):
        assert counts[platform]["hit_ratio"] == 1.0
        assert counts[platform]["executed"] == 0


def test_pruned_runner_restores_deps_from_the_registry() -> None:
    rec = record("pruned-multi")
    deps = [v for v in rec.model.steps() if v.stage == "deps"]
    assert deps
    assert all(v.state is StepState.CACHED for v in deps)
    summary = Summary.from_model(rec.model).to_json()
    for platform in ("linux/amd64", "linux/arm64"):
        miss = summary["first_miss"][platform]
        assert miss is not None
        assert miss["stage"] in ("src", "final")


def test_failed_recording() -> None:
    rec = record("fail")
    summary = Summary.from_model(rec.model)
    assert summary.status == "failed"
    assert summary.error is not None
    assert summary.error.message.startswith("failed to solve: process")
    assert summary.error.step is not None
    assert "FAIL: /app/vendor does not exist" in summary.error.log_tail
    assert "FAIL: /app/vendor does not exist" in render_markdown(summary)
    assert "Failed:" in render_table(summary)


def test_canceled_recording() -> None:
    rec = record("cancel")
    assert rec.model.status is BuildStatus.CANCELED
    states = Counter(v.state for v in rec.model.steps())
    assert states[StepState.CANCELED] >= 1
    assert states[StepState.RUNNING] == 0  # nothing left running once the build is over
    plain_canceled = sum(p.state == "canceled" for p in plain_steps(rec).values())
    assert plain_canceled >= 1
    summary = Summary.from_model(rec.model).to_json()
    assert summary["status"] == "canceled"
    assert summary["error"] is None


def test_many_log_lines_recording() -> None:
    rec = record("loglines")
    (noisy,) = [v for v in rec.model.steps() if v.log_lines > 10_000]
    detail = rec.model.step(noisy.key)
    assert detail is not None
    assert noisy.log_lines >= 20_000  # of 30000: BuildKit clips logs at 200 KiB/s
    assert detail.log.dropped > 0
    assert detail.log.stream(2)  # stderr kept apart, not pushed out by stdout
    assert len(detail.log.stream(1)) <= 500


def test_pretty_recording_reads_the_same_compacted() -> None:
    """buildx 0.13 pretty-prints; newer buildx writes compact lines: the model is the same."""
    import json

    data = (STREAMS / "cold-multi.rawjson").read_bytes()
    objects = [json.loads(chunk + b"\n}") for chunk in data.split(b"\n}\n") if chunk.strip()]
    compact = b"".join(json.dumps(o, separators=(",", ":")).encode() + b"\n" for o in objects)
    models = []
    for stream in (data, compact):
        model = BuildModel(platforms=("linux/amd64", "linux/arm64"))
        decoder = StreamDecoder()
        for event in decoder.feed(stream) + decoder.close():
            model.apply(event)
        model.finish(0)
        models.append(Summary.from_model(model).to_json())
    assert models[0] == models[1]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([n for n in NAMES if n != "loglines"]), st.data())
def test_any_chunking_of_a_recording_gives_the_same_events(name: str, data: st.DataObject) -> None:
    stream = (STREAMS / f"{name}.rawjson").read_bytes()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=80)))
    whole = StreamDecoder()
    expected = whole.feed(stream) + whole.close()
    chunked = StreamDecoder()
    events = []
    last = 0
    for cut in [*cuts, len(stream)]:
        events += chunked.feed(stream[last:cut])
        last = cut
    assert events + chunked.close() == expected
    assert whole.stats.skipped_objects == 0
