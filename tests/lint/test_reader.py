"""The lint reader keeps every instruction's exact physical lines: continuations (with comment
lines inside), heredoc bodies, the escape directive, CRLF; and reads inline ignores."""

from __future__ import annotations

from mab.lint.reader import read_dockerfile, split_flags


def test_spans_cover_continuations_heredocs_and_comments() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n"
        "FROM busybox AS build\n"
        "RUN --mount=type=cache,target=/root/.npm \\\n"
        "    # a comment inside the continuation\n"
        "    npm ci\n"
        "RUN <<EOF\n"
        "echo hi\n"
        "EOF\n"
        "COPY . .\n"
    )
    df = read_dockerfile(text)
    assert df.directives == (("syntax", "docker/dockerfile:1"),)
    spans = [(i.keyword, i.first, i.last) for i in df.instructions]
    assert spans == [("FROM", 1, 1), ("RUN", 2, 4), ("RUN", 5, 7), ("COPY", 8, 8)]
    run = df.instructions[1]
    assert run.flag_values("mount") == ["type=cache,target=/root/.npm"]
    assert "npm ci" in run.args
    assert df.instructions[2].heredocs == "echo hi"


def test_backtick_escape_and_crlf() -> None:
    text = "# escape=`\r\nFROM busybox\r\nRUN echo a `\r\n    b\r\nRUN echo c"
    df = read_dockerfile(text)
    assert df.escape == "`"
    assert df.newline == "\r\n"
    assert [(i.first, i.last) for i in df.instructions] == [(1, 1), (2, 3), (4, 4)]
    assert "".join(df.lines) == text  # nothing lost


def test_inline_and_file_ignores() -> None:
    text = (
        "# mab: ignore-file[MAB106]\n"
        "\n"
        "FROM busybox\n"
        "# mab: ignore[MAB101, mab104] both are fine here\n"
        "RUN npm ci\n"
        "\n"
        "# mab: ignore[MAB105]\n"
        "\n"
        "RUN apt-get update\n"
    )
    df = read_dockerfile(text)
    assert df.file_ignores == frozenset({"MAB106"})
    assert df.instructions[1].ignored == frozenset({"MAB101", "MAB104"})
    assert df.instructions[2].ignored == frozenset()  # a blank line ends the comment's reach


def test_split_flags() -> None:
    assert split_flags("--platform=$BUILDPLATFORM golang:1.22 AS build") == (
        (("platform", "$BUILDPLATFORM"),),
        "golang:1.22 AS build",
    )
