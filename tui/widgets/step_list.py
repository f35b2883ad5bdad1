"""One platform's Dockerfile steps, in order, each with its state; the cursor picks a step."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import OptionList
from textual.widgets.option_list import Option

from mab.progress.model import StepState, StepView
from mab.tui.render import step_row
from mab.tui.stats import platform_name

RowKey = tuple[StepView, int, int, bool]


class StepList(OptionList):
    """Rows are keyed by step; only rows whose view changed are redrawn."""

    def __init__(self, platform: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="step-list")
        self.platform = platform
        self.border_title = platform_name(platform)
        self._keys: list[str] = []
        self._rows: list[RowKey] = []

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._keys)

    @property
    def selected_key(self) -> str | None:
        index = self.highlighted
        if index is None or not 0 <= index < len(self._keys):
            return None
        return self._keys[index]

    def select_key(self, key: str) -> bool:
        if key not in self._keys:
            return False
        self.highlighted = self._keys.index(key)
        return True

    def show(self, steps: Sequence[StepView], now: float | None, frame: int) -> None:
        keys = [v.key for v in steps]
        rows: list[RowKey] = []
        for v in steps:
            running = v.state is StepState.RUNNING
            tick = int((now or 0.0) * 10) if running else 0
            rows.append((v, frame if running else 0, tick, len(v.platforms) > 1))
        if keys != self._keys:
            keep = self.selected_key
            self.clear_options()
            self.add_options(
                Option(step_row(v, now, f, shared), id=v.key) for v, f, _, shared in rows
            )
            self._keys, self._rows = keys, rows
            if keep is not None and keep in keys:
                self.highlighted = keys.index(keep)
            return
        for index, (old, new) in enumerate(zip(self._rows, rows, strict=True)):
            if old != new:
                view, f, _, shared = new
                self.replace_option_prompt_at_index(index, step_row(view, now, f, shared))
        self._rows = rows
