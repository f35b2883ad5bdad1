"""The rawjson decoder: any chunking, both layouts, and bad input that never raises."""

from __future__ import annotations

import base64
import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mab.progress.decoder import (
    MAX_TEXT_CHARS,
    Event,
    SolveStatus,
    StreamDecoder,
    TextLine,
    parse_time,
)
from mab.progress.model import BuildModel
from mab.progress.summary import Summary
from tests.progress.progress_streams import encode, log, multi_platform_stream, vertex

FAILED = multi_platform_stream(pretty=True, fail=True)
COMPACT = multi_platform_stream(pretty=False, fail=True)
UNICODE = encode(
    [{"vertexes": [vertex("sha256:u", "[stage-0 2/3] RUN echo ünïcødé → ✓ 🐳", started=1.0)]}],
    text="WARNING: ünïcødé 🐳\r\n",
)


def decode(data: bytes, cuts: list[int] | None = None) -> list[Event]:
    decoder = StreamDecoder()
    events: list[Event] = []
    last = 0
    for cut in sorted(cuts or []):
        events += decoder.feed(data[last:cut])
        last = cut
    events += decoder.feed(data[last:])
    return events + decoder.close()


def summary_of(events: list[Event], exit_code: int = 1) -> dict[str, object]:
    model = BuildModel(platforms=("linux/amd64", "linux/arm64"))
    for event in events:
        model.apply(event)
    model.finish(exit_code)
    return Summary.from_model(model).to_json()


def test_compact_objects_and_text_lines() -> None:
    data = encode(
        [{"vertexes": [vertex("sha256:a", "[internal] load build context", started=0.5)]}],
        text="ERROR: failed to solve: boom\n  12 | {not json}\n\n{}\n",
    )
    events = decode(data)
    assert isinstance(events[0], SolveStatus)
    assert events[0].vertexes[0].name == "[internal] load build context"
    assert events[1:] == [TextLine("ERROR: failed to solve: boom"), TextLine("  12 | {not json}")]


def test_pretty_and_compact_layouts_give_the_same_events_and_model() -> None:
    assert decode(FAILED) == decode(COMPACT)
    assert summary_of(decode(FAILED)) == summary_of(decode(COMPACT))


def test_concatenated_objects_on_one_line() -> None:
    one = json.dumps({"logs": [log("sha256:a", "x\n")]})
    events = decode(f"{one}{one} {one}\n".encode())
    assert len(events) == 3
    assert all(isinstance(e, SolveStatus) for e in events)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_chunking_gives_the_same_events(data: st.DataObject) -> None:
    stream = data.draw(st.sampled_from([FAILED, COMPACT, UNICODE]))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=60))
    assert decode(stream, cuts) == decode(stream)


def test_byte_by_byte_gives_the_same_model() -> None:
    events = decode(FAILED, list(range(len(FAILED))))
    assert summary_of(events) == summary_of(decode(FAILED))


def _mutate(stream: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(stream)
    for where, length, insert in edits:
        at = where % (len(out) + 1)
        out[at : at + length] = insert
    return bytes(out)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([FAILED, COMPACT]),
    st.lists(
        st.tuples(
            st.integers(0, 20_000),
            st.integers(0, 40),
            st.binary(max_size=8) | st.sampled_from([b"{", b"}", b'"', b"\\", b"\n", b"\n{"]),
        ),
        max_size=12,
    ),
    st.integers(0, 20_000),
    st.lists(st.integers(0, 20_000), max_size=20),
)
def test_corruption_and_truncation_never_raise(
    stream: bytes, edits: list[tuple[int, int, bytes]], keep: int, cuts: list[int]
) -> None:
    bad = _mutate(stream, edits)[:keep]
    events = decode(bad, [c % (len(bad) + 1) for c in cuts])
    model = BuildModel()
    for event in events:
        model.apply(event)
    model.finish(1)
    Summary.from_model(model).to_json()


def test_a_broken_object_does_not_swallow_the_next_one() -> None:
    good = json.dumps({"logs": [log("sha256:a", "ok\n")]})
    for broken in ('{"logs": [{"vertex": "sha', '{"vertexes": [{"digest": "x", ', '{"a": {"b": '):
        events = decode(f"{broken}\n{good}\nafter\n".encode())
        assert [type(e) for e in events] == [SolveStatus, TextLine], broken
        assert events[-1] == TextLine("after")


def test_huge_single_log_line() -> None:
    payload = b"x" * (10 * 1024 * 1024) + b"\nend\n"
    data = encode(
        [
            {"vertexes": [vertex("sha256:a", "[stage-0 2/2] RUN big", started=0.0)]},
            {"logs": [log("sha256:a", payload)]},
        ]
    )
    decoder = StreamDecoder()
    events: list[Event] = []
    for at in range(0, len(data), 65536):
        events += decoder.feed(data[at : at + 65536])
    events += decoder.close()
    assert len(events) == 2
    assert isinstance(events[1], SolveStatus)
    assert events[1].logs[0].data == payload
    model = BuildModel(platforms=("linux/amd64",))
    for event in events:
        model.apply(event)
    detail = model.step("sha256:a")
    assert detail is not None
    assert detail.log.text[-1] == "end"
    assert all(len(line) <= 4097 for line in detail.log.text)


