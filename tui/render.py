"""Pure text rendering shared by the widgets: durations, state badges, gauges, step rows.

Every state has a word as well as a colour (CACHED, DONE 1.2s, ERROR, CANCELED), so the view
reads the same with `NO_COLOR`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rich.text import Text

from mab.progress.ansi import clean
from mab.progress.model import Progress, StepState, StepView
from mab.tui.stats import Delta

_DIGEST = re.compile(r"(@sha256:[0-9a-f]{12})[0-9a-f]+")
EXIT_CODE = re.compile(r"did not complete successfully: exit code: (\d+)")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
BADGE_WIDTH = 10

# Truecolor, not ANSI names: line-API widgets get their segments as they are.
GREEN, CYAN, YELLOW, RED, MAGENTA, GREY = (
    "#5fbf6f",
    "#40b8d8",
    "#e0c040",
    "#f05050",
    "#c070d0",
    "#8a8a8a",
)
STATE_STYLE = {
    StepState.PENDING: GREY,
    StepState.RUNNING: f"bold {YELLOW}",
    StepState.CACHED: CYAN,
    StepState.DONE: GREEN,
    StepState.ERROR: f"bold {RED}",
    StepState.CANCELED: MAGENTA,
}


def seconds(value: float | None) -> str:
    """0.4s, 12.3s, 2m05s, 1h02m."""
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f}s"
    if value < 3600:
        minutes, rest = divmod(int(value), 60)
        return f"{minutes}m{rest:02d}s"
    hours, rest = divmod(int(value) // 60, 60)
    return f"{hours}h{rest:02d}m"


def size(value: int) -> str:
    """Bytes in SI units, short: 512B, 3.4kB, 12.0MB."""
    if value < 1000:
        return f"{value}B"
    exp = min(int(math.log(value, 1000)), 3)
    return f"{value / 1000**exp:.1f}{'kMG'[exp - 1]}B"


def running_for(view: StepView, now: float | None) -> float | None:
    if view.started is None:
        return None
    if view.completed is not None:
        return view.duration_s
    return max(0.0, (now or view.started) - view.started)


ENDED = -1  # the `frame` of a run that is over: a step still running there never finished


def badge(view: StepView, now: float | None, frame: int) -> Text:
    state = view.state
    if state is StepState.RUNNING and frame == ENDED:
        return Text("UNFINISHED".ljust(BADGE_WIDTH), style=GREY)
    if state is StepState.RUNNING:
        word = f"{SPINNER[frame % len(SPINNER)]} {seconds(running_for(view, now))}"
    elif state is StepState.DONE:
        word = f"DONE {seconds(view.duration_s)}"
    elif state is StepState.PENDING:
        word = "·"
    else:
        word = str(state).upper()
    return Text(word.ljust(BADGE_WIDTH), style=STATE_STYLE[state])


def progress_total(progress: Sequence[Progress]) -> tuple[int, int]:
    """(current, total) over the sub-progress entries that have a total (layers)."""
    sized = [p for p in progress if p.total > 0]
    return sum(p.current for p in sized), sum(p.total for p in sized)


def progress_text(progress: Sequence[Progress]) -> str:
    current, total = progress_total(progress)
    if not total:
        return ""
    return f"{size(current)}/{size(total)}"


def step_row(view: StepView, now: float | None, frame: int, shared: bool, slot: bool) -> Text:
    """One line of a platform's step list. `slot`: the column keeps room for the `⇄2` mark of
    a step shared by platforms before the label, so a narrow column never cuts it away."""
    row = Text()
    row.append_text(badge(view, now, frame))
    row.append(" ")
    if shared:
        row.append(f"⇄{len(view.platforms)} ", style=f"italic {CYAN}")
    elif slot:
        row.append("   ")
    label = one_line(_DIGEST.sub(r"\1…", view.label.split("\n", 1)[0]))
    row.append(label, style="bold" if view.state is StepState.RUNNING else "")
    if view.progress and view.state is StepState.RUNNING and (text := progress_text(view.progress)):
        row.append(f" {text}", style=YELLOW)
    row.no_wrap = True
    row.overflow = "ellipsis"
    return row


def gauge(ratio: float | None, width: int = 10) -> Text:
    """A bar: filled cells for cache hits, the rest for misses."""
    if ratio is None:
        return Text("░" * width, style="dim")
    filled = round(ratio * width)
    bar = Text("█" * filled, style="cyan")
    bar.append("░" * (width - filled), style="dim")
    return bar


def delta_text(change: Delta | None) -> Text:
    """`(+40pp, -12.3s)`: a rerun's change against the previous run."""
    if change is None:
        return Text("")
    out = Text(" (")
    if change.hit_points is not None:
        points = round(change.hit_points)
        style = "green" if points > 0 else "red" if points < 0 else "dim"
        out.append(f"{points:+d}pp", style=style)
        out.append(", ")
    faster = change.seconds < 0
    sign = "-" if faster else "+"
    out.append(f"{sign}{seconds(abs(change.seconds))}", style="green" if faster else "red")
    out.append(")")
    return out


def log_line(text: str, *, style: str = "") -> Text:
    """A log line as a step wrote it: its colours shown, no other control sequence (the model
    keeps only colour codes; `clean` again in case a line came from elsewhere)."""
    if "\x1b" not in text:
        line = Text(clean(text), style=style)
    else:
        line = Text.from_ansi(clean(text, colour=True), style=style)
    line.no_wrap = True
    line.overflow = "ellipsis"
    return line


def one_line(text: str) -> str:
    """A command on one line: `RUN a; \\` continuations collapsed."""
    return " ".join(clean(text).split())


def failure(view: StepView) -> str:
    """What failed and how, shortest first: `exit code 1: test 3/3 RUN make check`, else the
    error's own words."""
    found = EXIT_CODE.search(view.error)
    label = one_line(_DIGEST.sub(r"\1…", view.label))
    if found is not None:
        return f"exit code {found.group(1)}: {label}"
    return f"{one_line(view.error) or 'failed'} ({label})"
