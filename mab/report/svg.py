"""Inline SVG for the HTML report: the per-platform timeline and the history charts. Pure.

States are told apart without colour: each has its own fill pattern (cached hatched, executed
solid, failed cross-hatched, canceled dotted) and a symbol before its label, and every bar has
a `<title>` with its step, state and time. History lines differ by dash and marker shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from mab.progress.steps import StepState
from mab.progress.timeline import Bar, Timeline
from mab.report.data import Point

__all__ = ["STATES", "chart", "timeline_svg"]

# state -> (css class, symbol, word)
STATES: dict[StepState, tuple[str, str, str]] = {
    StepState.CACHED: ("cached", "✓", "cached"),
    StepState.DONE: ("ran", "▶", "executed"),
    StepState.ERROR: ("failed", "✗", "failed"),
    StepState.CANCELED: ("canceled", "⊘", "canceled"),
    StepState.RUNNING: ("running", "…", "running"),
    StepState.PENDING: ("pending", "·", "pending"),
}
WIDTH = 960
GUTTER = 8
LANE = 20
BAR = 15
HEAD = 24
AXIS = 22
CHAR_PX = 6.6  # an average character of the 11px label font

DEFS = """<defs>
<pattern id="p-cached" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" \
height="6" fill="#dbeafe"/><path d="M-1 1L1 -1M0 6L6 0M5 7L7 5" stroke="#3b82f6" \
stroke-width="1.5"/></pattern>
<pattern id="p-failed" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" \
height="8" fill="#991b1b"/><path d="M0 0L8 8M8 0L0 8" stroke="#dc2626" stroke-width="1.2"/>\
</pattern>
<pattern id="p-canceled" width="5" height="5" patternUnits="userSpaceOnUse"><rect width="5" \
height="5" fill="#e5e7eb"/><circle cx="2.5" cy="2.5" r="1" fill="#4b5563"/></pattern>
</defs>"""


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f}s"
    return f"{int(value // 60)}m{value % 60:04.1f}s"


def nice_step(span: float, ticks: int = 8) -> float:
    """A round tick spacing (1, 2 or 5 times a power of ten), about `ticks` over `span`."""
    raw = max(span, 1e-6) / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    return next((m * power for m in (1, 2, 5) if m * power >= raw), 10 * power)


def _fit(text: str, width: float) -> str:
    chars = int((width - 6) / CHAR_PX)
    if chars < 3:
        return ""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _bar(bar: Bar, x: float, y: float, w: float) -> str:
    css, symbol, word = STATES.get(bar.state, STATES[StepState.PENDING])
    tip = f"{bar.label} — {word}, {seconds(bar.duration)}"
    if bar.open:
        tip += " (still running when the stream ended)"
    if bar.why:
        tip += f" — why: {bar.why.get('cause', '').replace('_', ' ')}: {bar.why.get('detail', '')}"
    text = _fit(f"{symbol} {bar.label}", w)
    label = f'<text x="{x + 3:.1f}" y="{y + BAR - 4}">{escape(text)}</text>' if text else ""
    return (
        f'<g class="bar {css}"><title>{escape(tip)}</title>'
        f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1.5):.1f}" height="{BAR}"/>{label}</g>'
    )


def timeline_svg(timeline: Timeline) -> str:
    """The timeline: a time axis, then per track a heading and its lanes of bars."""
    plot = WIDTH - 2 * GUTTER
    end = max(timeline.end, 1e-3)
    scale = plot / end
    rows = sum(t.lanes for t in timeline.tracks)
    height = AXIS + len(timeline.tracks) * HEAD + rows * LANE + 6
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="tl-title" class="timeline">',
        f'<title id="tl-title">Timeline of the build: {len(timeline.tracks)} tracks over '
        f"{seconds(timeline.end)}; each step's state is in the steps table</title>",
        DEFS,
    ]
    step = nice_step(end)
    ticks = []
    t = 0.0
    while t <= end + 1e-9:
        x = GUTTER + t * scale
        ticks.append(
            f'<line x1="{x:.1f}" y1="{AXIS - 4}" x2="{x:.1f}" y2="{height}" class="grid"/>'
            f'<text x="{x + 2:.1f}" y="{AXIS - 8}" class="tick">{seconds(t)}</text>'
        )
        t += step
    out += ticks
    y = AXIS
    for track in timeline.tracks:
        span = f" · {seconds(track.span[1] - track.span[0])}" if track.span else ""
        count = len(track.bars)
        out.append(
            f'<g class="track" data-platform="{escape(track.name)}" data-bars="{count}">'
            f'<text x="{GUTTER}" y="{y + HEAD - 8}" class="head">{escape(track.name)}'
            f'<tspan class="sub"> · {count} run{"s" if count != 1 else ""}{span}</tspan></text>'
        )
        y += HEAD
        for bar in track.bars:
            x = GUTTER + bar.start * scale
            out.append(_bar(bar, x, y + bar.lane * LANE, bar.duration * scale))
        y += track.lanes * LANE
        out.append("</g>")
    if timeline.build_start > 0:
        x = GUTTER + timeline.build_start * scale
        out.append(f'<line x1="{x:.1f}" y1="{AXIS - 4}" x2="{x:.1f}" y2="{height}" class="start"/>')
    out.append("</svg>")
    return "\n".join(out)


# -- history charts --------------------------------------------------------------------------

MARKERS = ("circle", "square", "triangle", "diamond")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
CW, CH, PAD_L, PAD_B, PAD_T, PAD_R = 460, 210, 46, 30, 14, 12


def _marker(shape: str, x: float, y: float) -> str:
    if shape == "circle":  # the first series: a ring, so a point of another shows inside it
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#fff" stroke-width="2"/>'
    if shape == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7"/>'
    if shape == "triangle":
        corners = [(x, y - 4.5), (x + 4, y + 3), (x - 4, y + 3)]
    else:
        corners = [(x, y - 4.5), (x + 4.5, y), (x, y + 4.5), (x - 4.5, y)]
    path = "L".join(f"{a:.1f} {b:.1f}" for a, b in corners)
    return f'<path d="M{path}Z"/>'


def chart(
    title: str,
    points: Sequence[Point],
    platforms: Sequence[str],
    which: int,
    percent: bool,
    css_id: str,
) -> str:
    """A line per platform over the builds (oldest left): `which` 0 is the hit ratio, 1 the
    duration. Lines differ by dash and marker as well as colour."""
    values = [[pt.platforms.get(p, (None, 0.0))[which] for pt in points] for p in platforms]
    top = 1.0 if percent else max([v for vs in values for v in vs if v is not None] + [1.0])
    if not percent:
        top = nice_step(top, 4) * math.ceil(top / nice_step(top, 4))
    plot_w, plot_h = CW - PAD_L - PAD_R, CH - PAD_T - PAD_B
    n = max(len(points) - 1, 1)

    def at(i: int, v: float) -> tuple[float, float]:
        return PAD_L + plot_w * i / n, PAD_T + plot_h * (1 - v / top)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CW} {CH}" role="img" '
        f'aria-labelledby="{css_id}" class="chart"><title id="{css_id}">{escape(title)}</title>'
    ]
    for k in range(5):
        v = top * k / 4
        _, y = at(0, v)
        label = f"{v * 100:.0f}%" if percent else f"{v:.0f}s" if top >= 10 else f"{v:.1f}s"
        out.append(
            f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{CW - PAD_R}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" class="tick" text-anchor="end">{label}</text>'
        )
    for i, pt in enumerate(points):
        if len(points) <= 12 or i % math.ceil(len(points) / 12) == 0:
            x, _ = at(i, 0)
            out.append(
                f'<text x="{x:.1f}" y="{CH - 10}" class="tick" '
                f'text-anchor="middle">#{pt.build}</text>'
            )
    for k, (platform, vs) in enumerate(zip(platforms, values, strict=True)):
        shape, dash = MARKERS[k % len(MARKERS)], DASHES[k % len(DASHES)]
        pts = [at(i, v) for i, v in enumerate(vs) if v is not None]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        out.append(f'<g class="series s{k % 4}" data-platform="{escape(platform)}">')
        if len(pts) > 1:
            out.append(f'<polyline points="{line}" fill="none"{dashed}/>')
        out += [_marker(shape, x, y) for x, y in pts]
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
