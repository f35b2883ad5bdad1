"""The linter on odd input: never an exception, and `--fix` is a fixed point (a second pass
changes nothing), over generated Dockerfiles made of real-looking and broken lines."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mab.lint.run import Selection, Target, fix, lint_text

LINES = [
    "FROM node:20 AS build", "FROM --platform=$BUILDPLATFORM golang:1.22 AS b", "FROM build",
    "FROM", "USER node", "USER 1001", "USER app:app", "WORKDIR /app", "ARG GIT_SHA",
    "ARG TARGETOS TARGETARCH", "ENV BUILD_DATE=$BUILD_DATE", "ENV HOME /home/x",
    "COPY . .", "COPY package.json package-lock.json ./", "COPY --from=build /a /b",
    "RUN npm ci", "RUN apt-get update", "RUN apt-get install -y curl", "RUN go mod download",
    "RUN go build -o /x .", "RUN pip install --no-cache-dir -r requirements.txt",
    "RUN uv sync", "RUN composer install", "RUN echo $GIT_SHA > /v", "RUN \\", "    npm ci",
    "RUN <<EOF", "pip install x", "EOF", "# mab: ignore[MAB101]", "# comment", "",
    "ADD https://example.com/x.tgz /x", "RUN [\"npm\", \"ci\"]", "run yarn", "\\",
    "RUN --mount=type=cache,target=/root/.npm npm ci", "LABEL a=$GIT_SHA", "# escape=`",
]  # fmt: skip
TARGET = Target(Path("Dockerfile"), "Dockerfile", None)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(LINES), st.text(max_size=30)), max_size=25),
    st.sampled_from(["\n", "\r\n"]),
)
def test_lint_never_raises_and_fix_is_a_fixed_point(lines: list[str], eol: str) -> None:
    text = eol.join(lines)
    selection = Selection()
    lint_text(text, TARGET, selection)

    once, _ = fix(text, TARGET, selection)
    twice, applied = fix(once, TARGET, selection)
    assert twice == once
    assert applied == []
