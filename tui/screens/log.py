"""The full-screen log: the selected step's output, or the whole build's, following the build.

`l` opens it on the step the details pane shows, and follows that one (the newest running
step, until a step is chosen); ← → go to the previous and next step, `a`
switches between the step and the whole build (every step's output in Dockerfile order, then
buildx's own lines). `/` searches, `n`/`N` go to the next and previous match. stdout lines are
plain, stderr lines marked `!`. The view redraws when the build moved, at most a few times a
second, and stays at the bottom (following) unless scrolled up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, Static

from mab.progress.model import BuildModel, StepState, StepView
from mab.tui.render import STATE_STYLE, one_line
from mab.tui.widgets.details import log_row
from mab.tui.widgets.log_pane import LogPane

REFRESH_S = 0.25
HINT = "stderr marked !  ← → step  a step/whole build  / search  n N match  esc close"
ModelGetter = Callable[[], BuildModel | None]
KeyGetter = Callable[[], str | None]


def _title(view: StepView) -> str:
    where = f"[{', '.join(view.platforms)}] " if view.platforms else ""
    return where + one_line(view.label)


def step_lines(model: BuildModel, key: str) -> list[Text]:
    detail = model.step(key)
    if detail is None:
        return [Text("This step is not in the current run.", style="dim")]
    lines: list[Text] = []
    if detail.log.dropped:
        lines.append(Text(f"… {detail.log.dropped} earlier lines not kept", style="dim"))
    lines += [log_row(stream, text) for stream, text in detail.log.lines]
    if not detail.log.lines:
        lines.append(Text("(no output)", style="dim"))
    if detail.step.error:
        lines.append(
            Text(f"error: {one_line(detail.step.error)}", style=STATE_STYLE[StepState.ERROR])
        )
    return lines


def build_lines(model: BuildModel) -> list[Text]:
    """Every step with output (or an error), in Dockerfile order, then the build-wide work and
    buildx's own text."""
    lines: list[Text] = []
    for view in (*model.steps(), *model.build_wide()):
        if not view.log_lines and not view.error:
            continue
        head = Text(f"── {_title(view)} ", style="bold")
        head.append(str(view.state).upper(), style=STATE_STYLE[view.state])
        lines.append(head)
        lines += step_lines(model, view.key)
    if model.text:
        lines.append(Text("── buildx", style="bold"))
        lines += [Text(f"  {t}") for t in model.text]
    return lines or [Text("No output yet.", style="dim")]


class LogScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,l,q", "close", "Close"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "match(1)", "Next"),
        Binding("N", "match(-1)", "Prev", key_display="N"),
        Binding("a", "toggle_all", "Step/all"),
        Binding("left", "step(-1)", "◀ Step", key_display="←"),
        Binding("right", "step(1)", "Step ▶", key_display="→"),
    ]

    def __init__(
        self, model: ModelGetter, key: str | None, follow: KeyGetter | None = None
    ) -> None:
        """`follow`: the step to show while the user has not picked one here (the one the
        details pane shows: the newest running step until one is chosen)."""
        super().__init__()
        self.model = model
        self.key = key
        self.follow = follow
        self.all = key is None  # the whole build's log
        self._shown: tuple[int, int, str | None, bool] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="log-title")
        yield LogPane(id="log-pane")
        yield Input(placeholder="search (enter: go, escape: close)", id="log-search")
        yield Static(Text(HINT, style="dim"), id="log-status")

    def on_mount(self) -> None:
        self.query_one("#log-search", Input).display = False
        self.query_one(LogPane).focus()
        self.refresh_log()
        self.set_interval(REFRESH_S, self.refresh_log)

    def refresh_log(self, *, force: bool = False) -> None:
        model = self.model()
        if model is None:
            return
        if self.follow is not None and not self.all:
            self.key = self.follow() or self.key
        shown = (id(model), model.version, self.key, self.all)
        if shown == self._shown and not force:
            return
        self._shown = shown
        title = Text(" LOG ", style="bold reverse")
        if self.all or self.key is None:
            title.append("  the whole build", style="bold")
            lines = build_lines(model)
        else:
            view = model.view(self.key)
            if view is not None:
                title.append(f" {str(view.state).upper()} ", style=STATE_STYLE[view.state])
            title.append(f" {_title(view) if view else 'a step of an earlier run'}", style="bold")
            lines = step_lines(model, self.key)
        title.no_wrap = True
        title.overflow = "ellipsis"
        self.query_one("#log-title", Static).update(title)
        self.query_one(LogPane).set_lines(lines)

    def _status(self, text: str) -> None:
        self.query_one("#log-status", Static).update(Text(text, style="dim"))

    def action_close(self) -> None:
        field = self.query_one("#log-search", Input)
        if field.has_focus:  # escape in the search field closes the field only
            field.display = False
            self.query_one(LogPane).focus()
            return
        self.dismiss(None)

    def action_search(self) -> None:
        field = self.query_one("#log-search", Input)
        field.display = True
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        pane = self.query_one(LogPane)
        found = pane.search(event.value.strip())
        event.input.display = False
        pane.focus()
        if not event.value.strip():
            self._status(HINT)
        elif found:
            lines = "line matches" if found == 1 else "lines match"
            self._status(f"{found} {lines} {event.value.strip()!r}: n next, N previous")
        else:
            self._status(f"no line matches {event.value.strip()!r}")

    def action_match(self, delta: int) -> None:
        self.query_one(LogPane).step(delta)

    def action_toggle_all(self) -> None:
        self.all = not self.all or self.key is None
        self.refresh_log(force=True)

    def action_step(self, delta: int) -> None:
        """The previous or next step in Dockerfile order (from the whole build: the first)."""
        model = self.model()
        if model is None:
            return
        keys = [v.key for v in model.steps()]
        if not keys:
            return
        self.follow = None  # the user picks the step from now on
        if self.all or self.key not in keys:
            self.key = keys[0 if delta > 0 else -1]
        else:
            self.key = keys[max(0, min(len(keys) - 1, keys.index(self.key) + delta))]
        self.all = False
        self.refresh_log(force=True)
