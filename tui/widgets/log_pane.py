"""A long log, its long lines wrapped to the width (as a terminal shows them), with search
matches marked.

A line-API widget like `StepList`: only the rows on screen are rendered. A log line longer
than the pane takes as many rows as it needs, cut at the width, character by character (a log
is not prose: no word wrapping). When the view is at the bottom, new lines keep it there (it
follows the log); scrolled up, it stays put.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
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
        self._rows: list[tuple[int, Text]] = []  # (line index, the part of it on that row)
        self._first_row: list[int] = []  # per line, its first row
        self._laid_out_at = 0  # the pane's width when the rows were cut
        self._text_width = 0  # the width they were cut to (less a scrollbar's column)

    @property
    def at_end(self) -> bool:
        return self.scroll_offset.y >= self.max_scroll_y

    def set_lines(self, lines: Sequence[Text]) -> None:
        follow = self.at_end or not self.lines
        self.lines = list(lines)
        self._layout()
        self._find()
        self.refresh()
        if follow:
            self.call_after_refresh(self.scroll_end, animate=False)

    def _layout(self) -> None:
        """Rows cut to the width the text has: the pane's, less the scrollbar's column when
        the rows are more than the pane shows (no character goes under the bar)."""
        full = max(1, self.size.width)
        rows, first = self._cut_all(full)
        width = full
        if len(rows) > self.size.height:
            width = max(1, full - self.styles.scrollbar_size_vertical)
            rows, first = self._cut_all(width)
        self._rows, self._first_row, self._laid_out_at = rows, first, full
        self._text_width = width
        self.virtual_size = Size(width, len(rows))

    def _cut_all(self, width: int) -> tuple[list[tuple[int, Text]], list[int]]:
        rows: list[tuple[int, Text]] = []
        first: list[int] = []
        for index, line in enumerate(self.lines):
            first.append(len(rows))
            rows.extend((index, part) for part in _cut(line, width))
        return rows, first

    def _line_at_top(self) -> int:
        top = self.scroll_offset.y
        return self._rows[top][0] if 0 <= top < len(self._rows) else 0

    def search(self, query: str) -> int:
        """Mark every line matching `query` (case-insensitive) and go to the first one at or
        below the top of the view; returns how many lines match."""
        self.needle = query
        self._find()
        top = self._line_at_top()
        after = [i for i in self.matches if i >= top]
        self._go(after[0] if after else (self.matches[0] if self.matches else None))
        return len(self.matches)

    def step(self, delta: int) -> None:
        """To the next (1) or previous (-1) match, wrapping around."""
        if not self.matches:
            return
        if self.current not in self.matches:
            top = self._line_at_top()
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
        if index is not None and index < len(self._first_row):
            top = max(0, self._first_row[index] - self.size.height // 3)
            self.scroll_to(y=top, animate=False)

    def render_line(self, y: int) -> Strip:
        row = y + self.scroll_offset.y
        width = self.size.width
        if not 0 <= row < len(self._rows):
            return Strip.blank(width, self.rich_style)
        index, text = self._rows[row]
        if self.needle and index in self.matches:
            text = text.copy()
            text.highlight_regex(re.compile(re.escape(self.needle), re.IGNORECASE), MATCH)
            if index == self.current:
                text.stylize(self.get_component_rich_style("log-pane--current"))
        segments = list(text.render(self.app.console))
        segments = list(Segment.apply_style(segments, self.rich_style))
        strip = Strip(segments).crop(0, self._text_width or width)
        return strip.extend_cell_length(width, self.rich_style)

    def on_resize(self) -> None:
        if self.size.width != self._laid_out_at:
            line = self._line_at_top()
            self._layout()
            if line < len(self._first_row):
                self.scroll_to(y=self._first_row[line], animate=False)


def _cut(line: Text, width: int) -> list[Text]:
    """`line` in parts of at most `width` cells (a wide character is never split)."""
    plain = line.plain
    if cell_len(plain) <= width:
        return [line]
    offsets: list[int] = []
    used = 0
    for at, char in enumerate(plain):
        size = cell_len(char)
        if used + size > width and used:
            offsets.append(at)
            used = 0
        used += size
    return list(line.divide(offsets))
