"""Read a Dockerfile's text into a `DockerfileInfo`: stages, platform ARGs, cache mounts and
lockfile copies. Pure: no file access, never raises on odd input (unknown lines are skipped).

Follows BuildKit's parser where it matters here: parser directives (`# escape=`), line
continuations (comment and blank lines inside a continued instruction are dropped), heredocs
(`RUN <<EOF` ... `EOF` bodies are not instructions) and case-insensitive instruction names.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from mab.detection.lockfiles import pattern_matches_lockfile
from mab.detection.project import CacheMount, DockerfileInfo, Stage
from mab.detection.tools import tools_run

PLATFORM_ARGS = frozenset(
    {
        "TARGETPLATFORM",
        "TARGETOS",
        "TARGETARCH",
        "TARGETVARIANT",
        "BUILDPLATFORM",
        "BUILDOS",
        "BUILDARCH",
        "BUILDVARIANT",
    }
)

DIRECTIVE_RE = re.compile(r"#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
INSTRUCTION_RE = re.compile(r"\s*([A-Za-z]+)(?:\s+(.*))?$", re.DOTALL)
HEREDOC_RE = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VAR = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
_PLATFORM_REF = re.compile(r"\$\{?(" + "|".join(sorted(PLATFORM_ARGS)) + r")(?![A-Za-z0-9_])")
_BUILDPLATFORM = re.compile(r"\$(BUILDPLATFORM|\{BUILDPLATFORM\})")
_WHOLE_TREE = frozenset({"", ".", "*"})


@dataclass(frozen=True)
class _Instruction:
    keyword: str  # upper case
    args: str
    line: int  # 1-based line of the instruction's first line
    heredocs: str = ""  # heredoc bodies, joined


def parse_dockerfile(text: str, path: str) -> DockerfileInfo:
    """Parse Dockerfile `text`; `path` is recorded as the info's path."""
    stages: list[Stage] = []
    global_args: dict[str, str | None] = {}
    declared: set[str] = set()
    referenced: set[str] = set()
    mounts: list[CacheMount] = []
    copies: list[str] = []
    local: list[str] = []
    env: dict[str, str] = {}
    runs: set[str] = set()
    whole_tree_copied = False

    for ins in _instructions(text):
        referenced.update(_PLATFORM_REF.findall(ins.args))
        referenced.update(_PLATFORM_REF.findall(ins.heredocs))
        if ins.keyword == "ARG":
            for name, default in _arg_declarations(ins.args):
                declared.add(name)
                if not stages:
                    value = None if default is None else expand(default, global_args)
                    global_args[name] = value
        elif ins.keyword == "FROM":
            stage = _stage(ins, len(stages), global_args)
            if stage is not None:
                stages.append(stage)
                whole_tree_copied = False
        elif ins.keyword == "ENV":
            for name, value in _env_pairs(ins.args):
                env[name] = expand(value, {**global_args, **env})
        elif ins.keyword == "RUN":
            runs.update(tools_run(f"{ins.args}\n{ins.heredocs}"))
            mounts.extend(_cache_mounts(ins))
            for source in _bind_sources(ins):
                local.extend([source] if source not in local else [])
                if pattern_matches_lockfile(source) and source not in copies:
                    copies.append(source)
        elif ins.keyword in ("COPY", "ADD") and stages:
            sources = _copy_sources(ins.args)
            if sources is None:
                continue
            local.extend(s for s in sources if s not in local)
            if whole_tree_copied:
                continue
            for source in sources:
                if _is_whole_tree(source):
                    whole_tree_copied = True
                elif pattern_matches_lockfile(source) and source not in copies:
                    copies.append(source)

    return DockerfileInfo(
        path=path,
        stages=tuple(stages),
        platform_args=frozenset((declared | referenced) & PLATFORM_ARGS),
        cross_compiles=any(s.platform and _BUILDPLATFORM.search(s.platform) for s in stages),
        cache_mounts=tuple(mounts),
        lockfile_copies=tuple(copies),
        local_copies=tuple(local),
        env=tuple(env.items()),
        runs=frozenset(runs),
    )


