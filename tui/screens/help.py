"""The key bindings, and what the view shows."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]Keys[/b]
  r        rerun, same arguments   R       rerun without cache (asks first)
  c        cancel the build        ctrl+c  cancel; a second one quits
  p        one platform, or all    e       export summary: JSON, Markdown
  h        build history: this image's trends, from the database the build
           records into (--history PATH, else the default)
  l        full log: / search, n N next/previous, a whole build, ← → step
  ↑ ↓ tab  choose a step, or click q       quit (asks while a build runs)

[b]States[/b]
  ⠋ 1.2s     running, time so far    CACHED    restored from the build cache
  DONE 3.4s  ran: a cache miss       CANCELED  stopped before it finished
  ERROR      failed: exit code and last log lines in the details pane
  ⇄2         one step shared by two platforms; a blank row: this platform
             has no such step (rows line up across platforms)

[b]Header[/b], per platform
  cache hits over the Dockerfile's instructions, time, and "2.0x slower":
  time over the fastest platform's, on the steps every platform ran; after
  a rerun ends, the change against the run before (hit points, seconds).

On quit, the summary stays in the terminal.  escape, q or ? closes this."""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(HELP, id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
