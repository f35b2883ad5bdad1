"""The end-of-build summary, from the run's result: per platform steps, cached, executed, hit
ratio and time; the slowest steps; the first step per platform that missed the cache and why;
every cache export that failed or came out wrong; the caches read and written. Long lines
wrap: nothing is cut."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from mab.progress.summary import Summary, why_text
from mab.tui.render import EXIT_CODE, RED, one_line, seconds
from mab.tui.stats import ALL, PlatformStats, platform_name

SLOWEST = 3
Row = tuple[str, int, int, int, float, float | None]


def _platform_rows(summary: Summary, fallback: tuple[PlatformStats, ...]) -> list[Row]:
    if summary.platforms:
        return [
            (p.platform, p.steps, p.cached, p.executed, p.hit_ratio, p.duration_s)
            for p in summary.platforms
        ]
    return [
        (platform_name(p.platform), p.steps, p.cached, p.executed, p.hit_ratio or 0.0, None)
        for p in fallback
    ]


def render_summary(summary: Summary, fallback: tuple[PlatformStats, ...] = ()) -> Text:
    """`fallback`: the app's own counts, for a build that named no platform."""
    out = Text(f"{summary.status.upper()} in {seconds(summary.duration_s)}\n", style="bold")
    if summary.error is not None:
        out.append(
            f"✗ {error_line(summary.error.message, summary.error.step)}\n", style=f"bold {RED}"
        )
    rows = _platform_rows(summary, fallback)
    if rows:
        width = max(len(r[0]) for r in rows)
        out.append(f"{'':{width}}   hit cached ran   time\n", style="dim")
        for name, steps, cached, ran, ratio, took in rows:
            took_text = seconds(took if took is not None else summary.duration_s)
            hit = f"{ratio * 100:3.0f}%"
            out.append(f"{name:{width}}  {hit} {cached:>3}/{steps:<2} {ran:>3} {took_text:>6}\n")
    if summary.slowest:
        out.append("slowest\n", style="dim")
        for s in summary.slowest[:SLOWEST]:
            where = f"[{','.join(p.split('/')[-1] for p in s.platforms)}] " if s.platforms else ""
            out.append(f"{seconds(s.duration_s):>6} {where}{s.label}\n")
    misses = [(p.platform, p.first_miss) for p in summary.platforms if p.first_miss]
    if not summary.platforms:  # no platform named: the build's own first miss
        miss = next((s for s in summary.steps if not s.is_from and s.state != "cached"), None)
        misses = [(platform_name(ALL), miss)] if miss is not None else []
    if misses:
        out.append("first cache miss\n", style="dim")
        for platform, miss in misses:
            out.append(f"{platform}: {miss.label} ({miss.state})\n")
            why = why_text(miss, platform)
            if why:
                out.append(f"  why: {why}\n", style="magenta")
    problems = [e for e in summary.cache_exports if e.problem]
    if problems:
        out.append("cache export\n", style="dim")
        for export in problems:
            out.append(f"! {export.message()}\n", style=f"bold {RED}")
    if summary.caches is not None:
        out.append("\n".join(summary.caches.lines()).lower() + "\n", style="dim")
    out.rstrip()
    return out


def error_line(message: str, step: str | None) -> str:
    """`exit code 1: [linux/amd64] test 3/3 RUN make check` rather than buildx's whole
    `failed to solve: process "/bin/sh -c ..." did not complete successfully: exit code: 1`."""
    found = EXIT_CODE.search(message)
    if found is not None and step:
        return f"exit code {found.group(1)}: {one_line(step)}"
    return one_line(message.removeprefix("failed to solve:"))


class SummaryPanel(Static):
    """The run's result; long lines (an export's error, a cause) wrap, and the panel scrolls."""

    DEFAULT_CSS = """
    SummaryPanel {
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-align: left;
        padding: 0 1;
        text-wrap: wrap;
        overflow-y: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "summary"
        self.summary: Summary | None = None

    def show(self, summary: Summary, fallback: tuple[PlatformStats, ...] = ()) -> None:
        if summary != self.summary:
            self.summary = summary
            self.update(render_summary(summary, fallback), layout=False)
