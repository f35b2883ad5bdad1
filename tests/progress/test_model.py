"""The build model: platforms through the graph, step states, cache hits, logs."""

from __future__ import annotations

import pytest

from mab.progress.decoder import SolveStatus, StreamDecoder, TextLine, Vertex, VertexLog
from mab.progress.model import (
    LOG_BYTES,
    BuildModel,
    BuildStatus,
    Kind,
    StepState,
    parse_name,
    target_platform,
)
from mab.progress.summary import Summary
from tests.progress.progress_streams import Graph, encode, multi_platform_stream, stamp

BOTH = ("linux/amd64", "linux/arm64")


def model_of(data: bytes, platforms: tuple[str, ...] = BOTH) -> BuildModel:
    model = BuildModel(platforms=platforms)
    decoder = StreamDecoder()
    for event in decoder.feed(data) + decoder.close():
        model.apply(event)
    return model


def by_label(model: BuildModel) -> dict[str, tuple[tuple[str, ...], StepState]]:
    return {f"{v.label} {v.platforms}": (v.platforms, v.state) for v in model.steps()}


def v(digest: str, name: str, *inputs: str, **kw: object) -> SolveStatus:
    """A vertex update; `started` / `completed` in seconds, written as BuildKit writes them."""
    for key in ("started", "completed"):
        if isinstance(kw.get(key), float):
            kw[key] = stamp(kw[key])  # type: ignore[arg-type]
    return SolveStatus(vertexes=(Vertex(digest, tuple(inputs), name, **kw),))  # type: ignore[arg-type]


BASE = "localhost:5000/base/busybox:1"
NAMES = [
    ("[linux/arm64 deps 2/4] RUN ./install.sh", Kind.STEP, "linux/arm64", "deps", 2),
    ("[stage-1 3/4] COPY . .", Kind.STEP, "", "stage-1", 3),
    ("[2/2] RUN true", Kind.STEP, "", "", 2),
    ("[linux/amd64->arm64 builder 2/5] RUN go build", Kind.STEP, "linux/arm64", "builder", 2),
    (f"[linux/arm/v7 app 1/3] FROM {BASE}", Kind.BASE_IMAGE, "linux/arm/v7", "app", 1),
    (f"[linux/arm64 internal] load metadata for {BASE}", Kind.BASE_IMAGE, "linux/arm64", "", 0),
    ("[internal] load build context", Kind.INTERNAL, "", "", 0),
    ("[auth] sharing credentials for localhost:5000", Kind.INTERNAL, "", "", 0),
    ("importing cache manifest from localhost:5000/cache", Kind.CACHE_IMPORT, "", "", 0),
    ("exporting cache to registry", Kind.CACHE_EXPORT, "", "", 0),
    ("writing cache manifest sha256:abc", Kind.CACHE_EXPORT, "", "", 0),
    ("exporting to image", Kind.IMAGE_EXPORT, "", "", 0),
    ("pushing localhost:5000/app:1 with docker", Kind.PUSH, "", "", 0),
    ("something else", Kind.OTHER, "", "", 0),
    # The prefix is read strictly: no platform, no position that is not one.
    ("[linux/amd64 -1/-5] RUN x", Kind.OTHER, "linux/amd64", "", 0),
    ("[-1/-5] RUN x", Kind.OTHER, "", "", 0),
    ("[linux/amd64 5/2] RUN x", Kind.OTHER, "linux/amd64", "", 0),
    ("[evil/x 1/2] RUN x", Kind.STEP, "", "evil/x", 1),
    ("[linux/amd64 linux/arm64 1/2] RUN x", Kind.STEP, "linux/amd64", "linux/arm64", 1),
]


@pytest.mark.parametrize(("name", "kind", "platform", "stage", "index"), NAMES)
def test_parse_name(name: str, kind: Kind, platform: str, stage: str, index: int) -> None:
    parsed = parse_name(name)
    assert (parsed.kind, parsed.platform, parsed.stage, parsed.index) == (
        kind,
        platform,
        stage,
        index,
    )
    if index:
        assert name.endswith("] " + parsed.instruction)


def test_bake_target_prefix() -> None:
    parsed = parse_name("[web linux/amd64 deps 1/2] RUN x")
    assert (parsed.target, parsed.platform, parsed.stage, parsed.index) == (
        "web",
        "linux/amd64",
        "deps",
        1,
    )


def test_target_platform() -> None:
    assert target_platform("linux/amd64->arm64") == "linux/arm64"
    assert target_platform("linux/amd64->arm/v7") == "linux/arm/v7"
    assert target_platform("linux/amd64->windows/amd64") == "windows/amd64"
    assert target_platform("linux/riscv64") == "linux/riscv64"


