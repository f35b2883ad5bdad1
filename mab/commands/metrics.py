"""`mab metrics serve|dashboard`: the local history's aggregates for a Prometheus to scrape,
and the Grafana dashboard that shows them (with the per-build metrics of `mab build
--metrics-file/--pushgateway`)."""

from __future__ import annotations

from importlib import resources

import click

from mab.errors import UserError
from mab.history.store import default_path
from mab.metrics.history import StoreSource
from mab.metrics.serve import DEFAULT_ADDR, DEFAULT_PORT, serve

DASHBOARD = "grafana-dashboard.json"


@click.group("metrics")
def metrics_group() -> None:
    """Prometheus metrics of cache hits and misses (see also `mab build --metrics-file`)."""


@metrics_group.command("serve")
@click.option("--addr", default=DEFAULT_ADDR, show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--history", metavar="PATH", help="The build history database (or $MAB_HISTORY).")
def serve_command(addr: str, port: int, history: str | None) -> int:
    """Serve the build history's hit ratios, durations and misses on /metrics."""
    path = default_path(history)
    if path is None:
        raise UserError(
            "the build history is off (MAB_HISTORY=off), so there is nothing to serve",
            hint="unset MAB_HISTORY or give --history PATH",
        )
    source = StoreSource(path)
    # Read it once now: a history that cannot be read (a folder, a corrupt file) is an error
    # here, not a traceback and a 500 on every scrape.
    next(iter(source.platform_builds()), None)
    serve(source, addr, port, lambda text: click.echo(text, err=True))
    return 0


@metrics_group.command("dashboard")
def dashboard_command() -> int:
    """Print the Grafana dashboard (JSON) for mab's metrics; import it in Grafana."""
    text = resources.files("mab.metrics").joinpath(DASHBOARD).read_text(encoding="utf-8")
    click.echo(text, nl=not text.endswith("\n"))
    return 0
