"""A long log, one line per row, scrollable both ways, with search matches marked.

A line-API widget like `StepList`: only the rows on screen are rendered. When the view is at
the bottom, new lines keep it there (it follows the log); scrolled up, it stays put.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

MATCH = Style(bgcolor="#806000", bold=True)


class LogPane(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"log-pane--current"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Text] = []
        self.needle = ""
        self.matches: list[int] = []  # line indexes with a match
        self.current: int | None = None  # the match the view is on
        self._width = 0

    @property
    def at_end(self) -> bool:
        return self.scroll_offset.y >= self.max_scroll_y

    def set_lines(self, lines: Sequence[Text]) -> None:
        follow = self.at_end or not self.lines
        self.lines = list(lines)
        self._width = max((line.cell_len for line in self.lines), default=0)
        self.virtual_size = Size(self._width, len(self.lines))
        self._find()
        self.refresh()
        if follow:
            self.call_after_refresh(self.scroll_end, animate=False)

    def search(self, query: str) -> int:
        """Mark every line matching `query` (case-insensitive) and go to the first one at or
        below the top of the view; returns how many lines match."""
        self.needle = query
        self._find()
        top = self.scroll_offset.y
        after = [i for i in self.matches if i >= top]
        self._go(after[0] if after else (self.matches[0] if self.matches else None))
        return len(self.matches)

    def step(self, delta: int) -> None:
        """To the next (1) or previous (-1) match, wrapping around."""
        if not self.matches:
            return
        if self.current not in self.matches:
            top = self.scroll_offset.y
            ahead = [i for i in self.matches if i >= top] if delta > 0 else []
            self._go(ahead[0] if ahead else self.matches[0 if delta > 0 else -1])
            return
        index = (self.matches.index(self.current) + delta) % len(self.matches)
        self._go(self.matches[index])

    def _find(self) -> None:
        needle = self.needle.lower()
        self.matches = (
            [i for i, line in enumerate(self.lines) if needle in line.plain.lower()]
            if needle
            else []
        )
        if self.current not in self.matches:
            self.current = None

    def _go(self, index: int | None) -> None:
        self.current = index
        self.refresh()
        if index is not None:
            top = max(0, index - self.size.height // 3)
            self.scroll_to(y=top, animate=False)

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.size.width
        if not 0 <= index < len(self.lines):
            return Strip.blank(width, self.rich_style)
        text = self.lines[index]
        if self.needle and index in self.matches:
            text = text.copy()
            text.highlight_regex(re.compile(re.escape(self.needle), re.IGNORECASE), MATCH)
            if index == self.current:
                text.stylize(self.get_component_rich_style("log-pane--current"))
        segments = list(text.render(self.app.console))
        segments = list(Segment.apply_style(segments, self.rich_style))
        x = self.scroll_offset.x
        return Strip(segments).crop(x, x + width).extend_cell_length(width, self.rich_style)

    def on_resize(self) -> None:
        self.virtual_size = Size(self._width, len(self.lines))
