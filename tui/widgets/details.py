"""The selected step: what it is, its cache state, sub-progress, error and live log tail.

A failed step leads with what failed and how (`✗ exit code 1: test 3/3 RUN make check`).
stdout lines are plain; stderr lines are marked `!`, so they stay apart without colour; a
step's own colours are shown, no other control sequence. The log tail fills whatever height
is left, newest line last; `l` opens the whole log.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from mab.history.why import Why
from mab.progress.model import StepDetail, StepState, StepView
from mab.tui.render import RED, STATE_STYLE, failure, log_line, one_line, running_for, seconds, size

CACHE_NOTE = {
    StepState.PENDING: "waiting for its inputs",
    StepState.RUNNING: "running: not in the cache",
    StepState.CACHED: "cache hit: restored, not run",
    StepState.DONE: "cache miss: it ran",
    StepState.ERROR: "failed",
    StepState.CANCELED: "canceled before it finished",
}
ERROR_LINES = 2  # at most, for an error without an exit code; the rest is for the log
PICK = "Select a step (↑/↓, tab, or click) to see its log; l: the full log."
NO_STEP = "No step ran. l: the build's whole log."
MAX_PROGRESS_LINES = 4


class StepDetails(Widget):
    """Shows one `StepDetail`; set it with `show`, redrawn only when it changed. `whys`: the
    finished run's causes of its misses (platform -> `stage#index` -> `Why`)."""

    whys: reactive[Mapping[str, Mapping[str, Why]]] = reactive(dict)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "details"
        self.detail: StepDetail | None = None
        self._now: float | None = None
        self.empty = PICK

    def show(self, detail: StepDetail | None, now: float | None, *, empty: str = PICK) -> None:
        """`empty`: what to say when no step is shown."""
        running = detail is not None and detail.step.state is StepState.RUNNING
        now = round(now, 1) if running and now is not None else None
        if detail == self.detail and now == self._now and empty == self.empty:
            return
        self.detail, self._now, self.empty = detail, now, empty
        self.refresh()

    def render(self) -> Text:
        detail = self.detail
        if detail is None:
            return Text(self.empty, style="dim")
        height = max(1, self.content_size.height)
        head = self._head(detail)
        room = max(0, height - len(head) - 1)
        lines = list(head)
        tail = detail.log.lines[-room:] if room else ()
        if detail.log.lines:
            dropped = len(detail.log.lines) - len(tail) + detail.log.dropped
            note = f"last {len(tail)} of {len(tail) + dropped} lines" if dropped else "log"
            lines.append(Text(f"── {note}; stderr marked !; l: full log", style="dim"))
            lines += [log_row(stream, text) for stream, text in tail]
        elif detail.step.state is not StepState.PENDING:
            lines.append(Text("(no output)", style="dim"))
        for line in lines:
            line.no_wrap = True
            line.overflow = "ellipsis"
        return Text("\n").join(lines[: max(height, len(head))])

    def _head(self, detail: StepDetail) -> list[Text]:
        step = detail.step
        head: list[Text] = []
        if step.state is StepState.ERROR:  # what failed and how first: the exit code
            width = max(20, self.content_size.width)
            lead = f"✗ {failure(step)}"
            # an exit code says how in one line; other errors get two for their words
            wrapped = [lead] if lead.startswith("✗ exit code") else textwrap.wrap(lead, width)
            if len(wrapped) > ERROR_LINES:
                wrapped = [*wrapped[: ERROR_LINES - 1], wrapped[ERROR_LINES - 1][: width - 1] + "…"]
            head += [Text(line, style=f"bold {RED}") for line in wrapped]
        else:
            head.append(Text(one_line(step.label), style="bold"))
        state = Text(str(step.state).upper(), style=STATE_STYLE[step.state])
        took = running_for(step, self._now)
        if took is not None and step.state is not StepState.CACHED:
            state.append(f" {seconds(took)}")
        state.append(f"  {CACHE_NOTE[step.state]}", style="dim")
        if step.platforms:
            who = "shared by " if len(step.platforms) > 1 else ""
            state.append(f"  {who}{', '.join(step.platforms)}", style="italic")
        head.append(state)
        why = why_line(self.whys, step)
        if why:
            width = max(20, self.content_size.width)
            head += [Text(line, style="magenta") for line in _wrap(why, width)]
        for p in step.progress[:MAX_PROGRESS_LINES]:
            amount = f"{size(p.current)}/{size(p.total)}" if p.total else size(p.current)
            done = " done" if p.completed is not None else ""
            head.append(Text(f"  {p.name} {amount}{done}", style="yellow"))
        if len(step.progress) > MAX_PROGRESS_LINES:
            head.append(Text(f"  … {len(step.progress) - MAX_PROGRESS_LINES} more", style="dim"))
        if step.error and step.state is not StepState.ERROR:
            head.append(Text(f"error: {one_line(step.error)}", style=f"bold {RED}"))
        return head


def _wrap(text: str, width: int) -> list[str]:
    """`text` folded to `width`, a long word broken rather than cut."""
    return textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False) or [text]


def why_line(whys: Mapping[str, Mapping[str, Why]], view: StepView) -> str | None:
    """`why: sources changed: src/app.py changed` for a step that missed, else None."""
    for platform in view.platforms:
        found = whys.get(platform, {}).get(f"{view.stage}#{view.index}")
        if found is not None:
            return f"why: {found.text}"
    return None


def log_row(stream: int, text: str) -> Text:
    """A log line with its stream: stdout plain, stderr marked `!` (and red)."""
    if stream == 2:
        row = Text("! ", style=f"bold {RED}")
        row.append_text(log_line(text, style=RED))
    else:
        row = Text("  ")
        row.append_text(log_line(text))
    return row