def test_platforms_flow_through_inputs_and_shared_steps_are_listed_once() -> None:
    model = model_of(multi_platform_stream())
    steps = by_label(model)
    tool = "tools 2/2 RUN make-tool ('linux/amd64', 'linux/arm64')"
    assert steps[tool] == (BOTH, StepState.DONE)
    assert sum("make-tool" in label for label in steps) == 1
    assert steps["deps 4/4 RUN ./install.sh ('linux/arm64',)"] == (("linux/arm64",), StepState.DONE)
    assert steps["deps 4/4 RUN ./install.sh ('linux/amd64',)"][1] is StepState.CACHED
    context = model.view("sha256:ctx")
    assert context is not None
    assert context.platforms == BOTH  # consumed by both platforms' COPY
    wide = [w.name for w in model.build_wide()]
    assert wide == [
        "[internal] load build definition from Dockerfile",
        "importing cache manifest from localhost:5000/cache:main",
        "exporting to image",
        "exporting cache to registry",
    ]
    assert model.platforms() == BOTH


def test_steps_are_ordered_by_stage_then_index() -> None:
    model = model_of(multi_platform_stream())
    order = [(s.stage, s.index) for s in model.steps()]
    assert order == sorted(order, key=lambda x: (["deps", "tools", "app"].index(x[0]), x[1]))


def test_platforms_reach_vertices_that_arrived_before_their_consumers() -> None:
    model = BuildModel()
    model.apply(v("sha256:base", "[internal] load build context"))
    model.apply(v("sha256:mid", "some shared op", "sha256:base"))
    assert model.view("sha256:base").platforms == ()  # type: ignore[union-attr]
    model.apply(v("sha256:a", "[linux/amd64 app 2/2] RUN a", "sha256:mid"))
    model.apply(v("sha256:b", "[linux/arm64 app 2/2] RUN b", "sha256:mid"))
    assert model.view("sha256:base").platforms == BOTH  # type: ignore[union-attr]
    # and when the consumer arrives first, its inputs get their platforms on arrival
    model.apply(v("sha256:c", "[linux/s390x app 2/2] RUN c", "sha256:late"))
    model.apply(v("sha256:late", "[internal] load late"))
    assert model.view("sha256:late").platforms == ("linux/s390x",)  # type: ignore[union-attr]
    assert model.build_wide() == ()


def test_propagation_is_incremental_on_a_long_chain() -> None:
    model = BuildModel()
    n = 20_000
    for i in range(n):
        inputs = (f"sha256:{i - 1}",) if i else ()
        model.apply(v(f"sha256:{i}", f"op {i}", *inputs))
    model.apply(v("sha256:top", "[linux/amd64 app 1/1] RUN x", f"sha256:{n - 1}"))
    model.apply(v("sha256:top2", "[linux/arm64 app 1/1] RUN x", f"sha256:{n - 1}"))
    assert model.view("sha256:0").platforms == BOTH  # type: ignore[union-attr]


def test_single_platform_build() -> None:
    model = BuildModel(platforms=("linux/amd64",))
    model.apply(v("sha256:m", "[internal] load metadata for localhost:5000/base:1"))
    model.apply(
        v("sha256:f", "[1/2] FROM localhost:5000/base:1", started=1.0, completed=1.0, cached=True)
    )
    model.apply(v("sha256:r", "[2/2] RUN make", "sha256:f", started=1.0, completed=3.5))
    model.apply(v("sha256:e", "exporting to image", started=3.5, completed=4.0))
    model.finish(0)
    steps = model.steps()
    assert [(s.label, s.platforms, s.state) for s in steps] == [
        ("1/2 FROM localhost:5000/base:1", ("linux/amd64",), StepState.CACHED),
        ("2/2 RUN make", ("linux/amd64",), StepState.DONE),
    ]
    assert steps[1].duration_s == 2.5
    assert model.view("sha256:m").platforms == ("linux/amd64",)  # type: ignore[union-attr]
    assert [w.name for w in model.build_wide()] == ["exporting to image"]
    summary = Summary.from_model(model).to_json()
    assert summary["platforms"] == {
        "linux/amd64": {
            "steps": 1,
            "cached": 0,
            "executed": 1,
            "failed": 0,
            "canceled": 0,
            "hit_ratio": 0.0,
            "duration_s": 2.5,
        }
    }


