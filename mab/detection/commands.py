"""Image builds named in shell text: `docker build`, `docker buildx build`, `docker image build`,
`podman build`, `buildah bud`, kaniko's `executor`, and `docker buildx bake`. Pure.

Used on every kind of text that runs commands: a workflow step's `run:`, a GitLab job's
`script:`, package.json scripts, Makefile and justfile recipes, shell scripts. Each command keeps
the 1-based line it starts on. `cd DIR &&` before a command moves its working directory, as the
shell would. Paths are as written (relative to the working directory); the caller resolves them.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass

# What stands for the repository's root in CI (`${{ github.workspace }}`, `$CI_PROJECT_DIR`).
_ROOT_WORDS = re.compile(
    r"\$\{\{\s*github\.workspace\s*\}\}|\$\{?CI_PROJECT_DIR\}?|\$\{?GITHUB_WORKSPACE\}?"
)
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")  # `${{ x }}`, made one word for the shell split
# A word that is only a variable: unquoted, the shell may expand it to several options.
_BARE_VARIABLE = re.compile(r"\$(?:\w+|\{\w+\})")
_SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")
_VALUE_FLAGS = frozenset(
    {
        "-f", "--file", "-t", "--tag", "--target", "--build-arg", "--platform", "--label",
        "--cache-from", "--cache-to", "-o", "--output", "--secret", "--ssh", "--network",
        "--progress", "--builder", "--iidfile", "--metadata-file", "--build-context",
        "--add-host", "--allow", "--annotation", "--attest", "--shm-size", "--ulimit",
        "--provenance", "--sbom", "--call", "--cgroup-parent", "-m", "--memory", "--isolation",
        "--set", "--context", "--dockerfile", "--destination", "--format", "--layers",
    }
)  # fmt: skip


@dataclass(frozen=True)
class BuildCommand:
    """One image build (or bake run) found in shell text."""

    line: int
    workdir: str  # the directory `cd` moved to before it, as written ("" when none)
    context: str | None  # as written; None when it is stdin, a URL or unknown
    dockerfile: str | None = None  # -f, as written (relative to the working directory)
    target: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    platforms: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    push: bool = False
    bake_files: tuple[str, ...] = ()  # for `docker buildx bake`
    bake_targets: tuple[str, ...] = ()
    is_bake: bool = False
    outputs: tuple[str, ...] = ()  # -o/--output values: artifacts, not images


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, each with the line it starts on."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        out.append((start, " ".join(p.strip() for p in pending)))
        pending = []
    if pending:
        out.append((start, " ".join(p.strip() for p in pending)))
    return out


def build_commands(text: str, first_line: int = 1) -> list[BuildCommand]:
    """Every image build in `text`; `first_line` is the line of text's first line in its file."""
    found: list[BuildCommand] = []
    for number, line in logical_lines(text):
        if "build" not in line and "bake" not in line and "executor" not in line:
            continue
        workdir = ""
        line = _EXPRESSION.sub(lambda m: "${{" + re.sub(r"\s+", "", m.group(1)) + "}}", line)
        for part in _SEPARATORS.split(_ROOT_WORDS.sub(".", line)):
            words = _words(part)
            if len(words) >= 2 and words[0] == "cd":
                workdir = posixpath.normpath(posixpath.join(workdir or ".", words[1]))
                continue
            command = _command(words, number + first_line - 1, workdir)
            if command is not None:
                found.append(command)
    return found


def _words(part: str) -> list[str]:
    try:
        words = shlex.split(part, comments=True, posix=True)
    except ValueError:
        words = part.split()
    while words and ("=" in words[0] and not words[0].startswith("-")):
        words = words[1:]  # VAR=value before the command
    while words and words[0] in ("sudo", "exec", "time", "@", "-", "+"):
        words = words[1:]
    if words and words[0].startswith(("@", "-")) and len(words[0]) > 1:
        words[0] = words[0].lstrip("@-+")  # Makefile recipe prefixes
    return words


