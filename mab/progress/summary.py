"""A build's summary: per-platform cache use, the steps, the slowest ones, the failure.

`Summary.from_model(model)` freezes what a finished build did; `to_json()` is the documented
`--json` shape; `render_table()` is for terminals and logs, `render_markdown()` for a CI job
summary (GitHub's `$GITHUB_STEP_SUMMARY`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mab.progress.cacheexport import CacheExport, exports
from mab.progress.model import BuildModel, BuildStatus, Kind, StepState, StepView

__all__ = [
    "ErrorSummary",
    "PlatformSummary",
    "StepSummary",
    "Summary",
    "render_markdown",
    "render_table",
]

LOG_TAIL_LINES = 20


@dataclass(frozen=True, slots=True)
class StepSummary:
    platforms: tuple[str, ...]
    stage: str
    index: int
    total: int
    instruction: str
    state: StepState
    duration_s: float | None
    is_from: bool = False
    # Why it missed the cache, per platform (`mab.history.why.Why.to_json()`), when known.
    why: Mapping[str, Mapping[str, str]] | None = None

    @property
    def label(self) -> str:
        """`deps 2/2 RUN ./install.sh`, the instruction cut to one short line."""
        stage = f"{self.stage} " if self.stage else ""
        return f"{stage}{self.index}/{self.total} {_first_line(self.instruction)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "platforms": list(self.platforms),
            "stage": self.stage,
            "index": self.index,
            "total": self.total,
            "instruction": self.instruction,
            "state": str(self.state),
            "duration_s": _round(self.duration_s),
        } | ({"why": {p: dict(w) for p, w in self.why.items()}} if self.why else {})


@dataclass(frozen=True, slots=True)
class PlatformSummary:
    """Counts over the Dockerfile's instructions other than FROM for one platform."""

    platform: str
    steps: int
    cached: int
    executed: int
    failed: int
    canceled: int
    duration_s: float
    first_miss: StepSummary | None

    @property
    def hit_ratio(self) -> float:
        """Cache hits over all instructions of the platform (0.0 when there are none)."""
        return self.cached / self.steps if self.steps else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "cached": self.cached,
            "executed": self.executed,
            "failed": self.failed,
            "canceled": self.canceled,
            "hit_ratio": round(self.hit_ratio, 3),
            "duration_s": _round(self.duration_s),
        }


@dataclass(frozen=True, slots=True)
class ErrorSummary:
    message: str
    step: str | None  # `[linux/arm64] app 2/2 RUN tool --check`
    log_tail: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "step": self.step, "log_tail": list(self.log_tail)}


@dataclass(frozen=True, slots=True)
class CacheRefs:
    """The caches a live build read and the ones it wrote (a registry cache by its ref, any
    other by its spec), as the user, `.mab.yml` or the pipeline named them."""

    read: tuple[str, ...] = ()
    written: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"read": list(self.read), "written": list(self.written)}

    def lines(self) -> list[str]:
        return [
            f"Caches read: {', '.join(self.read) or 'none'}",
            f"Caches written: {', '.join(self.written) or 'none'}",
        ]


