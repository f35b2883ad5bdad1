"""A build that failed before any step: shown where the steps would be, and kept there.

A Dockerfile BuildKit cannot parse fails while loading the build definition: the stream has no
step, only buildx's text (`Dockerfile:7`, an excerpt, `ERROR: ... dockerfile parse error on
line 7: ...`). The panel leads with the file, the line and the message, then the excerpt.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from mab.tui.render import RED

_LOCATION = re.compile(r"^(?P<file>\S+):(?P<line>\d+)$")
_PARSE = re.compile(r"dockerfile parse error on line (?P<line>\d+): (?P<message>.*)")
_RULE = "-" * 20


@dataclass(frozen=True, slots=True)
class BuildProblem:
    message: str
    file: str = ""
    line: int | None = None
    parse_error: bool = False
    excerpt: tuple[str, ...] = ()


def build_problem(lines: Iterable[str], fallback: str = "") -> BuildProblem:
    """What the stream's own text says went wrong (`fallback`: when it says nothing)."""
    text = list(lines)
    error = next((t for t in text if t.startswith("ERROR:")), "")
    message = error.removeprefix("ERROR:").strip().removeprefix("failed to solve:").strip()
    file, line = "", None
    excerpt: tuple[str, ...] = ()
    for i, t in enumerate(text):
        found = _LOCATION.match(t)
        if found is None or i + 1 >= len(text) or text[i + 1] != _RULE:
            continue
        file, line = found["file"], int(found["line"])
        end = next((j for j in range(i + 2, len(text)) if text[j] == _RULE), len(text))
        excerpt = tuple(x.rstrip() for x in text[i + 2 : end])
        break
    parsed = _PARSE.search(message)
    if parsed is not None:
        return BuildProblem(parsed["message"], file, int(parsed["line"]), True, excerpt)
    return BuildProblem(message or fallback or "the build failed", file, line, False, excerpt)


def render_problem(problem: BuildProblem, width: int) -> Text:
    out = Text()
    if problem.parse_error:
        out.append("✗ The Dockerfile could not be parsed: no step ran\n", style=f"bold {RED}")
    else:
        out.append("✗ The build failed before any step ran\n", style=f"bold {RED}")
    if problem.file or problem.line is not None:
        where = problem.file or "Dockerfile"
        out.append(f"  {where}" + (f", line {problem.line}" if problem.line else "") + "\n")
    for line in textwrap.wrap(problem.message, max(20, width - 2)) or [""]:
        out.append(f"  {line}\n", style="bold")
    if problem.excerpt:
        out.append("\n")
        for line in problem.excerpt:
            out.append(f"  {line}\n", style=f"bold {RED}" if ">>>" in line else "dim")
    out.rstrip()
    return out


class ProblemPanel(Static):
    """Takes the steps' place when there are none to show; kept until the next run."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "build failed"
        self.problem: BuildProblem | None = None

    def show(self, problem: BuildProblem) -> None:
        self.problem = problem
        self.border_title = "dockerfile parse error" if problem.parse_error else "build failed"
        self.update(render_problem(problem, self.size.width or 78))

    def on_resize(self) -> None:
        if self.problem is not None:
            self.update(render_problem(self.problem, self.size.width))