def test_cross_compile_stage_counts_for_its_target_platform() -> None:
    model = BuildModel(platforms=BOTH)
    model.apply(
        v("sha256:b1", "[linux/amd64 builder 2/3] RUN go build", started=0.0, completed=2.0)
    )
    model.apply(
        v("sha256:b2", "[linux/amd64->arm64 builder 2/3] RUN go build", started=0.0, completed=3.0)
    )
    model.finish(0)
    assert [s.platforms for s in model.steps()] == [("linux/amd64",), ("linux/arm64",)]
    counts = Summary.from_model(model).to_json()["platforms"]
    assert counts["linux/arm64"]["executed"] == 1  # type: ignore[index]


def test_cached_ancestors_count_as_hits_but_from_does_not() -> None:
    g = Graph()
    f = g.add("sha256:f", "[linux/amd64 deps 1/3] FROM localhost:5000/base:1")
    a = g.add("sha256:a", "[linux/amd64 deps 2/3] COPY go.mod .", f)
    b = g.add("sha256:b", "[linux/amd64 deps 3/3] RUN go mod download", a)
    c = g.add("sha256:c", "[linux/amd64 app 2/2] COPY . .", b)
    # the last step hits the cache: its never-started ancestors are marked cached too
    for d in (b, a, f):
        g.cached(d, 1.0)
    g.run(c, 1.0, 1.5)
    model = model_of(encode(g.objects()))
    model.finish(0)
    counts = Summary.from_model(model).to_json()["platforms"]["linux/amd64"]  # type: ignore[index]
    assert (counts["steps"], counts["cached"], counts["executed"]) == (3, 2, 1)
    assert counts["hit_ratio"] == round(2 / 3, 3)


def test_canceled_steps() -> None:
    model = BuildModel(platforms=BOTH)
    model.apply(
        v(
            "sha256:a",
            "[linux/amd64 app 2/3] RUN sleep 100",
            started=1.0,
            completed=9.0,
            error="context canceled",
        )
    )
    model.apply(v("sha256:b", "[linux/arm64 app 2/3] RUN sleep 100", started=1.0))
    model.apply(v("sha256:c", "[linux/arm64 app 3/3] RUN never"))
    assert [s.state for s in model.steps()] == [
        StepState.CANCELED,
        StepState.RUNNING,
        StepState.PENDING,
    ]
    model.finish(130, canceled=True)
    assert model.status is BuildStatus.CANCELED
    assert [s.state for s in model.steps()] == [
        StepState.CANCELED,
        StepState.CANCELED,
        StepState.PENDING,
    ]
    summary = Summary.from_model(model).to_json()
    assert summary["status"] == "canceled"
    assert summary["error"] is None
    assert summary["platforms"]["linux/arm64"]["canceled"] == 1  # type: ignore[index]


def test_failed_build_error_message_and_log_tail() -> None:
    model = model_of(multi_platform_stream(fail=True))
    model.finish(1)
    failed = model.failed_step()
    assert failed is not None
    assert failed.label == "app 2/2 RUN tool --check"
    error = Summary.from_model(model).to_json()["error"]
    assert error == {
        "message": 'failed to solve: process "/bin/sh -c tool --check" did not complete '
        "successfully: exit code: 1",
        "step": "[linux/arm64] app 2/2 RUN tool --check",
        "log_tail": ["check failed: bad arch"],
    }


def test_progress_group_is_cached_only_if_every_member_is() -> None:
    model = BuildModel(platforms=("linux/amd64",))
    name = "[linux/amd64 app 2/3] COPY --link /src /app"
    model.apply(SolveStatus(vertexes=(
        Vertex("sha256:c1", (), name, stamp(1.0), stamp(1.0), True, "", _group()),
        Vertex("sha256:c2", ("sha256:c1",), "merging", stamp(1.0), stamp(2.0), False, "", _group()),
    )))  # fmt: skip
    (step,) = model.steps()
    assert step.state is StepState.DONE
    assert step.digests == ("sha256:c1", "sha256:c2")
    assert model.view("sha256:c2") is step
    model.apply(
        SolveStatus(
            vertexes=(
                Vertex("sha256:c2", (), "merging", stamp(1.0), stamp(1.0), True, "", _group()),
            )
        )
    )
    assert model.steps()[0].state is StepState.CACHED


def _group():  # type: ignore[no-untyped-def]
    from mab.progress.decoder import ProgressGroup

    return ProgressGroup("pg1", "[linux/amd64 app 2/3] COPY --link /src /app", True)