@dataclass(frozen=True, slots=True)
class Summary:
    status: str  # running, succeeded, failed, canceled
    duration_s: float
    platforms: tuple[PlatformSummary, ...]
    steps: tuple[StepSummary, ...]
    slowest: tuple[StepSummary, ...]
    error: ErrorSummary | None
    platform_inferred: bool = False  # the one platform was named by mab, not by the stream
    cache_exports: tuple[CacheExport, ...] = ()  # in stream order; verified by the caller
    caches: CacheRefs | None = None  # a live build's caches read and written (a replay: None)

    @classmethod
    def from_model(
        cls, model: BuildModel, *, duration_s: float | None = None, slowest: int = 5
    ) -> Summary:
        """Summarise `model`; `duration_s` (wall clock) overrides the span of its vertices."""
        views = model.steps()
        steps = tuple(_step(v) for v in views)
        if duration_s is None:
            first, last = model.span()
            duration_s = last - first if first is not None and last is not None else 0.0
        floor = model.span()[0]
        platforms = tuple(_platform(p, views, steps, floor) for p in model.platforms())
        ran = [s for s in steps if s.state is StepState.DONE and (s.duration_s or 0.0) >= 0.05]
        ran.sort(key=lambda s: -(s.duration_s or 0.0))
        return cls(
            status=str(model.status),
            duration_s=max(0.0, duration_s),
            platforms=platforms,
            steps=steps,
            slowest=tuple(ran[:slowest]),
            error=_error(model),
            platform_inferred=model.platform_inferred,
            cache_exports=exports(
                model.exports.seen(),
                tuple(model.platforms()),
                model.cache_to,
                {p.platform: p.steps for p in platforms},
                ended=model.status is not BuildStatus.RUNNING,
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "duration_s": _round(self.duration_s),
            "platforms": {p.platform: p.to_json() for p in self.platforms},
            "platform_inferred": self.platform_inferred,
            "steps": [s.to_json() for s in self.steps],
            "error": self.error.to_json() if self.error else None,
            "slowest": [s.to_json() for s in self.slowest],
            "first_miss": {
                p.platform: p.first_miss.to_json() if p.first_miss else None for p in self.platforms
            },
            "cache_export": _exports_json(self.cache_exports),
            **({"caches": self.caches.to_json()} if self.caches is not None else {}),
        }


def _exports_json(found: tuple[CacheExport, ...]) -> dict[str, Any]:
    """Keyed by platform (a second export of the same platforms gets ` (2)`, and so on)."""
    out: dict[str, Any] = {}
    for export in found:
        key, n = export.platform, 1
        while key in out:
            n += 1
            key = f"{export.platform} ({n})"
        out[key] = export.to_json()
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


INSTRUCTION_CHARS = 80


def _first_line(text: str, limit: int = INSTRUCTION_CHARS) -> str:
    line = " ".join(text.split("\n", 1)[0].split())  # RUN a; \ continuations leave long gaps
    if len(line) > limit or "\n" in text:
        return line[: limit - 1].rstrip() + "…"
    return line


def _step(view: StepView) -> StepSummary:
    return StepSummary(
        view.platforms,
        view.stage,
        view.index,
        view.total,
        view.instruction,
        view.state,
        view.duration_s,
        view.kind is Kind.BASE_IMAGE,
    )


def _platform(
    platform: str,
    views: tuple[StepView, ...],
    steps: tuple[StepSummary, ...],
    floor: float | None,
) -> PlatformSummary:
    """One platform's counts; its time runs from the build's start (`floor`: earlier
    timestamps belong to another build that shared a step) to its last step's end."""
    mine = [(v, s) for v, s in zip(views, steps, strict=True) if platform in v.platforms]
    counted = [s for v, s in mine if v.is_instruction]
    states = [s.state for s in counted]
    low = floor if floor is not None else float("-inf")
    starts = [max(v.started, low) for v, _ in mine if v.started is not None]
    ends = [v.completed for v, _ in mine if v.completed is not None and v.completed >= low]
    return PlatformSummary(
        platform=platform,
        steps=len(counted),
        cached=states.count(StepState.CACHED),
        executed=states.count(StepState.DONE),
        failed=states.count(StepState.ERROR),
        canceled=states.count(StepState.CANCELED),
        duration_s=max(ends) - min(starts) if starts and ends else 0.0,
        first_miss=next((s for s in counted if s.state is not StepState.CACHED), None),
    )


def _error(model: BuildModel) -> ErrorSummary | None:
    if model.status != "failed":
        return None
    failed = model.failed_step()
    message = ""
    for line in model.error_text:
        if line.startswith("ERROR:"):
            message = line.removeprefix("ERROR:").strip()
            break
    if failed is None:
        # No step failed: buildx failed in its cache export (without ignore-error=true), which
        # fails the whole build after every step ran. Name it rather than "the build".
        export = [
            v
            for v in model.vertices()
            if v.state is StepState.ERROR and v.kind is Kind.CACHE_EXPORT
        ]
        if export:
            return ErrorSummary(message or export[0].error, export[0].name, ())
        return ErrorSummary(message or "the build failed", None, ())
    detail = model.step(failed.key)
    tail = detail.log.text[-LOG_TAIL_LINES:] if detail else ()
    where = f"[{', '.join(failed.platforms)}] " if failed.platforms else ""
    return ErrorSummary(message or failed.error, where + _step(failed).label, tuple(tail))


# ---------------------------------------------------------------------------------------------
# Rendering.


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.0f}%"


def _where(step: StepSummary) -> str:
    return f"[{', '.join(step.platforms)}] " if step.platforms else ""


