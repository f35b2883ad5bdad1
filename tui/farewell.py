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

from mab.progress.model import BuildModel, BuildStatus
from mab.progress.summary import Summary
from mab.tui.render import failure, seconds
from mab.tui.source.replayer import failed_step
from mab.tui.stats import platform_name, platform_stats, slowdowns
from mab.tui.widgets.problem import build_problem

LOG_LINES = 10


def _fit(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def farewell_text(model: BuildModel, title: str, width: int = 80) -> str:
    summary = Summary.from_model(model)
    lines = [f"mab: {title} {summary.status.upper()} in {seconds(summary.duration_s)}"]
    stats = platform_stats(model)
    slower = slowdowns(model.steps(), [p.platform for p in stats])
    names = [platform_name(p.platform) for p in stats]
    name_width = max((len(n) for n in names), default=0)
    for name, p in zip(names, stats, strict=True):
        hit = "  -" if p.hit_ratio is None else f"{p.hit_ratio * 100:3.0f}%"
        row = f"  {name:<{name_width}}  hit {hit}  cached {p.cached}/{p.steps}"
        row += f"  {seconds(p.elapsed(None)):>6}"
        if slower.get(p.platform, 1.0) >= 1.05:
            row += f"  {slower[p.platform]:.1f}x slower"
        lines.append(row)
    if model.status is BuildStatus.FAILED:
        step = failed_step(model)
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
