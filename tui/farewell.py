"""What stays in the terminal once the app has quit: the last run in a few plain lines.

    mab: localhost:5000/ref/app:dev FAILED in 12.3s
      linux/amd64  hit  60%  cached 3/5    4.1s
      linux/arm64  hit  60%  cached 3/5   10.2s  2.5x slower
    ✗ exit code 1: [linux/arm64] test 3/3 RUN make check
      | FAIL: vendor/ does not exist

Per platform its hit ratio and time; then what failed and how, with the failing step's last
log lines (plain text: no colour, no control sequence), cut to the terminal's width.
"""

from __future__ import annotations

from mab.errors import EXIT_INTERRUPTED
from mab.progress.model import BuildModel, BuildStatus
from mab.progress.summary import Summary
from mab.tui.render import failure, seconds
from mab.tui.run_state import RunState
from mab.tui.stats import PlatformStats, platform_name, platform_stats, slowdowns
from mab.tui.widgets.problem import build_problem

LOG_LINES = 10


def _fit(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def farewell_text(
    model: BuildModel,
    title: str,
    width: int = 80,
    *,
    stats: tuple[PlatformStats, ...] | None = None,
    now: float | None = None,
) -> str:
    """`stats` and `now`: a build quit while it ran, counted up to that moment (its model is
    finished as canceled, which stops the steps that still ran)."""
    summary = Summary.from_model(model)
    first = model.span()[0]
    took = now - first if now is not None and first is not None else summary.duration_s
    lines = [f"mab: {title} {summary.status.upper()} in {seconds(took)}"]
    stats = stats if stats is not None else platform_stats(model)
    slower = slowdowns(model.steps(), [p.platform for p in stats])
    names = [platform_name(p.platform) for p in stats]
    name_width = max((len(n) for n in names), default=0)
    for name, p in zip(names, stats, strict=True):
        hit = "  -" if p.hit_ratio is None else f"{p.hit_ratio * 100:3.0f}%"
        row = f"  {name:<{name_width}}  hit {hit}  cached {p.cached}/{p.steps}"
        row += f"  {seconds(p.elapsed(now)):>6}"
        if slower.get(p.platform, 1.0) >= 1.05:
            row += f"  {slower[p.platform]:.1f}x slower"
        lines.append(row)
    if model.status is BuildStatus.FAILED:
        step = model.failed_step()
        if step is not None:
            where = f"[{', '.join(step.platforms)}] " if step.platforms else ""
            lines.append(f"✗ {failure(step).replace(': ', ': ' + where, 1)}")
            detail = model.step(step.key)
            lines += [f"  | {text}" for text in (detail.log.text if detail else ())[-LOG_LINES:]]
        elif not model.steps():
            problem = build_problem(model.text)
            where = f"{problem.file or 'Dockerfile'}, line {problem.line}: " if problem.line else ""
            lines.append(f"✗ {where}{problem.message}")
        elif summary.error is not None:
            lines.append(f"✗ {summary.error.message}")
    return "\n".join(_fit(line, width) for line in lines) + "\n"


def run_farewell(state: RunState, title: str, width: int) -> str:
    """A run's farewell; one quit while it ran is counted up to now, then canceled."""
    model = state.model
    if not state.running:
        return farewell_text(model, title, width)
    now, stats = state.now(), platform_stats(model)
    model.finish(EXIT_INTERRUPTED, canceled=True)
    return farewell_text(model, title, width, stats=stats, now=now)
