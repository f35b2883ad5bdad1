"""The header: what is built, where, how it is going; per platform cache use and time."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from mab.tui.render import delta_text, gauge, seconds
from mab.tui.run_state import RunState
from mab.tui.stats import (
    Delta,
    RunRecord,
    delta,
    platform_name,
    platform_stats,
    slowdowns,
)

EMULATED = "emulated (QEMU)"
STATE_STYLE = {
    "running": "bold yellow",
    "canceling": "bold magenta",
    "succeeded": "bold green",
    "failed": "bold red",
    "canceled": "bold magenta",
}


@dataclass(frozen=True, slots=True)
class PlatformLine:
    name: str
    cached: int
    steps: int
    ratio: float | None
    elapsed: float
    slowdown: float | None  # time over the fastest platform's, on the steps both finished
    change: Delta | None  # against the previous run of the session, once this one ended
    emulated: bool = False  # the builder runs this platform through QEMU


@dataclass(frozen=True, slots=True)
class HeaderInfo:
    title: str
    builder: str
    state: str
    elapsed: float
    run: int
    no_cache: bool
    platforms: tuple[PlatformLine, ...]


def _platform(line: PlatformLine, name_width: int) -> Text:
    row = Text(f" {line.name.ljust(name_width)} ", style="bold")
    row.append_text(gauge(line.ratio))
    ratio = "  -" if line.ratio is None else f"{line.ratio * 100:3.0f}%"
    row.append(f" {ratio} cached {line.cached}/{line.steps}")
    row.append(f"  {seconds(line.elapsed):>6}")
    if line.slowdown is not None and line.slowdown >= 1.05:
        row.append(f" {line.slowdown:.1f}x slower", style="yellow")
    if line.emulated:
        row.append(f"{',' if line.slowdown and line.slowdown >= 1.05 else ''} {EMULATED}", "dim")
    row.append_text(delta_text(line.change))
    row.no_wrap = True
    row.overflow = "ellipsis"
    return row


def render_header(info: HeaderInfo) -> Text:
    """The overall status first, so a long image or file name is what gets cut, never it."""
    top = Text(f" {info.state.upper()} ", style=f"reverse {STATE_STYLE.get(info.state, 'bold')}")
    top.append(f" {seconds(info.elapsed)}")
    if info.run > 1 or info.no_cache:
        top.append(f"  run {info.run}{' (no cache)' if info.no_cache else ''}", style="dim")
    top.append("  mab ", style="bold")
    top.append(info.title, style="bold")
    if info.builder:
        top.append(f" on {info.builder}", style="dim")
    top.no_wrap = True
    top.overflow = "ellipsis"
    lines = [top]
    width = max((len(p.name) for p in info.platforms), default=0)
    lines += [_platform(p, width) for p in info.platforms]
    return Text("\n").join(lines)


def header_info(
    state: RunState, now: float | None, previous: RunRecord | None, title: str, builder: str
) -> HeaderInfo:
    """What the header shows of a run, compared with the `previous` one once it ended (not
    against a run half done)."""
    model = state.model
    stats = platform_stats(model)
    slower = slowdowns(model.steps(), [p.platform for p in stats], now if state.running else None)
    before = previous if not state.running else None
    lines = tuple(
        PlatformLine(
            platform_name(p.platform),
            p.cached,
            p.steps,
            p.hit_ratio,
            round(p.elapsed(now), 1),
            slower.get(p.platform),
            delta(p, before.platform(p.platform) if before else None, now),
            p.platform in state.session.options.emulated,
        )
        for p in stats
    )
    first, last = model.span()
    end = now if state.running else last
    total = max(0.0, end - first) if first is not None and end is not None else 0.0
    if state.result is not None:  # over: the run's own duration, as every display says it
        total = state.result.summary.duration_s
    status = str(model.status)
    if state.running and state.cancel_requested:
        status = "canceling"
    return HeaderInfo(title, builder, status, round(total, 1), state.number, state.no_cache, lines)


class BuildHeader(Static):
    """Redrawn only when what it shows changed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.info: HeaderInfo | None = None

    def show(self, info: HeaderInfo) -> None:
        if info != self.info:
            resized = self.info is None or len(info.platforms) != len(self.info.platforms)
            self.info = info
            self.update(render_header(info), layout=resized)
