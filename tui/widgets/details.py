"""The selected step: what it is, its cache state, sub-progress, error and live log tail.

stdout lines are plain; stderr lines are marked `!` (and red), so they stay apart without
colour. The log tail fills whatever height is left, newest line last.
"""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.widget import Widget

from mab.progress.model import StepDetail, StepState
from mab.tui.render import RED, STATE_STYLE, running_for, seconds, size

CACHE_NOTE = {
    StepState.PENDING: "waiting for its inputs",
    StepState.RUNNING: "running: not in the cache",
    StepState.CACHED: "cache hit: restored, not run",
    StepState.DONE: "cache miss: it ran",
    StepState.ERROR: "failed",
    StepState.CANCELED: "canceled before it finished",
}
MAX_PROGRESS_LINES = 4
ERROR_LINES = 2  # the rest of the room is for the step's last log lines


class StepDetails(Widget):
    """Shows one `StepDetail`; set it with `show`, redrawn only when it changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "details"
        self.detail: StepDetail | None = None
        self._now: float | None = None

    def show(self, detail: StepDetail | None, now: float | None) -> None:
        running = detail is not None and detail.step.state is StepState.RUNNING
        now = round(now, 1) if running and now is not None else None
        if detail == self.detail and now == self._now:
            return
        self.detail, self._now = detail, now
        self.refresh()

    def render(self) -> Text:
        detail = self.detail
        if detail is None:
            return Text("Select a step (↑/↓, tab, or click) to see its log.", style="dim")
        height = max(1, self.content_size.height)
        head = self._head(detail)
        room = max(0, height - len(head) - 1)
        lines = list(head)
        tail = detail.log.lines[-room:] if room else ()
        if detail.log.lines:
            dropped = len(detail.log.lines) - len(tail) + detail.log.dropped
            note = f"log ({dropped} earlier lines not shown)" if dropped else "log"
            lines.append(Text(f"── {note}; stderr marked !", style="dim"))
            for stream, text in tail:
                if stream == 2:
                    lines.append(Text(f"! {text}", style="red", no_wrap=True, overflow="ellipsis"))
                else:
                    lines.append(Text(f"  {text}", no_wrap=True, overflow="ellipsis"))
        elif detail.step.state is not StepState.PENDING:
            lines.append(Text("(no output)", style="dim"))
        return Text("\n").join(lines[: max(height, len(head))])

    def _head(self, detail: StepDetail) -> list[Text]:
        step = detail.step
        title = Text(step.label.split("\n", 1)[0], style="bold", no_wrap=True, overflow="ellipsis")
        state = Text(str(step.state).upper(), style=STATE_STYLE[step.state])
        took = running_for(step, self._now)
        if took is not None and step.state is not StepState.CACHED:
            state.append(f" {seconds(took)}")
        state.append(f"  {CACHE_NOTE[step.state]}", style="dim")
        if step.platforms:
            who = "shared by " if len(step.platforms) > 1 else ""
            state.append(f"  {who}{', '.join(step.platforms)}", style="italic")
        state.no_wrap = True
        state.overflow = "ellipsis"
        head = [title, state]
        for p in step.progress[:MAX_PROGRESS_LINES]:
            amount = f"{size(p.current)}/{size(p.total)}" if p.total else size(p.current)
            done = " done" if p.completed is not None else ""
            head.append(Text(f"  {p.name} {amount}{done}", style="yellow", no_wrap=True))
        if len(step.progress) > MAX_PROGRESS_LINES:
            head.append(Text(f"  … {len(step.progress) - MAX_PROGRESS_LINES} more", style="dim"))
        if step.error:
            width = max(20, self.content_size.width)
            lines = textwrap.wrap(f"error: {step.error}", width) or ["error"]
            if len(lines) > ERROR_LINES:
                lines = [*lines[: ERROR_LINES - 1], lines[ERROR_LINES - 1][: width - 1] + "…"]
            head += [Text(line, style=f"bold {RED}") for line in lines]
        return head
