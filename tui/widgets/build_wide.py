"""Work that belongs to no platform: context transfer, cache import/export, export, push."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from mab.progress.model import Kind, StepState, StepView
from mab.tui.render import BADGE_WIDTH, YELLOW, badge, progress_text

RowKey = tuple[StepView, int, int]


class BuildWide(Static):
    """The build-wide vertices; when they do not fit, running and failed ones stay in view."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "build-wide"
        self._rows: list[RowKey] | None = None
        self._height = 0

    def show(self, views: Sequence[StepView], now: float | None, frame: int) -> None:
        rows: list[RowKey] = []
        for v in views:
            running = v.state is StepState.RUNNING
            rows.append((v, frame if running else 0, int((now or 0.0) * 10) if running else 0))
        height = self.content_size.height
        if rows == self._rows and height == self._height:
            return
        self._rows, self._height = rows, height
        self.update(self._render_rows(rows, now, max(height, 1)), layout=False)

    def _render_rows(self, rows: list[RowKey], now: float | None, height: int) -> Text:
        if not rows:
            return Text("nothing yet", style="dim")
        if len(rows) > height:
            urgent = [r for r in rows if r[0].state in (StepState.RUNNING, StepState.ERROR)]
            rest = [r for r in rows if r not in urgent]
            rows = [*rest[-(height - min(len(urgent), height)) :], *urgent][-height:]
            rows.sort(key=lambda r: r[0].started or 0.0)
        lines = []
        for view, frame, _ in rows:
            line = Text()
            if view.kind is Kind.CACHE_IMPORT and view.state is StepState.ERROR:
                # buildx carries on without it: a cache that is not there yet, not a failure
                line.append("NO CACHE".ljust(BADGE_WIDTH), style=YELLOW)
            else:
                line.append_text(badge(view, now, frame))
            line.append(" ")
            line.append(view.name.split("\n", 1)[0])
            if view.progress and (text := progress_text(view.progress)):
                line.append(
                    f" {text}", style="yellow" if view.state is StepState.RUNNING else "dim"
                )
            line.no_wrap = True
            line.overflow = "ellipsis"
            lines.append(line)
        return Text("\n").join(lines)
