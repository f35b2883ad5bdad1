"""The timeline at terminal resolution (`t`): per platform, the lanes of steps that ran at the
same time, one column per slice of the build's time, then the build-wide work.

The same lanes as the HTML report and the trace (`mab.progress.timeline`). Each state has its
own character as well as its colour (░ cached, █ executed, X failed, / canceled, ▶ running), so
it reads with `NO_COLOR`; where bars share a column the most telling state wins (a failure over
a run over a hit). Under each platform, its longest step. Redraws while the build runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from mab.progress.model import BuildModel, StepState
from mab.progress.timeline import Bar, Timeline, timeline_of
from mab.tui.render import STATE_STYLE, seconds

REFRESH_S = 0.25
HINT = "░ cached  █ executed  X failed  / canceled  ▶ running     esc close"
GUTTER = 4  # "  1 " before each lane
CHARS = {
    StepState.PENDING: "·",
    StepState.CACHED: "░",
    StepState.DONE: "█",
    StepState.CANCELED: "/",
    StepState.RUNNING: "▶",
    StepState.ERROR: "X",
}
RANK = {state: i for i, state in enumerate(CHARS)}  # later wins a shared column
ModelGetter = Callable[[], BuildModel | None]


def _axis(end: float, plot: int) -> Text:
    """`0s`, and a few round times along the plot."""
    line = [" "] * (GUTTER + plot)
    step = _round_step(end, max(1, plot // 14))
    t = 0.0
    while t <= end + 1e-9:
        label = seconds(t) if t else "0s"
        at = GUTTER + int(t / end * (plot - 1)) if end else GUTTER
        if at + len(label) <= len(line) and all(c == " " for c in line[max(0, at - 1) : at]):
            line[at : at + len(label)] = label
        t += step
    return Text("".join(line).rstrip(), style="dim")


def _round_step(end: float, ticks: int) -> float:
    raw = max(end, 1e-3) / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    return next((m * power for m in (1, 2, 5) if m * power >= raw), 10 * power)


def _lane(bars: list[Bar], scale: float, plot: int) -> Text:
    cells: list[StepState | None] = [None] * plot
    for bar in bars:
        first = min(plot - 1, int(bar.start * scale))
        last = min(plot, max(first + 1, math.ceil(bar.end * scale)))
        for i in range(first, last):
            held = cells[i]
            if held is None or RANK[bar.state] >= RANK[held]:
                cells[i] = bar.state
    text = Text()
    for state in cells:
        if state is None:
            text.append(" ")
        else:
            text.append(CHARS[state], style=STATE_STYLE[state])
    text.rstrip()
    return text


def timeline_lines(timeline: Timeline, width: int) -> list[Text]:
    """The timeline drawn `width` columns wide."""
    plot = max(10, width - GUTTER - 1)
    end = max(timeline.end, 1e-3)
    scale = plot / end
    lines = [_axis(end, plot)]
    for track in timeline.tracks:
        head = Text(track.name, style="bold")
        if track.span is not None:
            head.append(f"  {seconds(track.span[1] - track.span[0])}", style="dim")
        lanes = "1 lane" if track.lanes == 1 else f"{track.lanes} lanes"
        head.append(f"  {len(track.bars)} runs on {lanes}", style="dim")
        lines.append(head)
        for lane in range(track.lanes):
            row = Text(f"{lane + 1:>3} ", style="dim")
            row.append_text(_lane([b for b in track.bars if b.lane == lane], scale, plot))
            lines.append(row)
        if track.bars:
            longest = max(track.bars, key=lambda b: b.duration)
            note = Text(f"    longest: {seconds(longest.duration)} ", style="dim")
            note.append(longest.label)
            note.truncate(width, overflow="ellipsis")
            lines.append(note)
    if len(lines) == 1:
        lines.append(Text("No step has started yet.", style="dim"))
    return lines


class TimelineScreen(Screen[None]):
    DEFAULT_CSS = """
    TimelineScreen { background: $surface; }
    TimelineScreen #timeline-title { height: 1; }
    TimelineScreen #timeline-body { height: 1fr; }
    TimelineScreen #timeline-status { height: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,t,q", "close", "Close")]

    def __init__(self, model: ModelGetter) -> None:
        super().__init__()
        self.model = model
        self._shown: tuple[int, int, int] | None = None

    def compose(self) -> ComposeResult:
        title = Text(" TIMELINE ", style="bold reverse")
        title.append("  what ran when, per platform; a row per concurrent lane", style="bold")
        title.no_wrap = True
        title.overflow = "ellipsis"
        yield Static(title, id="timeline-title")
        with VerticalScroll(id="timeline-body"):
            yield Static("", id="timeline-lines")
        yield Static(Text(HINT, style="dim"), id="timeline-status")

    def on_mount(self) -> None:
        self.query_one("#timeline-body").focus()
        self.refresh_timeline()
        self.set_interval(REFRESH_S, self.refresh_timeline)

    def on_resize(self) -> None:
        self.refresh_timeline(force=True)

    def refresh_timeline(self, *, force: bool = False) -> None:
        model = self.model()
        if model is None:
            return
        width = max(20, self.size.width - 1)
        shown = (id(model), model.version, width)
        if shown == self._shown and not force:
            return
        self._shown = shown
        lines = timeline_lines(timeline_of(model), width)
        self.query_one("#timeline-lines", Static).update(Text("\n").join(lines))

    def action_close(self) -> None:
        self.dismiss(None)
