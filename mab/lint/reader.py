"""Read a Dockerfile for linting: every instruction with the exact physical lines it spans.

The detection reader (mab/detection/dockerfile.py) keeps only what `init-ci` needs; the linter
needs more to edit text in place: each instruction's first and last physical line (continuations
and heredoc bodies included), its flags, the comment lines just above it (for inline
`# mab: ignore[...]`), the parser directives and the escape character. Pure; never raises.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from mab.detection.dockerfile import (
    DIRECTIVE_RE,
    HEREDOC_RE,
    INSTRUCTION_RE,
    heredoc_body,
    is_blank_or_comment,
)
from mab.lint.rules import rule_id

_IGNORE = re.compile(r"#\s*mab:\s*ignore\[([A-Za-z0-9_,\s-]+)\]")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    first: int  # 0-based index of the first physical line
    last: int  # 0-based index of the last physical line (heredoc bodies included)
    flags: tuple[tuple[str, str], ...]  # leading --name=value flags, in order (name lower case)
    args: str  # the logical text after the flags (continuations joined)
    heredocs: str = ""  # heredoc bodies, joined
    ignored: frozenset[str] = frozenset()  # rule ids named in `# mab: ignore[...]` above it

    @property
    def line(self) -> int:
        """1-based line number of the instruction, for reports."""
        return self.first + 1

    def flag_values(self, name: str) -> list[str]:
        return [value for key, value in self.flags if key == name]

    @property
    def script(self) -> str:
        """What a RUN executes: its arguments and heredoc bodies."""
        return self.args + ("\n" + self.heredocs if self.heredocs else "")


@dataclass(frozen=True)
class Dockerfile:
    lines: tuple[str, ...]  # physical lines, line endings kept
    instructions: tuple[Instruction, ...]
    directives: tuple[tuple[str, str], ...]  # parser directives, name lower case
    escape: str
    file_ignores: frozenset[str] = frozenset()  # `# mab: ignore-file[...]`

    @property
    def newline(self) -> str:
        for line in self.lines:
            if line.endswith("\r\n"):
                return "\r\n"
        return "\n"


def read_dockerfile(text: str) -> Dockerfile:
    """Split `text` into instructions, keeping every line's position."""
    lines = tuple(text.splitlines(keepends=True))
    bare = [line.rstrip("\r\n") for line in lines]
    if bare:
        bare[0] = bare[0].removeprefix("\ufeff")
    directives, escape, i = _directives(bare)
    instructions: list[Instruction] = []
    comments: list[str] = []
    file_ignores: set[str] = set()
    while i < len(bare):
        stripped = bare[i].strip()
        if not stripped or stripped.startswith("#"):
            if stripped.startswith("#"):
                comments.append(stripped)
                if stripped.startswith(("# mab: ignore-file[", "#mab: ignore-file[")):
                    file_ignores.update(_ignored_ids(stripped.replace("ignore-file", "ignore")))
            else:
                comments.clear()
            i += 1
            continue
        first = i
        parts: list[str] = []
        while i < len(bare):
            line = bare[i].rstrip()
            i += 1
            if not line.endswith(escape):
                parts.append(bare[i - 1])
                break
            parts.append(line[:-1])
            while i < len(bare) and is_blank_or_comment(bare[i]):
                if bare[i].strip().startswith("#"):
                    comments.append(bare[i].strip())
                i += 1
        match = INSTRUCTION_RE.match("".join(parts))
        if match is None:
            comments.clear()
            continue
        keyword, rest = match.group(1).upper(), (match.group(2) or "").strip()
        bodies: list[str] = []
        if keyword in ("RUN", "COPY", "ADD"):
            for strip_tabs, _, word in HEREDOC_RE.findall(rest):
                body, i = heredoc_body(bare, i, word, strip_tabs == "-")
                bodies.append(body)
        flags, args = split_flags(rest)
        ignored = frozenset(rule for c in comments for rule in _ignored_ids(c))
        instructions.append(
            Instruction(keyword, first, i - 1, flags, args, "\n".join(bodies), ignored)
        )
        comments.clear()
    return Dockerfile(lines, tuple(instructions), directives, escape, frozenset(file_ignores))


def split_flags(rest: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """Leading `--name=value` flags of an instruction, and the text after them."""
    flags: list[tuple[str, str]] = []
    text = rest
    while text.startswith("--"):
        word, _, remainder = text.partition(" ")
        name, _, value = word[2:].partition("=")
        flags.append((name.lower(), value))
        text = remainder.lstrip()
    return tuple(flags), text


def words(text: str) -> list[str]:
    """Shell-like words of `text` (plain split when the quoting is unbalanced)."""
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return text.split()


def mount_fields(spec: str) -> dict[str, str]:
    """The key=value fields of one `--mount=` value."""
    fields: dict[str, str] = {}
    for item in spec.split(","):
        key, _, value = item.partition("=")
        fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields


def _ignored_ids(comment: str) -> list[str]:
    match = _IGNORE.search(comment)
    if match is None:
        return []
    words = [part.strip() for part in match.group(1).split(",") if part.strip()]
    return [rule_id(word) or word.upper() for word in words]


def _directives(lines: list[str]) -> tuple[tuple[tuple[str, str], ...], str, int]:
    found: list[tuple[str, str]] = []
    escape = "\\"
    for index, line in enumerate(lines):
        match = DIRECTIVE_RE.match(line)
        if match is None:
            return tuple(found), escape, index
        name, value = match.group(1).lower(), match.group(2)
        found.append((name, value))
        if name == "escape" and value in ("\\", "`"):
            escape = value
    return tuple(found), escape, len(lines)
