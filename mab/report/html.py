"""The HTML report: one self-contained file (no script, no font, no request at view time; its
Content-Security-Policy forbids them). Pure: `render(report) -> str`.

Sections: the summary (status, per-platform counts, first misses, the failure), the timeline
(inline SVG), the steps with their cache state and why they missed, the cache-export verdicts,
and the image's last builds as charts of hit ratio and duration per platform. It reads at phone
width (wide parts scroll on their own) and prints (scrolling parts unfold).
"""

from __future__ import annotations

from html import escape

from mab import __version__
from mab.progress.steps import StepState
from mab.progress.summary import StepSummary, Summary
from mab.report.data import Report
from mab.report.svg import DASHES, STATES, chart, seconds, timeline_svg

__all__ = ["render"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STATUS = {
    "succeeded": ("✓", "ok"),
    "failed": ("✗", "bad"),
    "canceled": ("⊘", "warn"),
    "running": ("…", "warn"),
    "incomplete": ("…", "warn"),
}

CSS = """
:root{color-scheme:light;--ink:#111827;--muted:#4b5563;--line:#d1d5db;--bg:#fff;--soft:#f3f4f6}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);background:var(--bg)}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}
header{padding-top:18px}
h1{font-size:1.5rem;margin:0 0 4px;overflow-wrap:anywhere}
h2{font-size:1.2rem;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.src,.note,footer{color:var(--muted)}
.status{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;border:2px solid}
.status.ok{color:#065f46;border-color:#065f46}.status.bad{color:#991b1b;border-color:#991b1b}
.status.warn{color:#92400e;border-color:#92400e}
.scroll{overflow-x:auto;max-width:100%;border:1px solid var(--line);border-radius:6px}
.scroll:focus{outline:3px solid #2563eb;outline-offset:2px}
table{border-collapse:collapse;width:100%;font-size:14px}
table.steps{table-layout:fixed;min-width:640px}table.steps th:first-child{width:42%}
table.steps th:nth-child(2){width:8.5em}table.steps th:nth-child(3){width:5.5em}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td code{overflow-wrap:anywhere;font-size:13px}
table.plat code{white-space:nowrap}
.st{white-space:nowrap;font-weight:600}
.st.cached{color:#1e40af}.st.ran{color:#111827}.st.failed{color:#991b1b}
.st.canceled{color:#4b5563}
.why{color:var(--muted);font-size:13px}
ul.misses,ul.exports{padding-left:20px}
.problem{color:#991b1b;font-weight:600}
pre{background:var(--soft);padding:8px;overflow-x:auto;font-size:13px;white-space:pre-wrap}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:6px 0 10px;padding:0;list-style:none}
.legend svg{vertical-align:middle;margin-right:4px}
svg text{font:11px system-ui,-apple-system,"DejaVu Sans",sans-serif;fill:var(--ink)}
svg .head{font-weight:700;font-size:13px}svg .sub{font-weight:400;fill:var(--muted)}
svg .tick{fill:var(--muted)}
svg .grid{stroke:#e5e7eb;stroke-width:1}svg .start{stroke:#111827;stroke-dasharray:3 3}
.bar rect{stroke:#111827;stroke-width:.6}
.bar.cached rect{fill:url(#p-cached)}.bar.ran rect{fill:#1e3a8a}
.bar.failed rect{fill:url(#p-failed)}.bar.canceled rect{fill:url(#p-canceled)}
.bar.running rect{fill:#fde68a}.bar.pending rect{fill:#fff}
.bar.ran text,.bar.failed text{fill:#fff}
.bar.failed text{paint-order:stroke;stroke:#450a0a;stroke-width:3px;font-weight:600}
.bar.cached text,.bar.canceled text{paint-order:stroke;stroke:#fff;stroke-width:3px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.charts figure{margin:0;flex:1 1 420px;min-width:0}
.chart{width:100%;height:auto}
.chart .series polyline{stroke-width:2}
.s0{stroke:#1d4ed8;fill:#1d4ed8}.s1{stroke:#b45309;fill:#b45309}
.s2{stroke:#047857;fill:#047857}.s3{stroke:#7c3aed;fill:#7c3aed}
figcaption{font-weight:600;margin-bottom:4px}
@media (max-width:600px){body{font-size:14px}th,td{padding:4px 5px}
table.steps{min-width:0}
table.steps thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.steps tr{display:grid;grid-template-columns:auto auto 1fr;gap:0 10px;
border-bottom:1px solid var(--line);padding:4px 0}
table.steps td{border:0;padding:1px 5px}
table.steps td:first-child,table.steps td.why{grid-column:1/-1}
table.steps td.n{text-align:left}}
@media print{.scroll{overflow:visible;border:0}section{break-inside:avoid-page}
table.steps{font-size:11px}header,main,footer{max-width:none}}
"""


def _state(state: StepState) -> str:
    css, symbol, word = STATES.get(state, STATES[StepState.PENDING])
    return f'<span class="st {css}">{symbol} {word}</span>'


_PLATFORM_COLUMNS = ("Steps", "Cached", "Executed", "Failed", "Canceled", "Hit ratio", "Time")


def _platforms(summary: Summary) -> list[str]:
    if not summary.platforms:
        return ['<p class="note">No platform ran a step.</p>']
    out = [
        '<div class="scroll" tabindex="0" role="region" aria-label="Platform figures, scrollable">',
        "<table class=plat><thead><tr><th>Platform</th>"
        + "".join(f"<th class=n>{h}</th>" for h in _PLATFORM_COLUMNS)
        + "</tr></thead><tbody>",
    ]
    out += [
        f"<tr><td><code>{escape(p.platform)}</code></td><td class=n>{p.steps}</td>"
        f"<td class=n>{p.cached}</td><td class=n>{p.executed}</td><td class=n>{p.failed}</td>"
        f"<td class=n>{p.canceled}</td><td class=n>{p.hit_ratio * 100:.0f}%</td>"
        f"<td class=n>{seconds(p.duration_s)}</td></tr>"
        for p in summary.platforms
    ]
    out.append("</tbody></table></div>")
    misses = [(p.platform, p.first_miss) for p in summary.platforms if p.first_miss]
    if misses:
        out.append("<h3>First cache miss</h3><ul class=misses>")
        for platform, step in misses:
            if step is not None:
                out.append(
                    f"<li><code>{escape(platform)}</code>: {escape(step.label)} "
                    f"({_state(step.state)}){_why(step, platform)}</li>"
                )
        out.append("</ul>")
    return out


def _why(step: StepSummary, platform: str) -> str:
    found = (step.why or {}).get(platform)
    if not found:
        return ""
    cause = found.get("cause", "").replace("_", " ")
    return f'<br><span class="why">why: {escape(cause)}: {escape(found.get("detail", ""))}</span>'


def _summary(report: Report) -> list[str]:
    s = report.summary
    symbol, css = STATUS.get(s.status, ("?", "warn"))
    out = [
        '<section aria-labelledby="h-summary"><h2 id="h-summary">Summary</h2>',
        f'<p><span class="status {css}">{symbol} {escape(s.status)}</span> in '
        f"<strong>{seconds(s.duration_s)}</strong></p>",
    ]
    out += _platforms(s)
    if s.error:
        out.append(f"<h3>Failed: {escape(s.error.step or 'the build')}</h3>")
        out.append(f"<pre>{escape(s.error.message)}</pre>")
        if s.error.log_tail:
            out.append(f"<pre>{escape(chr(10).join(s.error.log_tail))}</pre>")
    out.append("</section>")
    return out


def _legend() -> str:
    items = []
    for state in (StepState.CACHED, StepState.DONE, StepState.ERROR, StepState.CANCELED):
        css, symbol, word = STATES[state]
        swatch = (
            f'<svg width="26" height="14" aria-hidden="true" class="bar {css}">'
            f'<rect x="1" y="1" width="24" height="12"/></svg>'
        )
        items.append(f"<li>{swatch}{symbol} {word}</li>")
    return f'<ul class="legend" aria-label="Legend">{"".join(items)}</ul>'


def _timeline(report: Report) -> list[str]:
    out = ['<section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>']
    timeline = report.timeline
    if timeline is None or not any(t.bars for t in timeline.tracks):
        out.append('<p class="note">No step times recorded for this build.</p></section>')
        return out
    began = " The dashed line is where this build began." if timeline.build_start > 0 else ""
    out.append(
        '<p class="note">One row per platform, then the build-wide work; steps that ran at '
        f"the same time are on separate lanes.{began}</p>"
    )
    out.append(_legend())
    out.append(
        '<div class="scroll" tabindex="0" role="region" aria-label="Timeline chart, scrollable">'
    )
    out.append(timeline_svg(timeline))
    out.append("</div></section>")
    return out


def _steps(summary: Summary) -> list[str]:
    out = ['<section aria-labelledby="h-steps"><h2 id="h-steps">Steps</h2>']
    if not summary.steps:
        out.append('<p class="note">No Dockerfile step started.</p></section>')
        return out
    explained = any(step.why for step in summary.steps)
    out += [
        '<div class="scroll" tabindex="0" role="region" aria-label="Steps table, scrollable">',
        '<table class="steps"><thead><tr><th>Step</th><th>State</th><th class=n>Time</th>'
        f"<th>Platforms</th>{'<th>Why it missed</th>' if explained else ''}</tr></thead><tbody>",
    ]
    for step in summary.steps:
        whys = [
            f"<code>{escape(p)}</code> {escape(w.get('cause', '').replace('_', ' '))}: "
            f"{escape(w.get('detail', ''))}"
            for p, w in (step.why or {}).items()
        ]
        out.append(
            f"<tr><td><code>{escape(step.label)}</code></td><td>{_state(step.state)}</td>"
            f"<td class=n>{seconds(step.duration_s)}</td>"
            f"<td>{escape(', '.join(step.platforms) or '-')}</td>"
            + (f'<td class="why">{"<br>".join(whys)}</td>' if explained else "")
            + "</tr>"
        )
    out.append("</tbody></table></div></section>")
    return out


def _exports(summary: Summary) -> list[str]:
    out = ['<section aria-labelledby="h-exports"><h2 id="h-exports">Cache export</h2>']
    if not summary.cache_exports:
        out.append('<p class="note">This build exported no cache (or its stream shows none).</p>')
    else:
        out.append("<ul class=exports>")
        for e in summary.cache_exports:
            mark = '<span class="problem">⚠ problem:</span> ' if e.problem else "✓ "
            out.append(f"<li>{mark}{escape(e.message())}</li>")
        out.append("</ul>")
    out.append("</section>")
    return out


def _history(report: Report) -> list[str]:
    out = ['<section aria-labelledby="h-history"><h2 id="h-history">Last builds</h2>']
    points = report.trend
    if len(points) < 2:
        out.append(
            '<p class="note">Fewer than two builds of this image in the history: no trend yet.'
            "</p></section>"
        )
        return out
    platforms = list(dict.fromkeys(p for pt in points for p in pt.platforms))
    keys = "".join(
        f'<li><svg width="30" height="12" aria-hidden="true" class="series s{k % 4}">'
        f'<line x1="2" y1="6" x2="28" y2="6" stroke-width="2" '
        f'stroke-dasharray="{DASHES[k % len(DASHES)] or "none"}"/>'
        f"</svg><code>{escape(p)}</code></li>"
        for k, p in enumerate(platforms)
    )
    n = len(points)
    out.append(f'<ul class="legend" aria-label="Platforms in the charts">{keys}</ul>')
    out.append('<div class="charts">')
    for which, (name, percent) in enumerate(
        (("Cache hit ratio", True), ("Time its missed steps took", False))
    ):
        title = f"{name} per platform over the last {n} builds, oldest first"
        out.append(f"<figure><figcaption>{name}</figcaption>")
        out.append(chart(title, points, platforms, which, percent, f"chart-{which}"))
        out.append("</figure>")
    out.append("</div>")
    out.append("<details><summary>The figures</summary>")
    out.append('<div class="scroll" tabindex="0" role="region" aria-label="History figures">')
    out.append("<table><thead><tr><th>Build</th>")
    out += [
        f"<th class=n>{escape(p)} hits</th><th class=n>{escape(p)} time</th>" for p in platforms
    ]
    out.append("</tr></thead><tbody>")
    for pt in points:
        cells = []
        for p in platforms:
            ratio, took = pt.platforms.get(p, (None, 0.0))
            hit = "-" if ratio is None else f"{ratio * 100:.0f}%"
            cells.append(f"<td class=n>{hit}</td><td class=n>{seconds(took)}</td>")
        out.append(f"<tr><td>#{pt.build}</td>{''.join(cells)}</tr>")
    out.append("</tbody></table></div></details></section>")
    return out


def render(report: Report) -> str:
    """The whole page."""
    s = report.summary
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>mab report: {escape(report.title)} — {escape(s.status)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>Build report: {escape(report.title)}</h1>",
        f'<p class="src">{escape(report.source)}</p></header><main>',
        *_summary(report),
        *_timeline(report),
        *_steps(s),
        *_exports(s),
        *_history(report),
        f"</main><footer><p>Written by mab {escape(__version__)}.</p></footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
