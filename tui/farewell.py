"""What stays in the terminal once the app has quit: the last run in a few plain lines.

    mab: localhost:5000/ref/app:dev FAILED in 12.3s
      linux/amd64  hit  60%  cached 3/5    4.1s
      linux/arm64  hit  60%  cached 3/5   10.2s  2.5x slower
    ! linux/amd64: the cache export to localhost:5001/app:cache failed: 401 Unauthorized …
    first miss linux/amd64: deps 2/4 COPY package.json .
      why: sources changed: package.json changed
    ✗ exit code 1: [linux/arm64] test 3/3 RUN make check
      | FAIL: vendor/ does not exist

A finished run is told from its result's summary, the figures plain, JSON and `--ci` print:
per platform its hit ratio and time; each cache export that failed or came out wrong; each
platform's first miss and its cause; then what failed and how, with the failing step's last
log lines. Plain text (no colour, no control sequence), wrapped to the terminal's width:
nothing is cut.
"""

from __future__ import annotations

import textwrap

from mab.errors import EXIT_INTERRUPTED
from mab.progress.model import BuildModel, BuildStatus
from mab.progress.summary import Summary, why_text
from mab.tui.render import failure, seconds
from mab.tui.run_state import RunState
from mab.tui.stats import PlatformStats, platform_name, platform_stats, slowdowns
from mab.tui.widgets.header import EMULATED
from mab.tui.widgets.problem import build_problem

LOG_LINES = 10


def wrap(line: str, width: int) -> list[str]:
    """`line` folded to `width` (never cut), continued two columns further in."""
    if len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip(" |✗!"))
    indent = " " * min(lead + 2, max(0, width // 2))
    return textwrap.wrap(
        line, width=max(width, 10), subsequent_indent=indent, break_on_hyphens=False
    ) or [line]


def _platform_rows(
    summary: Summary,
    stats: tuple[PlatformStats, ...],
    now: float | None,
    model: BuildModel,
    emulated: tuple[str, ...],
) -> list[str]:
    """From the summary once the run is over (stats only for a run quit while it went on, or
    a build that named no platform)."""
    slower = slowdowns(model.steps(), [p.platform for p in stats], now)
    rows: list[tuple[str, float | None, int, int, float]] = []
    if summary.platforms and now is None:
        rows = [
            (p.platform, p.hit_ratio, p.cached, p.steps, p.duration_s) for p in summary.platforms
        ]
    else:
        rows = [
            (platform_name(p.platform), p.hit_ratio, p.cached, p.steps, p.elapsed(now))
            for p in stats
        ]
    width = max((len(r[0]) for r in rows), default=0)
    out = []
    for name, ratio, cached, steps, took in rows:
        hit = "  -" if ratio is None else f"{ratio * 100:3.0f}%"
        row = f"  {name:<{width}}  hit {hit}  cached {cached}/{steps}  {seconds(took):>6}"
        notes = [f"{slower[name]:.1f}x slower"] if slower.get(name, 1.0) >= 1.05 else []
        notes += [EMULATED] if name in emulated else []
        out.append(f"{row}  {', '.join(notes)}" if notes else row)
    return out


def farewell_text(
    model: BuildModel,
    title: str,
    width: int = 80,
    *,
    summary: Summary | None = None,
    stats: tuple[PlatformStats, ...] | None = None,
    now: float | None = None,
    emulated: tuple[str, ...] = (),
) -> str:
    """`summary`: the finished run's (its result's); without it, the model's own. `stats` and
    `now`: a build quit while it ran, counted up to that moment (its model is finished as
    canceled, which stops the steps that still ran)."""
    summary = summary or Summary.from_model(model)
    first = model.span()[0]
    took = now - first if now is not None and first is not None else summary.duration_s
    lines = [f"mab: {title} {summary.status.upper()} in {seconds(took)}"]
    lines += _platform_rows(summary, stats or platform_stats(model), now, model, emulated)
    lines += [f"! {e.message()}" for e in summary.cache_exports if e.problem]
    for p in summary.platforms:
        if p.first_miss is not None:
            lines.append(f"first miss {p.platform}: {p.first_miss.label}")
            why = why_text(p.first_miss, p.platform)
            lines += [f"  why: {why}"] if why else []
    if model.status is BuildStatus.FAILED:
        lines += _failure(model, summary)
    return "\n".join(part for line in lines for part in wrap(line, width)) + "\n"


def _failure(model: BuildModel, summary: Summary) -> list[str]:
    step = model.failed_step()
    if step is not None:
        where = f"[{', '.join(step.platforms)}] " if step.platforms else ""
        detail = model.step(step.key)
        tail = (detail.log.text if detail else ())[-LOG_LINES:]
        return [f"✗ {failure(step).replace(': ', ': ' + where, 1)}", *(f"  | {t}" for t in tail)]
    if not model.steps():
        problem = build_problem(model.text)
        where = f"{problem.file or 'Dockerfile'}, line {problem.line}: " if problem.line else ""
        return [f"✗ {where}{problem.message}"]
    if summary.error is not None:
        return [f"✗ {summary.error.message}"]
    return []


def run_farewell(state: RunState, title: str, width: int) -> str:
    """A run's farewell; one quit while it ran is counted up to now, then canceled."""
    model, emulated = state.model, state.session.options.emulated
    if not state.running:
        summary = state.result.summary if state.result is not None else None
        return farewell_text(model, title, width, summary=summary, emulated=emulated)
    now, stats = state.now(), platform_stats(model)
    model.finish(EXIT_INTERRUPTED, canceled=True)
    return farewell_text(model, title, width, stats=stats, now=now, emulated=emulated)