def render_table(summary: Summary) -> str:
    """A plain-text report for terminals and logs."""
    out = [f"Build {summary.status} in {summary.duration_s:.1f}s"]
    header = ("PLATFORM", "STEPS", "CACHED", "EXECUTED", "FAILED", "CANCELED", "HIT", "TIME")
    rows = [header] + [
        (
            p.platform,
            str(p.steps),
            str(p.cached),
            str(p.executed),
            str(p.failed),
            str(p.canceled),
            _percent(p.hit_ratio),
            _seconds(p.duration_s),
        )
        for p in summary.platforms
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        out.append("  ".join(cells).rstrip())
    if summary.platform_inferred and summary.platforms:
        out.append(f"({summary.platforms[0].platform}: the stream names no platform; inferred)")
    misses = [p for p in summary.platforms if p.first_miss]
    if misses:
        out.append("First cache miss:")
        width = max(len(p.platform) for p in misses)
        for p in misses:
            if (m := p.first_miss) is not None:
                why = why_text(m, p.platform)
                out.append(f"  {p.platform.ljust(width)}  {m.label}")
                out += [f"  {''.ljust(width)}    why: {why}"] if why else []
    if summary.cache_exports:
        out.append("Cache export:")
        out += [f"  {'!' if e.problem else ' '} {e.message()}" for e in summary.cache_exports]
    if summary.caches is not None:
        out += summary.caches.lines()
    if summary.slowest:
        out.append("Slowest steps:")
        out += [f"  {_seconds(s.duration_s):>7}  {_where(s)}{s.label}" for s in summary.slowest]
    if summary.error:
        out.append(f"Failed: {summary.error.step or 'the build'}")
        out.append(f"  {summary.error.message}")
        out += [f"  | {line}" for line in summary.error.log_tail]
    return "\n".join(out) + "\n"


def why_text(step: StepSummary, platform: str) -> str:
    """`sources changed: src/app.py changed` for a missed step on `platform`, else ""."""
    found = (step.why or {}).get(platform)
    if not found:
        return ""
    text = f"{found.get('cause', '').replace('_', ' ')}: {found.get('detail', '')}"
    root = found.get("root", "")
    return f"{text} (the misses began at {root})" if root not in text else text


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    text = text.replace("\n", " ")
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _fence(lines: tuple[str, ...]) -> list[str]:
    fence = "```"
    while any(fence in line for line in lines):
        fence += "`"
    return [f"{fence}text", *lines, fence]


_ICONS = {"succeeded": "✅", "failed": "❌", "canceled": "⏹️", "running": "⏳"}


def render_markdown(summary: Summary) -> str:
    """A GitHub job summary: cache use per platform, slowest steps, first misses, failure."""
    icon = _ICONS.get(summary.status, "")
    out = [f"### {icon} Build {summary.status} in {summary.duration_s:.1f}s", ""]
    if summary.platforms:
        out += [
            "| Platform | Steps | Cached | Executed | Failed | Canceled | Hit ratio | Duration |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        out += [
            f"| {_code(p.platform)} | {p.steps} | {p.cached} | {p.executed} | {p.failed} "
            f"| {p.canceled} | {_percent(p.hit_ratio)} | {_seconds(p.duration_s)} |"
            for p in summary.platforms
        ]
        out.append("")
    misses = [p for p in summary.platforms if p.first_miss]
    if misses:
        out += ["**First cache miss per platform**", ""]
        for p in misses:
            step = p.first_miss
            if step is not None:
                where = f"{step.stage} {step.index}/{step.total}".strip()
                instruction = _code(_first_line(step.instruction))
                why = why_text(step, p.platform)
                why = f" — why: {_cell(why)}" if why else ""
                out.append(
                    f"- {_code(p.platform)}: {_cell(where)} {instruction} ({step.state}){why}"
                )
        out.append("")
    if summary.cache_exports:
        out += ["**Cache export**", ""]
        for e in summary.cache_exports:
            out.append(f"- {'⚠️ ' if e.problem else ''}{_cell(e.message())}")
        out.append("")
    if summary.slowest:
        out += ["**Slowest steps**", "", "| Step | Platforms | Duration |", "| --- | --- | ---: |"]
        for s in summary.slowest:
            platforms = ", ".join(s.platforms) or "-"
            out.append(f"| {_cell(s.label)} | {platforms} | {_seconds(s.duration_s)} |")
        out.append("")
    if summary.error:
        out += [f"**Failed step:** {_cell(summary.error.step or 'the build')}", ""]
        out += _fence((summary.error.message,))
        if summary.error.log_tail:
            out += ["", "Last lines of its output:", "", *_fence(summary.error.log_tail)]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
