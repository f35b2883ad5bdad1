"""The key bindings, and what the view shows."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]Keys[/b]
  r          rerun with the same arguments
  R          rerun without cache (asks first)
  c, ctrl+c  cancel the running build (a second ctrl+c quits)
  p          show all platforms, or one at a time
  l          show or hide the details and log pane
  e          export the summary as JSON and Markdown
  ↑ ↓ tab    choose a step (or click one)
  ?          this help
  q          quit

[b]States[/b]
  ⠋ 1.2s     running, with its time so far
  CACHED     restored from the build cache
  DONE 3.4s  ran (a cache miss), and how long it took
  ERROR      failed; its error and last log lines are in the details pane
  CANCELED   stopped before it finished
  ⇄2         one step shared by two platforms

[b]Header[/b], per platform
  cache hits over the Dockerfile's instructions; time; how many times
  slower than the fastest platform (x); on a rerun, the change against
  the previous run (hit ratio points, seconds).

Press escape, q or ? to close."""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(HELP, id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
