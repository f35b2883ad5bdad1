"""Summaries: the documented JSON shape, and golden table and Markdown renderings."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel
from mab.progress.plain import PlainPrinter
from mab.progress.summary import Summary, render_markdown, render_table
from tests.golden import assert_golden
from tests.progress.progress_streams import encode, multi_platform_stream, vertex

GOLDEN = Path(__file__).parent / "golden"
BOTH = ("linux/amd64", "linux/arm64")


def build(fail: bool, printer_logs: bool | None = None) -> tuple[Summary, str]:
    model = BuildModel(platforms=BOTH)
    out = io.StringIO()
    printer = PlainPrinter(model, out.write, logs=bool(printer_logs))
    decoder = StreamDecoder()
    for event in decoder.feed(multi_platform_stream(pretty=True, fail=fail)) + decoder.close():
        model.apply(event)
        printer.update()
    model.finish(1 if fail else 0)
    summary = Summary.from_model(model)
    printer.finish(summary)
    return summary, out.getvalue()


def check_golden(name: str, text: str) -> None:
    assert_golden(GOLDEN / name, text)


def test_json_shape() -> None:
    data = build(fail=False)[0].to_json()
    assert set(data) == {"status", "duration_s", "platforms", "steps", "error"} | {
        "slowest",
        "first_miss",
        "platform_inferred",
        "cache_export",
    }
    assert data["cache_export"]["linux/amd64,linux/arm64"]["status"] == "exported"
    assert data["platform_inferred"] is False  # the stream names both platforms
    assert data["status"] == "succeeded"
    assert data["duration_s"] == 7.5
    assert data["error"] is None
    assert data["platforms"] == {
        "linux/amd64": {
            "steps": 6,
            "cached": 3,
            "executed": 3,
            "failed": 0,
            "canceled": 0,
            "hit_ratio": 0.5,
            "duration_s": 1.7,
        },
        "linux/arm64": {
            "steps": 6,
            "cached": 0,
            "executed": 6,
            "failed": 0,
            "canceled": 0,
            "hit_ratio": 0.0,
            "duration_s": 5.2,
        },
    }
    step = data["steps"][7]
    assert step == {
        "platforms": ["linux/arm64"],
        "stage": "deps",
        "index": 4,
        "total": 4,
        "instruction": "RUN ./install.sh",
        "state": "done",
        "duration_s": 4.0,
    }
    assert data["first_miss"]["linux/amd64"]["instruction"] == "RUN make-tool"
    assert data["slowest"][0]["instruction"] == "RUN ./install.sh"


def test_failed_json_error() -> None:
    data = build(fail=True)[0].to_json()
    assert data["status"] == "failed"
    assert data["error"]["step"] == "[linux/arm64] app 2/2 RUN tool --check"
    assert data["error"]["log_tail"] == ["check failed: bad arch"]
    assert data["platforms"]["linux/arm64"]["failed"] == 1


@pytest.mark.parametrize("fail", [False, True], ids=["succeeded", "failed"])
def test_golden_table_and_markdown(fail: bool) -> None:
    summary, _ = build(fail)
    name = "failed" if fail else "succeeded"
    check_golden(f"{name}.table.txt", render_table(summary))
    check_golden(f"{name}.md", render_markdown(summary))


@pytest.mark.parametrize("logs", [False, True], ids=["plain", "with-logs"])
def test_golden_plain_output(logs: bool) -> None:
    _, printed = build(fail=True, printer_logs=logs)
    check_golden(f"failed.plain{'-logs' if logs else ''}.txt", printed)


def test_markdown_survives_pipes_and_backticks() -> None:
    model = BuildModel(platforms=("linux/amd64",))
    decoder = StreamDecoder()
    stream = (
        b'{"vertexes":[{"digest":"sha256:a","name":"[linux/amd64 app 2/2] RUN echo `a|b` ```",'
        b'"started":"2024-01-01T00:00:00Z","completed":"2024-01-01T00:00:02Z",'
        b'"error":"exit code: 1"}]}\n'
        b'{"logs":[{"vertex":"sha256:a","stream":2,"data":"YGBgIGZlbmNlCg=="}]}\n'
    )
    for event in decoder.feed(stream) + decoder.close():
        model.apply(event)
    model.finish(1)
    markdown = render_markdown(Summary.from_model(model))
    assert "RUN echo `a\\|b` ```" in markdown  # escaped in the table cell
    assert "````text\n``` fence\n````" in markdown  # a longer fence than the log's


def test_steps_shared_with_an_earlier_build_do_not_stretch_the_times() -> None:
    # BuildKit hands a step that an earlier build already ran to this build with that build's
    # old timestamps (here 500 s before this build loaded its own definition).
    definition = "[internal] load build definition from Dockerfile"
    objects = [
        {"vertexes": [vertex("d-def", definition, (), 0.0, 0.1)]},
        {"vertexes": [vertex("d-old", "[base 2/3] RUN ./install.sh", (), -500, -480, cached=True)]},
        {"vertexes": [vertex("d-new", "[base 3/3] COPY . .", ("d-old",), 1.0, 3.0)]},
    ]
    model = BuildModel(platforms=("linux/amd64",))
    decoder = StreamDecoder()
    for event in decoder.feed(encode(objects)) + decoder.close():
        model.apply(event)
    model.finish(0)
    summary = Summary.from_model(model).to_json()
    assert summary["duration_s"] == pytest.approx(3.0)
    assert summary["platforms"]["linux/amd64"]["duration_s"] == pytest.approx(3.0)
    assert summary["platforms"]["linux/amd64"]["cached"] == 1


def test_a_build_that_fails_in_its_cache_export_names_the_export() -> None:
    export = "exporting cache to registry"
    objects = [
        {"vertexes": [vertex("d-run", "[base 2/2] RUN make", (), 0.0, 2.0)]},
        {"vertexes": [vertex("d-exp", export, (), 2.0, 2.5, error="not found")]},
    ]
    model = BuildModel(platforms=("linux/amd64",))
    decoder = StreamDecoder()
    for event in decoder.feed(encode(objects, text="ERROR: failed to solve: not found\n")):
        model.apply(event)
    for event in decoder.close():
        model.apply(event)
    model.finish(1)
    error = Summary.from_model(model).to_json()["error"]
    assert error["step"] == export
    assert error["message"] == "failed to solve: not found"
