"""Control sequences in build output: colours kept only when asked, everything else dropped;
the recorded `ansi` stream (a RUN writing a clear screen, colours, cursor moves, a title, a
bell, backspaces and carriage returns) through the model and the plain printer."""

from __future__ import annotations

from pathlib import Path

import pytest

from mab.progress.ansi import GuardedStream, clean, guarded_output, has_controls, safe, scrub
from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel
from mab.progress.plain import PlainPrinter

STREAMS = Path(__file__).parent.parent / "fixtures" / "streams"


@pytest.mark.parametrize(
    ("raw", "plain", "coloured"),
    [
        ("\x1b[2J\x1b[31mX\x1b[0m", "X", "\x1b[31mX\x1b[0m"),
        ("\x1b]0;title\x07\x1b[H\x1b[3Aup\x1b[K", "up", "up"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link", "link"),
        ("10%\r80%\r100%", "100%", "100%"),
        ("typo\b\b\b\bfixed\a", "fixed", "fixed"),
        ("a\tb", "a       b", "a       b"),
        ("\x1b[1;33mwarn\x1b[0m\tx", "warn    x", "\x1b[1;33mwarn\x1b[0m    x"),
        ("\x1bPq#0;2;0;0;0\x1b\\pic", "pic", "pic"),
        ("esc at the end \x1b", "esc at the end ", "esc at the end "),
        ("csi cut \x1b[3", "csi cut ", "csi cut "),
        ("\x1b(Bcharset\x1b7saved\x1b8", "charsetsaved", "charsetsaved"),
        ("c1 \x9b2J csi", "c1 2J csi", "c1 2J csi"),
        ("plain text, untouched", "plain text, untouched", "plain text, untouched"),
    ],
)
def test_clean(raw: str, plain: str, coloured: str) -> None:
    assert clean(raw) == plain
    assert clean(raw, colour=True) == coloured
    assert not has_controls(clean(raw))


def replay(name: str, printer: bool = False) -> tuple[BuildModel, str]:
    model = BuildModel()
    out: list[str] = []
    plain = PlainPrinter(model, out.append, logs=True) if printer else None
    decoder = StreamDecoder()
    for event in decoder.feed((STREAMS / f"{name}.rawjson").read_bytes()):
        model.apply(event)
        if plain is not None:
            plain.update()
    for event in decoder.close():
        model.apply(event)
    model.finish(0)
    return model, "".join(out)


def test_the_model_keeps_colours_and_nothing_else() -> None:
    model, _ = replay("ansi")
    run = next(v for v in model.steps() if v.instruction.startswith("RUN"))
    detail = model.step(run.key)
    assert detail is not None
    lines = [text for _, text in detail.log.lines]
    assert lines[0] == "\x1b[31mX\x1b[0m"
    assert "up three" in lines
    assert "fetching [=====] 100%" in lines
    assert "fixed" in lines
    assert all(clean(line, colour=True) == line for line in lines)  # colour codes only
    assert detail.log.text[0] == "X"  # plain text for summaries and logs
    assert "   Compiling lib v0.1.0 (/src)" in detail.log.text
    assert detail.log.stream(2) == ("warning: unused variable: `x`",)


def test_plain_output_has_no_control_sequences() -> None:
    _, out = replay("ansi", printer=True)
    assert "Compiling lib v0.1.0" in out
    assert "| X\n" in out
    assert "| fixed\n" in out
    assert not has_controls(out.replace("\n", ""))


def test_safe_and_scrub_drop_every_control_and_lone_surrogate() -> None:
    text = "a\x1b]52;c;eA==\x07b\x1b]0;t\x1b\\c\x1b[2Jd\x9b2J\re\bf\ud800\tg\nh"
    assert scrub(text) == "abcd2Jef\ufffd\tg\nh"
    assert safe(text) == "abcd2Jef\ufffd g h"
    assert safe("plain") == "plain"
    assert scrub("crlf\r\nkept\r\n") == "crlf\r\nkept\r\n"
    assert scrub("lone\rcr\r") == "lonecr"


def test_guarded_output_scrubs_what_is_written_and_passes_mab_own_sequences() -> None:
    import io
    import sys

    from mab.progress.ansi import write_own

    inner = io.StringIO()
    saved = sys.stdout
    sys.stdout = inner
    try:
        with guarded_output():
            assert isinstance(sys.stdout, GuardedStream)
            print("step \x1b]0;title\x07name\ud800")
            write_own(sys.stdout, "\x1b[0Ksection\r\x1b[0K\n")
        assert sys.stdout is inner
    finally:
        sys.stdout = saved
    assert inner.getvalue() == "step name\ufffd\n\x1b[0Ksection\r\x1b[0K\n"