def test_sub_progress_and_logs_kept_apart_and_bounded() -> None:
    model = BuildModel(platforms=("linux/amd64",))
    model.apply(v("sha256:f", "[linux/amd64 app 1/2] FROM localhost:5000/base:1", started=0.0))
    model.apply(SolveStatus(statuses=(_status("sha256:f", 5, 10),)))
    model.apply(SolveStatus(statuses=(_status("sha256:f", 10, 10),)))
    view = model.view("sha256:f")
    assert view is not None
    assert [(p.current, p.total) for p in view.progress] == [(10, 10)]

    model.apply(v("sha256:r", "[linux/amd64 app 2/2] RUN build", "sha256:f", started=1.0))
    line = b"o" * 99 + b"\n"
    for i in range(2000):
        model.apply(SolveStatus(logs=(VertexLog("sha256:r", 1, line),)))
        if i % 100 == 0:
            model.apply(SolveStatus(logs=(VertexLog("sha256:r", 2, b"err %d\npart" % i),)))
    detail = model.step("sha256:r")
    assert detail is not None
    stdout, stderr = detail.log.stream(1), detail.log.stream(2)
    assert len(stdout) * 100 <= LOG_BYTES
    assert stderr[:2] == ("err 0", "parterr 100")  # not pushed out by stdout
    assert stderr[-1] == "part"  # a line not ended yet
    assert detail.log.partial == 1
    assert detail.log.dropped == 2000 + 20 - (len(detail.log.lines) - 1)
    assert detail.step.log_lines == 2020


def _status(digest: str, current: int, total: int):  # type: ignore[no-untyped-def]
    from mab.progress.decoder import VertexStatus

    return VertexStatus("extracting sha256:1", digest, "extracting sha256:1", current, total)


def test_version_and_cheap_reads() -> None:
    model = BuildModel()
    before = model.version
    model.apply(v("sha256:a", "[linux/amd64 app 1/1] RUN x"))
    assert model.version > before
    first = model.steps()
    assert model.steps() is first  # nothing changed: the same tuple
    assert model.changed_steps() == ["sha256:a"]
    assert model.changed_steps() == []
    model.apply(TextLine("ERROR: failed to solve: boom"))
    assert model.error_text == ["ERROR: failed to solve: boom"]
    assert model.step("sha256:nope") is None


def test_many_events() -> None:
    g = Graph()
    prev = ()
    for i in range(1, 51):
        for p in BOTH:
            g.add(f"sha256:{p}{i}", f"[{p} app {i}/50] RUN step {i}", *prev)
    model = BuildModel(platforms=BOTH)
    for node in g.vertices.values():
        model.apply(SolveStatus(vertexes=(Vertex(node["digest"], (), node["name"]),)))
    logs = tuple(VertexLog(f"sha256:linux/amd64{i % 50 + 1}", 1, b"line\n") for i in range(1))
    for i in range(100_000):
        model.apply(
            SolveStatus(logs=logs)
            if i % 2
            else v(f"sha256:linux/arm64{i % 50 + 1}", "", started=float(i))
        )
    assert len(model.steps()) == 100


def test_a_failed_cache_import_is_not_the_failure() -> None:
    model = BuildModel(platforms=("linux/amd64",))
    model.apply(v("sha256:i", "importing cache manifest from localhost:5000/c", started=0.0,
                  completed=0.1, error="localhost:5000/c: not found"))  # fmt: skip
    assert model.failed_step() is None
    model.apply(v("sha256:p", "pushing localhost:5000/app:1 with docker", started=5.0,
                  completed=6.0, error="unexpected status: 401 Unauthorized"))  # fmt: skip
    failed = model.failed_step()
    assert failed is not None
    assert failed.kind is Kind.PUSH
    model.apply(v("sha256:r", "[linux/amd64 app 2/2] RUN make", started=1.0, completed=2.0,
                  error="exit code: 2"))  # fmt: skip
    failed = model.failed_step()
    assert failed is not None
    assert failed.label == "app 2/2 RUN make"


def test_a_recording_names_the_platforms_a_single_platform_stream_does_not() -> None:
    from pathlib import Path

    from mab.progress.decoder import StreamDecoder
    from mab.progress.model import record_header

    stream = (Path(__file__).parent.parent / "fixtures/streams/single.rawjson").read_bytes()
    for data, expected in (
        (stream, ()),
        (record_header(("linux/arm64",)) + stream, ("linux/arm64",)),
    ):
        model = BuildModel()
        decoder = StreamDecoder()
        for event in decoder.feed(data) + decoder.close():
            model.apply(event)
        assert model.platforms() == expected
        steps = [s for s in model.steps() if s.is_instruction]
        assert steps and all(s.platforms == expected for s in steps)
        assert not any(line.startswith("# mab") for line in model.text)
