"""One platform's Dockerfile steps, in order, each with its state; the cursor picks a step.
Rows line up across the platforms' columns: a blank row where this platform has no such step.

A line-API widget: each row is rendered once into a `Strip` and kept until that step's view
changes, so a redraw costs only the rows that changed (a long build redraws one timer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mab.progress.model import StepState, StepView
from mab.tui.render import step_row
from mab.tui.stats import platform_name

RowKey = tuple[StepView, int, int, bool, bool]  # view, frame, tick, shared, slot


class StepList(ScrollView, can_focus=True):
    """Rows are keyed by step; only rows whose view changed are rendered again."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"step-list--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("home", "move(-100000)", show=False),
        Binding("end", "move(100000)", show=False),
    ]

    @dataclass
    class Highlighted(Message):
        """The cursor moved to the step `key` (by key, click or program)."""

        step_list: StepList
        key: str

    def __init__(self, platform: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="step-list")
        self.platform = platform
        self.border_title = platform_name(platform)
        self.highlighted: int | None = None
        self._keys: list[str] = []
        self._rows: list[RowKey | None] = []
        self._texts: list[Text] = []
        self._strips: dict[tuple[int, int, bool], Strip] = {}

    @property
    def keys(self) -> tuple[str, ...]:
        """The steps listed (blank rows left out)."""
        return tuple(k for k in self._keys if k)

    @property
    def views(self) -> tuple[StepView | None, ...]:
        """The rows as shown: a step, or None for a blank row."""
        return tuple(row[0] if row is not None else None for row in self._rows)

    @property
    def selected_key(self) -> str | None:
        index = self.highlighted
        if index is None or not 0 <= index < len(self._keys):
            return None
        return self._keys[index] or None

    def select_key(self, key: str) -> bool:
        if not key or key not in self._keys:
            return False
        self._move_to(self._keys.index(key))
        return True

    def show(
        self, steps: Sequence[StepView | None], now: float | None, frame: int, slot: bool = False
    ) -> None:
        """`steps`: a row each, None for a blank (the step is another platform's only);
        `slot`: keep room for the shared-step mark."""
        rows: list[RowKey | None] = []
        for v in steps:
            if v is None:
                rows.append(None)
                continue
            running = v.state is StepState.RUNNING
            tick = int((now or 0.0) * 10) if running else 0
            rows.append((v, frame if running else 0, tick, len(v.platforms) > 1, slot))
        keys = [v.key if v is not None else "" for v in steps]
        if keys != self._keys:
            keep = self.selected_key
            known = {
                row[0].key: (row, text)
                for row, text in zip(self._rows, self._texts, strict=True)
                if row is not None
            }
            texts = []
            for row in rows:
                before = known.get(row[0].key) if row is not None else None
                if before is not None and before[0] == row:
                    texts.append(before[1])
                else:
                    texts.append(_text(row, now))
            self._keys, self._rows, self._texts = keys, rows, texts
            self._strips.clear()
            self.highlighted = keys.index(keep) if keep in keys else None
            self.virtual_size = Size(self.size.width, len(rows))
            self.refresh()
            return
        for index, (old, new) in enumerate(zip(self._rows, rows, strict=True)):
            if old != new:
                self._texts[index] = _text(new, now)
                self._forget(index)
                self.refresh(Region(0, index - self.scroll_offset.y, self.size.width, 1))
        self._rows = rows

    def _forget(self, index: int) -> None:
        for key in [k for k in self._strips if k[0] == index]:
            del self._strips[key]

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.size.width
        if not 0 <= index < len(self._texts):
            return Strip.blank(width, self.rich_style)
        cursor = index == self.highlighted
        cache_key = (index, width, cursor)
        strip = self._strips.get(cache_key)
        if strip is None:
            text = self._texts[index].copy()
            text.truncate(width, overflow="ellipsis")
            text.pad_right(width - text.cell_len)
            post = None
            if cursor:
                marked = self.get_component_rich_style("step-list--cursor")
                post = Style(bgcolor=marked.bgcolor, bold=marked.bold)
            segments = Segment.apply_style(text.render(self.app.console), self.rich_style, post)
            strip = self._strips[cache_key] = Strip(segments).crop(0, width)
        return strip

    def on_resize(self) -> None:
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(self._texts))

    def _move_to(self, index: int, step: int = 1) -> None:
        """Put the cursor on row `index`, or the nearest step past it going `step`-wards
        (blank rows are skipped)."""
        if not any(self._keys):
            return
        last = len(self._keys) - 1
        index = max(0, min(index, last))
        while not self._keys[index]:
            index += step
            if not 0 <= index <= last:
                step, index = -step, max(0, min(index, last))
        previous, self.highlighted = self.highlighted, index
        for row in (previous, index):
            if row is not None:
                self._forget(row)
        self.refresh()
        self.scroll_to_region(Region(0, index, 1, 1), animate=False)
        self.post_message(self.Highlighted(self, self._keys[index]))

    def action_move(self, delta: int) -> None:
        start = self.highlighted if self.highlighted is not None else -1 if delta > 0 else 0
        self._move_to(start + delta, 1 if delta > 0 else -1)

    def on_click(self, event: Click) -> None:
        index = event.y + self.scroll_offset.y
        if 0 <= index < len(self._keys) and self._keys[index]:
            self.focus()
            self._move_to(index)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._texts)


def _text(row: RowKey | None, now: float | None) -> Text:
    if row is None:
        return Text("")
    view, frame, _, shared, slot = row
    return step_row(view, now, frame, shared, slot)
