from __future__ import annotations

from textwrap import dedent

from hypothesis import given, settings
from hypothesis import strategies as st

from mab.detection.dockerfile import expand, parse_dockerfile
from mab.detection.project import CacheMount, DockerfileInfo


def parse(text: str) -> DockerfileInfo:
    return parse_dockerfile(dedent(text).lstrip("\n"), "Dockerfile")


class TestStages:
    def test_stages_with_names_platforms_and_lines(self) -> None:
        info = parse(
            """
            # syntax=docker/dockerfile:1
            FROM --platform=$BUILDPLATFORM golang:1.23 AS build
            RUN go build ./...

            from gcr.io/distroless/static As final
            """
        )
        assert [(s.index, s.base, s.name, s.platform, s.line) for s in info.stages] == [
            (0, "golang:1.23", "build", "$BUILDPLATFORM", 2),
            (1, "gcr.io/distroless/static", "final", None, 5),
        ]

    def test_base_images_leave_out_stages_scratch_and_repeats(self) -> None:
        info = parse(
            """
            FROM node:22 AS base
            FROM base AS deps
            FROM node:22 AS again
            FROM scratch
            FROM nginx:1.27
            """
        )
        assert info.base_images == ("node:22", "nginx:1.27")

    def test_global_arg_defaults_fill_base_names(self) -> None:
        info = parse(
            """
            ARG REGISTRY=docker.io/library
            ARG PYTHON=3.12
            ARG FLAVOUR
            ARG IMAGE=${REGISTRY}/python
            FROM $IMAGE:${PYTHON}-slim
            FROM python:${PYTHON:-3.11}-${FLAVOUR}
            FROM alpine:${ALPINE:-3.20}
            """
        )
        assert [s.base for s in info.stages] == [
            "docker.io/library/python:3.12-slim",
            "python:3.12-${FLAVOUR}",
            "alpine:3.20",
        ]

    def test_args_after_from_do_not_change_later_base_names(self) -> None:
        info = parse(
            """
            ARG V=1
            FROM busybox:$V
            ARG V=2
            FROM busybox:$V
            """
        )
        assert [s.base for s in info.stages] == ["busybox:1", "busybox:1"]


class TestLines:
    def test_continuations_comments_and_blank_lines_inside_an_instruction(self) -> None:
        info = parse(
            """
            FROM alpine
            RUN --mount=type=cache,target=/var/cache/apk \\
            # a comment inside the instruction
                \\
                --mount=type=cache,target=/root/.cache \\

                apk add git
            RUN echo done
            """
        )
        assert info.cache_mounts == (
            CacheMount(target="/var/cache/apk", line=2),
            CacheMount(target="/root/.cache", line=2),
        )

    def test_escape_directive_uses_backtick_continuations(self) -> None:
        info = parse(
            """
            # escape=`
            FROM mcr.microsoft.com/windows/servercore:ltsc2022
            RUN --mount=type=cache,target=C:\\cache `
                choco install git
            FROM base2 AS next
            """
        )
        assert [s.base for s in info.stages] == [
            "mcr.microsoft.com/windows/servercore:ltsc2022",
            "base2",
        ]
        assert info.cache_mounts == (CacheMount(target="C:\\cache", line=3),)

    def test_escape_is_only_a_directive_at_the_top(self) -> None:
        info = parse(
            """
            FROM alpine
            # escape=`
            RUN echo a `
            FROM busybox
            """
        )
        assert [s.base for s in info.stages] == ["alpine", "busybox"]

    def test_heredoc_bodies_are_not_instructions(self) -> None:
        info = parse(
            """
            FROM debian AS one
            RUN <<EOF
            FROM not-a-stage
            COPY . .
            EOF
            COPY <<-'CONF' /etc/app.conf
            \tFROM also-not-a-stage
            \tCONF
            COPY package-lock.json ./
            RUN cat <<A <<B
            FROM a
            A
            FROM b
            B
            FROM alpine AS two
            """
        )
        assert [s.base for s in info.stages] == ["debian", "alpine"]
        assert info.lockfile_copies == ("package-lock.json",)

    def test_instructions_are_case_insensitive(self) -> None:
        info = parse(
            """
            from node:22 as build
            copy package-lock.json ./
            run --mount=type=cache,target=/root/.npm npm ci
            """
        )
        assert info.stages[0].name == "build"
        assert info.lockfile_copies == ("package-lock.json",)
        assert info.cache_mounts == (CacheMount(target="/root/.npm", line=3),)


