"""Messages for the user, on a line of their own above the details pane.

Textual's toasts float over the bottom right, where the summary is; this line takes its own
row while a message is shown (the step columns give it up), so a message hides nothing.
"""

from __future__ import annotations

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

STYLE = {"information": "bold", "warning": "bold yellow", "error": "bold red"}
MAX_LINES = 3


class NoticeLine(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.message = ""
        self._timer: Timer | None = None

    def say(
        self, message: str, *, title: str = "", severity: str = "information", timeout: float = 5.0
    ) -> None:
        lines = message.splitlines() or [""]
        if len(lines) > MAX_LINES:
            lines = [*lines[: MAX_LINES - 1], f"{lines[MAX_LINES - 1]} …"]
        text = Text()
        for i, line in enumerate(lines):
            if i:
                text.append("\n")
            text.append(f"{title}: " if title and not i else "  " if title else "", style="dim")
            text.append(line, style=STYLE.get(severity, "bold"))
        text.no_wrap = True
        text.overflow = "ellipsis"
        self.message = message
        self.update(text)
        self.display = True
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(timeout, self.clear)

    def clear(self) -> None:
        self.message = ""
        self.display = False
