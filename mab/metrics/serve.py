"""`mab metrics serve`: the local history's aggregates over HTTP for a Prometheus to scrape.

Listens on loopback by default (the history names images and branches of this machine's
builds; expose it deliberately with `--addr`). Every scrape reads the history afresh, so a build
that finished a moment ago is in the next scrape. Stops cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType

from prometheus_client import CollectorRegistry, start_http_server

from mab.errors import EnvironmentNotReady, UserError
from mab.metrics.history import HistoryCollector, HistorySource

DEFAULT_ADDR = "127.0.0.1"
DEFAULT_PORT = 9469


def registry_for(source: HistorySource) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HistoryCollector(source))
    return registry


def serve(source: HistorySource, addr: str, port: int, announce: Callable[[str], None]) -> None:
    """Serve until SIGINT/SIGTERM; `EnvironmentNotReady` when the address cannot be bound."""
    try:
        server, thread = start_http_server(port, addr=addr, registry=registry_for(source))
    except socket.gaierror as exc:  # `--addr nonsense`, `--addr 127.0.0.1:9000`
        raise UserError(
            f"--addr {addr}: not an address to listen on ({exc.strerror or exc})",
            hint="give a host name or IP address alone (the port goes in --port), "
            f"for example --addr 0.0.0.0 --port {port}",
        ) from None
    except OSError as exc:
        raise EnvironmentNotReady(
            f"cannot listen on {addr}:{port}: {exc.strerror or exc}",
            hint="choose another --port (or --addr), or stop what listens there",
        ) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    host = f"[{addr}]" if ":" in addr else addr
    announce(f"mab: serving build-history metrics on http://{host}:{port}/metrics (ctrl+c stops)")
    try:
        while not stop.wait(0.5):
            if not thread.is_alive():
                break
    finally:
        server.shutdown()
        server.server_close()
        for s, handler in previous.items():
            signal.signal(s, handler)