class TestPlatform:
    def test_declared_and_referenced_platform_args(self) -> None:
        info = parse(
            """
            FROM --platform=${BUILDPLATFORM} golang AS build
            ARG TARGETOS TARGETARCH
            ARG VERSION=1
            RUN GOARM=${TARGETVARIANT#v} go build -o /out/app-$BUILDARCH
            RUN echo $TARGETARCHITECTURE
            """
        )
        assert info.platform_args == {
            "BUILDPLATFORM",
            "TARGETOS",
            "TARGETARCH",
            "TARGETVARIANT",
            "BUILDARCH",
        }
        assert info.cross_compiles

    def test_emulated_builds_do_not_cross_compile(self) -> None:
        info = parse(
            """
            FROM --platform=$TARGETPLATFORM rust AS build
            ARG TARGETPLATFORM
            FROM --platform=linux/amd64 alpine
            """
        )
        assert not info.cross_compiles
        assert info.platform_args == {"TARGETPLATFORM"}


class TestCacheMounts:
    def test_cache_mount_fields_and_other_mount_types(self) -> None:
        info = parse(
            """
            FROM golang
            COPY go.sum .
            RUN --mount=type=bind,source=go.sum,target=go.sum \\
                --mount=type=cache,id=gomod,dst=/go/pkg/mod,sharing=locked \\
                --mount=type=secret,id=token \\
                --mount=target=/root/.cache/go-build,type=cache \\
                --network=none \\
                go build
            RUN --mount=type=cache,destination=/var/cache/apt,sharing=private apt-get update
            RUN --mount=type=cache,id=no-target echo skipped
            """
        )
        assert info.cache_mounts == (
            CacheMount(target="/go/pkg/mod", line=3, id="gomod", sharing="locked"),
            CacheMount(target="/root/.cache/go-build", line=3),
            CacheMount(target="/var/cache/apt", line=9, sharing="private"),
        )


class TestLockfileCopies:
    def test_lockfiles_copied_before_the_source_tree(self) -> None:
        info = parse(
            """
            FROM node:22 AS deps
            COPY --chown=node:node package.json package-lock.json ./
            COPY ["yarn.lock", "./"]
            RUN npm ci
            COPY . .
            COPY requirements.txt .

            FROM python:3.12
            COPY requirements*.txt ./
            COPY --from=deps /app/package-lock.json ./
            ADD ./ /app
            COPY Pipfile.lock .
            """
        )
        assert info.lockfile_copies == ("package-lock.json", "yarn.lock", "requirements*.txt")
        # Every source from the context, whole-tree copies and all (not --from= ones).
        assert info.local_copies == (
            "package.json",
            "package-lock.json",
            "yarn.lock",
            ".",
            "requirements.txt",
            "requirements*.txt",
            "./",
            "Pipfile.lock",
        )

    def test_copying_only_part_of_the_tree_keeps_looking(self) -> None:
        info = parse(
            """
            FROM rust
            COPY src ./src
            COPY Cargo.toml Cargo.lock ./
            """
        )
        assert info.lockfile_copies == ("Cargo.lock",)

    def test_lockfile_copied_after_the_tree_does_not_count(self) -> None:
        info = parse(
            """
            FROM python
            COPY . /app
            COPY uv.lock /app/
            """
        )
        assert info.lockfile_copies == ()


def test_odd_input_is_not_an_error() -> None:
    info = parse(
        """
        RUN echo no stage yet
        FROM
        COPY
        RUN --mount=type=cache
        FROM "unterminated
        ???
        """
    )
    assert info.cache_mounts == ()
    assert [s.base for s in info.stages] == ['"unterminated']


def test_expand_handles_defaults_alternatives_and_unknowns() -> None:
    env: dict[str, str | None] = {"A": "x", "EMPTY": "", "UNSET": None}
    assert expand("$A-${A}", env) == "x-x"
    assert expand("${EMPTY:-d} ${EMPTY-d} ${UNSET:-d}", env) == "d  d"
    assert expand("${A:+yes} ${EMPTY:+yes}|", env) == "yes |"
    assert expand("$NOPE ${NOPE}", env) == "$NOPE ${NOPE}"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "FROM ",
                "RUN ",
                "COPY ",
                "ARG ",
                "--mount=type=cache,target=",
                "<<EOF",
                "EOF",
                "\\",
                "`",
                "\n",
                " ",
                "$",
                "{",
                "}",
                "${A:-",
                "AS",
                "#",
                "# escape=`",
                '"',
                ".",
            ]
        )
        | st.text(max_size=5)
    ).map("".join)
)
def test_any_text_parses_without_an_error(text: str) -> None:
    info = parse_dockerfile(text, "Dockerfile")
    assert all(m.target for m in info.cache_mounts)
    assert [s.index for s in info.stages] == list(range(len(info.stages)))


def test_cache_mount_options_that_key_the_cache_are_kept() -> None:
    info = parse(
        """
        FROM node:22
        USER node
        RUN --mount=type=cache,target=/home/node/.npm,uid=1000,gid=1000,mode=0755 npm ci
        RUN --mount=type=cache,target=/cache,from=seed,source=/c,ro npm run build
        """
    )
    assert info.cache_mounts == (
        CacheMount(target="/home/node/.npm", line=3, uid="1000", gid="1000", mode="0755"),
        CacheMount(target="/cache", line=4, source_stage="seed"),
    )