def test_enormous_garbage_is_linear_and_bounded() -> None:
    decoder = StreamDecoder()
    events: list[Event] = []
    start = time.perf_counter()
    for _ in range(200):  # 12.5 MiB with no newline at all
        events += decoder.feed(b"garbage " * 8192)
    for _ in range(100):  # an object that never closes
        events += decoder.feed(b'\n{"a": [' + b'"xxxxxxxx", ' * 5000)
    events += decoder.close()
    assert time.perf_counter() - start < 10
    assert isinstance(events[0], TextLine)
    assert len(events[0].text) <= MAX_TEXT_CHARS + 1
    assert len(decoder._buf) == 0


def test_deep_nesting_and_invalid_utf8() -> None:
    deep = b"{" * 100_000 + b"}" * 100_000 + b"\n"
    bad_utf8 = b'{"logs": [{"vertex": "a\xff\xfe", "data": "eA=="}]}\n'
    events = decode(deep + bad_utf8 + b"\xff\xfe text\n")
    assert isinstance(events[0], SolveStatus)
    assert events[0].logs[0].vertex == "a\ufffd\ufffd"
    assert events[1] == TextLine("\ufffd\ufffd text")


def test_pretty_object_with_crlf_and_trailing_text() -> None:
    body = json.dumps({"logs": [log("sha256:a", "ok\n")]}, indent=2).replace("\n", "\r\n")
    events = decode((body + "\r\ntrailing\r\n").encode())
    assert [type(e) for e in events] == [SolveStatus, TextLine]
    assert events[1] == TextLine("trailing")


def test_bad_field_types_are_dropped_not_raised() -> None:
    data = encode(
        [
            {
                "vertexes": [{"digest": 3}, {"digest": "d", "inputs": "x", "started": 5}],
                "statuses": [{"id": "s", "current": "x"}, "nope"],
                "logs": [{"vertex": "d", "data": "!!not base64!!"}],
                "warnings": [{"short": base64.b64encode(b"careful").decode(), "detail": [1]}],
            }
        ]
    )
    (event,) = decode(data)
    assert isinstance(event, SolveStatus)
    assert [v.digest for v in event.vertexes] == ["d"]
    assert event.vertexes[0].inputs == ()
    assert event.vertexes[0].started is None
    assert event.statuses[0].current == 0
    assert event.warnings[0].text() == "careful"


def test_parse_time() -> None:
    assert parse_time("2023-11-14T22:13:20Z") == 1_700_000_000.0
    assert parse_time("2023-11-14T22:13:20.5Z") == 1_700_000_000.5
    offset = parse_time("2023-11-14T23:13:20.123456789+01:00")
    assert offset is not None
    assert abs(offset - 1_700_000_000.123456789) < 1e-6
    assert parse_time("not a time") is None
    assert parse_time(None) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([FAILED, COMPACT, UNICODE]),
    st.lists(
        st.tuples(
            st.integers(0, 20_000),
            st.integers(0, 40),
            st.binary(max_size=8)
            | st.sampled_from([b"{", b"}", b'"', b"\\", b"\n", b"\n{", b"\n}\n", b"\xc3"]),
        ),
        max_size=12,
    ),
    st.lists(st.integers(0, 20_000), max_size=30),
)
def test_corrupt_input_gives_the_same_events_however_it_is_chunked(
    stream: bytes, edits: list[tuple[int, int, bytes]], cuts: list[int]
) -> None:
    bad = _mutate(stream, edits)
    assert decode(bad, [c % (len(bad) + 1) for c in cuts]) == decode(bad)


def test_text_after_a_truncated_object_is_not_swallowed() -> None:
    good = json.dumps({"logs": [log("sha256:a", "ok\n")]}, indent=2)
    data = f'{{"vertexes": [{{"digest": "x",\nERROR: failed to solve: boom\n#1 text\n{good}\n'
    events = decode(data.encode())
    assert events[:2] == [TextLine("ERROR: failed to solve: boom"), TextLine("#1 text")]
    assert isinstance(events[2], SolveStatus)


@given(st.text(max_size=40))
def test_parse_time_never_raises(text: str) -> None:
    parse_time(text)
    parse_time("2023-11-14T22:13:20" + text)


def test_a_brace_opening_a_line_inside_an_object_decodes_the_same_however_chunked() -> None:
    """Found by the property above: a `{` opening a line inside a pretty-printed object (here
    34 bytes of a vertex replaced by it) makes valid JSON. The run decoder took it whole while
    the scanner, fed the same bytes in two pieces, broke the object at that line."""
    bad = _mutate(FAILED, [(10634, 34, b"{"), (0, 4, b"")])
    assert decode(bad, [7]) == decode(bad)
