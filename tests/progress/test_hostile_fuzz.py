"""Hostile build streams, generated: random objects (vertices, statuses, logs, warnings, text
lines) whose every string field may hold control characters, escape sequences (OSC 52, OSC 0,
ESC[2J, 8-bit CSI) and lone surrogates, cut anywhere and fed in random chunks.

Through the decoder and the model no exception escapes; what the line views make of them (the
plain lines, the summary table, the Markdown summary, the JSON document) holds no control
sequence; and through the command line (`replay --no-tui`, `--json` with its progress on
stderr, `--ci` for GitLab with its own section markers, `history import`, `show` and `why`)
neither stdout nor stderr carries one."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mab.cli import main
from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel
from mab.progress.plain import PlainPrinter
from mab.progress.summary import Summary, render_markdown, render_table

PIECES = [
    "\x1b]52;c;cm0gLXJmIH4K\x07",
    "\x1b]0;pwned\x1b\\",
    "\x1b[2J",
    "\x1b[31m",
    "\x9b2J",
    "\x1b",
    "\x07",
    "\x00",
    "\r",
    "\b",
    "\n",
    "\t",
    "\ud800",
    "\udfff",
    "\u202e",
    "[linux/amd64 -1/-5]",
    "[linux/arm64 deps 1/2] ",
    "RUN ",
    "FROM ",
    "ERROR: ",
    "# mab outcome: failed 256",
]
STEP_PREFIXES = ["[linux/amd64 1/2] RUN ", "[2/2] RUN ", "[linux/arm64 deps 1/2] FROM ", ""]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
GITLAB_MARKER = r"\x1b\[0Ksection_(start|end):\d+:[a-z0-9_.-]+(\[collapsed=true\])?\r\x1b\[0K"

hostile_text = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=6).map("".join)
digests = st.sampled_from([f"sha256:{c * 64}" for c in "abcdef"])
times = st.none() | st.floats(0, 2e9, allow_nan=False).map(
    lambda t: f"2026-11-30T09:33:{int(t) % 60:02d}.{int(t * 1000) % 10**9:09d}Z"
)


@st.composite
def vertex(draw: st.DrawFn) -> dict[str, Any]:
    prefix = draw(st.sampled_from(STEP_PREFIXES))
    v: dict[str, Any] = {"digest": draw(digests), "name": prefix + draw(hostile_text)}
    if draw(st.booleans()):
        v["inputs"] = draw(st.lists(digests, max_size=3))
    for key in ("started", "completed"):
        at = draw(times)
        if at is not None:
            v[key] = at
    if draw(st.booleans()):
        v["cached"] = True
    if draw(st.booleans()):
        v["error"] = draw(hostile_text)
    return v


@st.composite
def status_object(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["vertexes", "statuses", "logs", "warnings"]))
    if kind == "vertexes":
        return {"vertexes": draw(st.lists(vertex(), min_size=1, max_size=3))}
    if kind == "statuses":
        return {
            "statuses": [
                {"id": draw(hostile_text), "vertex": draw(digests), "name": draw(hostile_text)}
            ]
        }
    if kind == "logs":
        data = draw(hostile_text).encode("utf-8", "surrogatepass") + b"\n"
        return {
            "logs": [
                {
                    "vertex": draw(digests),
                    "stream": draw(st.sampled_from([1, 2])),
                    "data": base64.b64encode(data).decode(),
                }
            ]
        }
    return {
        "warnings": [
            {
                "vertex": draw(digests),
                "short": base64.b64encode(
                    draw(hostile_text).encode("utf-8", "surrogatepass")
                ).decode(),
                "detail": [base64.b64encode(b"\x1b]0;x\x07").decode()],
            }
        ]
    }


@st.composite
def stream(draw: st.DrawFn) -> bytes:
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.integers(0, 4)) == 0:
            parts.append(draw(hostile_text).replace("\n", " ") + "\n")
        else:
            parts.append(json.dumps(draw(status_object())) + "\n")
    data = "".join(parts).encode("utf-8", "surrogatepass")
    cut = draw(st.integers(0, len(data)))
    return data[:cut] if draw(st.booleans()) else data


def assert_clean(text: str, own: str = "") -> None:
    if own:
        text = re.sub(own, "", text)
    assert not CONTROL.search(text), ascii(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream(), st.lists(st.integers(0, 4000), max_size=10))
def test_the_decoder_and_the_model_take_anything_and_show_nothing_hostile(
    data: bytes, cuts: list[int]
) -> None:
    decoder = StreamDecoder()
    model = BuildModel(("linux/amd64", "linux/arm64"))
    out: list[str] = []
    printer = PlainPrinter(model, out.append, logs=True)
    last = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        for event in decoder.feed(data[last:cut]):
            model.apply(event)
        printer.update()
        last = cut
    for event in decoder.close():
        model.apply(event)
    model.finish(1)
    summary = Summary.from_model(model)
    printer.finish(summary)
    for text in [*out, render_table(summary), render_markdown(summary)]:
        assert_clean(text)
    json.dumps(summary.to_json()).encode("utf-8")  # valid and encodable, whatever came in


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream())
def test_no_output_mode_lets_a_control_sequence_through(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hostile.rawjson"
        path.write_bytes(b"# mab platforms: linux/amd64\n" + data)
        history = str(Path(tmp) / "history.sqlite3")
        saved = dict(os.environ)
        os.environ.update(GITLAB_CI="true", MAB_REPORT_DIR=str(Path(tmp) / "report"))
        os.environ.pop("GITHUB_ACTIONS", None)
        try:
            runs = [
                (run("replay", str(path), "--no-tui"), ""),
                (run("replay", str(path), "--json", "--speed", "1000"), ""),
                (run("replay", str(path), "--ci"), GITLAB_MARKER),
                (run("history", "import", str(path), "--history", history), ""),
                (run("history", "show", "last", "--history", history), ""),
                (run("why", "--history", history), ""),
            ]
        finally:
            os.environ.clear()
            os.environ.update(saved)
    for (code, out, err), own in runs:
        assert "Traceback" not in err
        assert code in (0, 1, 2, 6), err
        assert_clean(out, own)
        assert_clean(err)
