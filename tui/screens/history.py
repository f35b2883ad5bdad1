"""Build history in the TUI: the trends screen (`h`).

`HistoryScreen` shows, per platform, sparklines of the cache hit ratio and of the duration
over the last builds of this image (oldest left), with the latest figures beside them, read
from the database the build records into (`--history PATH`, else the default). Recording a run
is the run's own (`mab.run.session`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from mab.history.store import BuildRow, HistoryStore, default_path

BARS = "▁▂▃▄▅▆▇█"
TREND_BUILDS = 30


def sparkline(values: list[float | None], top: float | None = None) -> str:
    """One bar per value, scaled to `top` (default: the largest); a gap for unknown values."""
    known = [v for v in values if v is not None]
    peak = top if top is not None else max(known, default=0.0)
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif peak <= 0:
            out.append(BARS[0])
        else:
            out.append(BARS[min(len(BARS) - 1, int(v / peak * (len(BARS) - 1) + 0.5))])
    return "".join(out)


def trends(rows: list[BuildRow]) -> Text:
    """Per platform: hit ratio and duration over the builds (oldest first)."""
    rows = list(reversed(rows))
    platforms = list(dict.fromkeys(p.platform for r in rows for p in r.platforms))
    if not rows:
        return Text("No builds of this image recorded yet.", style="dim")
    out = Text(f"last {len(rows)} builds, oldest left\n\n", style="dim")
    for platform in platforms:
        stats = [next((p for p in r.platforms if p.platform == platform), None) for r in rows]
        ratios = [s.hit_ratio if s else None for s in stats]
        times = [s.duration_s if s else None for s in stats]
        last_ratio = next((r for r in reversed(ratios) if r is not None), None)
        last_time = next((t for t in reversed(times) if t is not None), None)
        out.append(f"{platform}\n", style="bold")
        out.append(f"  hit ratio  {sparkline(ratios, 1.0)}", style="green")
        out.append(f"  {'-' if last_ratio is None else f'{last_ratio * 100:.0f}%'}\n")
        out.append(f"  duration   {sparkline(times)}", style="yellow")
        out.append(f"  {'-' if last_time is None else f'{last_time:.1f}s'}\n\n")
    return out


class HistoryScreen(ModalScreen[None]):
    """Trends of this image's recent builds, per platform."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h,q", "dismiss", "Close"),
    ]
    DEFAULT_CSS = """
    HistoryScreen { align: center middle; }
    HistoryScreen > Static { width: 80%; height: auto; max-height: 90%; border: round $accent;
                             padding: 1 2; background: $surface; }
    """

    def __init__(self, image: str | None, history: str | None = None) -> None:
        super().__init__()
        self.image = image
        self.history = history

    def compose(self) -> ComposeResult:
        yield Static(self._body(), id="history")

    def _body(self) -> Text:
        path = default_path(self.history)
        if path is None:
            return Text("Build history is off (MAB_HISTORY=off).", style="dim")
        try:
            with HistoryStore.open(path) as store:
                rows = store.builds(image=self.image, limit=TREND_BUILDS)
        except Exception as exc:  # shown, never raised: this is a view
            return Text(f"Cannot read the build history: {exc}", style="red")
        title = Text(f"Build history: {self.image or 'all images'}\n", style="bold")
        return title + trends(rows)