def _command(words: list[str], line: int, workdir: str) -> BuildCommand | None:
    if not words:
        return None
    tool = posixpath.basename(words[0])
    rest: list[str] | None = None
    bake = False
    if tool in ("docker", "podman") or (
        tool.startswith("$") and words[1:2] in (["build"], ["buildx"])
    ):
        head = [w for w in words[1:3]]
        if head[:1] == ["build"]:
            rest = words[2:]
        elif head == ["buildx", "build"] or head == ["image", "build"]:
            rest = words[3:]
        elif head == ["buildx", "bake"]:
            rest, bake = words[3:], True
        elif words[1:2] == ["bake"]:
            rest, bake = words[2:], True
    elif tool == "buildah" and words[1:2] in (["bud"], ["build"]):
        rest = words[2:]
    elif tool == "executor" and any(w.startswith("--context") for w in words):
        return _kaniko(words[1:], line, workdir)
    if rest is None:
        return None
    flags, positional = _parse(rest)
    if bake:
        return BuildCommand(
            line, workdir, None, is_bake=True,
            bake_files=tuple(flags.get("-f", []) + flags.get("--file", [])),
            bake_targets=tuple(positional), push="--push" in flags,
        )  # fmt: skip
    # docker takes one context; a bare `$VAR` before it stands for options (`$TAGS`)
    plain = [p for p in positional if not _BARE_VARIABLE.fullmatch(p)]
    context = plain[-1] if plain else (positional[-1] if positional else None)
    if context is not None and (context == "-" or "://" in context or context.startswith("git@")):
        context = None
    return BuildCommand(
        line=line,
        workdir=workdir,
        context=context,
        dockerfile=_last(flags, "-f", "--file"),
        target=_last(flags, "--target"),
        args=tuple(_pairs(flags.get("--build-arg", []))),
        platforms=tuple(p for v in flags.get("--platform", []) for p in v.split(",") if p),
        tags=tuple(flags.get("-t", []) + flags.get("--tag", [])),
        push="--push" in flags or any("push=true" in o for o in flags.get("--output", [])),
        outputs=tuple(o for o in flags.get("-o", []) + flags.get("--output", []) if o),
    )


def _kaniko(words: list[str], line: int, workdir: str) -> BuildCommand:
    flags, _ = _parse(words)
    context = _last(flags, "--context")
    if context is not None:
        context = context.removeprefix("dir://")
    dockerfile = _last(flags, "--dockerfile")
    if dockerfile and context and not dockerfile.startswith(("/", "$", ".")):
        dockerfile = posixpath.join(context, dockerfile)  # kaniko's is relative to the context
    destinations = tuple(flags.get("--destination", []) + flags.get("-d", []))
    return BuildCommand(
        line, workdir, context, dockerfile, _last(flags, "--target"),
        tuple(_pairs(flags.get("--build-arg", []))), tuple(flags.get("--custom-platform", [])),
        destinations, push="--no-push" not in flags and bool(destinations),
    )  # fmt: skip


def _parse(words: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    flags: dict[str, list[str]] = {}
    positional: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word.startswith("-") and word != "-":
            name, sep, value = word.partition("=")
            if not sep and name in _VALUE_FLAGS and index + 1 < len(words):
                value = words[index + 1]
                index += 1
            elif not sep and len(name) > 2 and name[1] != "-" and name[:2] in ("-f", "-t", "-o"):
                name, value = name[:2], name[2:]  # -fDockerfile
            flags.setdefault(name, []).append(value)
        else:
            positional.append(word)
        index += 1
    return flags, positional


def _last(flags: dict[str, list[str]], *names: str) -> str | None:
    values = [v for n in names for v in flags.get(n, [])]
    return values[-1] if values else None


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for value in values:
        name, sep, given = value.partition("=")
        if name:
            out.append((name, given if sep else ""))
    return out
