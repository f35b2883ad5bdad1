"""The platforms side by side, one `StepList` each; `p` narrows the view to one of them."""

from __future__ import annotations

from collections.abc import Sequence

from textual.containers import Horizontal

from mab.progress.model import StepView
from mab.tui.widgets.step_list import StepList


class PlatformColumns(Horizontal):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lists: dict[str, StepList] = {}
        self.only: str | None = None  # the one platform shown, or None for all

    def reset(self) -> None:
        """A new run: drop the columns of the previous one."""
        if self.focused_list() is not None:
            self.app.set_focus(None)
        for step_list in self.lists.values():
            step_list.remove()
        self.lists = {}

    def show(
        self,
        columns: Sequence[tuple[str, Sequence[StepView | None]]],
        now: float | None,
        frame: int,
    ) -> None:
        """A column per platform, rows aligned (None: a blank row)."""
        slot = len(columns) > 1  # steps can be shared: keep room for their mark
        wanted = {platform for platform, _ in columns}
        for gone in [p for p in self.lists if p not in wanted]:
            self.lists.pop(gone).remove()
        if self.only is not None and self.only not in wanted:
            self.only = None
        for platform, steps in columns:
            step_list = self.lists.get(platform)
            if step_list is None:
                step_list = self.lists[platform] = StepList(platform)
                self.mount(step_list)
                step_list.display = self.only is None or self.only == platform
            step_list.show(steps, now, frame, slot)

    def cycle(self) -> str | None:
        """All platforms, then each one alone, then all again; returns the one shown."""
        names = list(self.lists)
        if not names:
            return None
        if len(names) == 1:
            self.only = None
        elif self.only is None:
            self.only = names[0]
        else:
            index = names.index(self.only) + 1 if self.only in names else len(names)
            self.only = names[index] if index < len(names) else None
        for name, step_list in self.lists.items():
            step_list.display = self.only is None or self.only == name
        return self.only

    def shown_lists(self) -> list[StepList]:
        return [s for s in self.lists.values() if s.display]

    def focused_list(self) -> StepList | None:
        return next((s for s in self.lists.values() if s.has_focus), None)