def expand(word: str, env: dict[str, str | None]) -> str:
    """Substitute `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` from `env`.

    A variable that `env` does not give a value keeps its reference as written, unless the
    reference carries its own default.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        op, operand = match.group(2), match.group(3) or ""
        value = env.get(name)
        if op is None:
            return match.group(0) if value is None else value
        is_set = value is not None and (value != "" or not op.startswith(":"))
        if op.endswith("-"):
            return value if is_set and value is not None else expand(operand, env)
        return expand(operand, env) if is_set else ""

    return _VAR.sub(replace, word)


def _instructions(text: str) -> Iterator[_Instruction]:
    lines = text.removeprefix("\ufeff").splitlines()
    escape, first = _directives(lines)
    i = first
    while i < len(lines):
        if is_blank_or_comment(lines[i]):
            i += 1
            continue
        start = i
        parts: list[str] = []
        while i < len(lines):
            line = lines[i].rstrip()
            i += 1
            if not line.endswith(escape):
                parts.append(lines[i - 1])
                break
            parts.append(line[:-1])
            while i < len(lines) and is_blank_or_comment(lines[i]):
                i += 1
        match = INSTRUCTION_RE.match("".join(parts))
        if match is None:
            continue
        keyword, args = match.group(1).upper(), (match.group(2) or "").strip()
        bodies: list[str] = []
        if keyword in ("RUN", "COPY", "ADD"):
            for strip_tabs, _, word in HEREDOC_RE.findall(args):
                body, i = heredoc_body(lines, i, word, strip_tabs == "-")
                bodies.append(body)
        yield _Instruction(keyword, args, start + 1, "\n".join(bodies))


def _directives(lines: list[str]) -> tuple[str, int]:
    """The escape character and the index of the first line after the parser directives."""
    escape = "\\"
    for index, line in enumerate(lines):
        match = DIRECTIVE_RE.match(line)
        if match is None:
            return escape, index
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
    return escape, len(lines)


def is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def heredoc_body(lines: list[str], i: int, word: str, strip_tabs: bool) -> tuple[str, int]:
    body: list[str] = []
    while i < len(lines):
        line = lines[i]
        i += 1
        if (line.lstrip("\t") if strip_tabs else line) == word:
            break
        body.append(line)
    return "\n".join(body), i


def _split(args: str) -> list[str]:
    try:
        return shlex.split(args, comments=False, posix=True)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return args.split()


def _env_pairs(args: str) -> Iterator[tuple[str, str]]:
    """`ENV A=1 B="two words"` and the legacy `ENV A one value`."""
    words = _split(args)
    if words and "=" not in words[0]:
        yield words[0], " ".join(words[1:])
        return
    for word in words:
        name, sep, value = word.partition("=")
        if sep and name:
            yield name, value


def _arg_declarations(args: str) -> Iterator[tuple[str, str | None]]:
    for word in _split(args):
        name, sep, default = word.partition("=")
        if name:
            yield name, default if sep else None


def _flags(words: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Leading `--name=value` / `--name` flags, and the words after them."""
    flags: dict[str, list[str]] = {}
    index = 0
    while index < len(words) and words[index].startswith("--"):
        name, _, value = words[index][2:].partition("=")
        flags.setdefault(name.lower(), []).append(value)
        index += 1
    return flags, words[index:]


def _stage(ins: _Instruction, index: int, global_args: dict[str, str | None]) -> Stage | None:
    flags, rest = _flags(_split(ins.args))
    if not rest:
        return None
    name = rest[2].lower() if len(rest) >= 3 and rest[1].lower() == "as" else None
    platform = flags["platform"][-1] if flags.get("platform") else None
    base = expand(rest[0], global_args)
    return Stage(index=index, base=base, line=ins.line, name=name, platform=platform)


def _mount_fields(ins: _Instruction) -> Iterator[dict[str, str]]:
    flags, _ = _flags(ins.args.split())
    for spec in flags.get("mount", []):
        fields: dict[str, str] = {}
        for item in spec.split(","):
            key, _, value = item.partition("=")
            fields[key.strip().lower()] = value.strip().strip("\"'")
        yield fields


def _bind_sources(ins: _Instruction) -> Iterator[str]:
    """The context paths `RUN --mount=type=bind,source=X` mounts (not `from=` another stage)."""
    for fields in _mount_fields(ins):
        source = fields.get("source") or fields.get("src")
        if fields.get("type") == "bind" and source and "from" not in fields:
            yield source


def _cache_mounts(ins: _Instruction) -> Iterator[CacheMount]:
    for fields in _mount_fields(ins):
        if fields.get("type") != "cache":
            continue
        target = fields.get("target") or fields.get("dst") or fields.get("destination")
        if target:
            yield CacheMount(
                target=target,
                line=ins.line,
                id=fields.get("id"),
                sharing=fields.get("sharing"),
                uid=fields.get("uid"),
                gid=fields.get("gid"),
                mode=fields.get("mode"),
                source_stage=fields.get("from"),
            )


def _copy_sources(args: str) -> list[str] | None:
    """The source paths of a COPY/ADD (None for `--from=` copies, which are not local)."""
    flags, rest = _flags(args.split())
    if "from" in flags:
        return None
    remainder = " ".join(rest)
    words = _json_words(remainder) if remainder.startswith("[") else _split(remainder)
    return [s for s in words[:-1] if not s.startswith("<<") and "://" not in s]


def _json_words(args: str) -> list[str]:
    try:
        value = json.loads(args)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _is_whole_tree(source: str) -> bool:
    normalized = source
    while normalized.startswith("./"):
        normalized = normalized[2:]
    return normalized.rstrip("/") in _WHOLE_TREE


# Public names for other readers of Dockerfiles (mab.history.fingerprint).
Instruction = _Instruction
instructions = _instructions
split_words = _split
leading_flags = _flags
arg_declarations = _arg_declarations
json_words = _json_words
