"""The end-of-build summary: per platform steps, cached, executed, hit ratio and time; the
slowest steps; the first step per platform that missed the cache."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mab.progress.summary import Summary
from mab.tui.render import seconds

SLOWEST = 3


def render_summary(summary: Summary) -> Text:
    out = Text(f"{summary.status.upper()} in {seconds(summary.duration_s)}\n", style="bold")
    if summary.platforms:
        width = max(len(p.platform) for p in summary.platforms)
        out.append(f"{'':{width}}  steps cached ran   hit   time\n", style="dim")
        for p in summary.platforms:
            out.append(
                f"{p.platform:{width}}  {p.steps:5} {p.cached:6} {p.executed:3} "
                f"{p.hit_ratio * 100:4.0f}% {seconds(p.duration_s):>6}\n"
            )
    if summary.slowest:
        out.append("slowest\n", style="dim")
        for s in summary.slowest[:SLOWEST]:
            where = f"[{','.join(p.split('/')[-1] for p in s.platforms)}] " if s.platforms else ""
            out.append(f"{seconds(s.duration_s):>6} {where}{s.label}\n")
    misses = [(p.platform, p.first_miss) for p in summary.platforms if p.first_miss]
    if misses:
        out.append("first cache miss\n", style="dim")
        for platform, miss in misses:
            out.append(f"{platform}: {miss.label} ({miss.state})\n")
    out.rstrip()
    out.no_wrap = True
    out.overflow = "ellipsis"
    return out


class SummaryPanel(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "summary"
        self.summary: Summary | None = None

    def show(self, summary: Summary) -> None:
        if summary != self.summary:
            self.summary = summary
            self.update(render_summary(summary))
