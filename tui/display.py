"""The app as a run's display: what the session says arrives as messages in the app's queue
(`ModelChanged`, `RunNotice`; the worker posts `RunFinished`). Posting is thread-safe, so the
session's finishing steps may speak from their worker thread."""

from __future__ import annotations

from textual.message_pump import MessagePump

from mab.progress.model import BuildModel
from mab.run.display import Display
from mab.run.options import RunOptions
from mab.run.result import BuildResult
from mab.tui.messages import ModelChanged, RunNotice


class TuiDisplay:
    def __init__(self, app: MessagePump, number: int) -> None:
        self._app = app
        self.number = number
        self.pending = False  # a ModelChanged is on its way: no second one until it is taken

    def started(self, model: BuildModel, options: RunOptions) -> None:
        pass

    def model_changed(self) -> None:
        if not self.pending:
            self.pending = True
            self._app.post_message(ModelChanged(self.number))

    def taken(self) -> None:
        """The app has seen the change; the next one is worth a message."""
        self.pending = False

    def notice(self, text: str) -> None:
        self._app.post_message(RunNotice(self.number, text))

    def finished(self, result: BuildResult) -> None:
        pass  # the worker posts `RunFinished(number, result)`

    def for_export(self, platform: str) -> Display:
        return self
