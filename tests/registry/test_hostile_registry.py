"""A hostile registry on 127.0.0.1, started by the test (it stops itself): a body trickled a
byte at a time ends at the operation's deadline, and a `Link` header that names the same page
again ends the listing at the second request, with a clear `RegistryError`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mab.errors import RegistryError
from mab.registry.client import RegistryClient
from mab.registry.reference import parse_reference

LONGEST_S = 20.0  # no handler of this server runs longer, whatever the client does


class Hostile(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handle: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.handle_request_with = handle
        self.requests: list[str] = []
        self.stop = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Hostile

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        self.server.handle_request_with(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], Hostile]]:
    servers: list[Hostile] = []

    def start(handle: Callable[[BaseHTTPRequestHandler], None]) -> Hostile:
        server = Hostile(handle)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop.set()
        server.shutdown()
        server.server_close()


def trickle(h: BaseHTTPRequestHandler) -> None:
    """A manifest of 1000 bytes, sent one byte every 0.2 s (3 minutes and more in all)."""
    h.send_response(200)
    h.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
    h.send_header("Content-Length", "1000")
    h.end_headers()
    server: Hostile = h.server  # type: ignore[assignment]
    started = time.monotonic()
    while not server.stop.wait(0.2) and time.monotonic() - started < LONGEST_S:
        try:
            h.wfile.write(b" ")
            h.wfile.flush()
        except OSError:
            return


def same_page(h: BaseHTTPRequestHandler) -> None:
    body = json.dumps({"name": "app", "tags": ["buildcache-linux-amd64"]}).encode()
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.send_header("Link", '</v2/app/tags/list?n=1000&last=a>; rel="next"')
    h.end_headers()
    h.wfile.write(body)


def test_a_trickled_body_ends_at_the_deadline(hostile: Callable[..., Hostile]) -> None:
    server = hostile(trickle)
    registry = f"127.0.0.1:{server.server_address[1]}"
    ref = parse_reference(f"{registry}/app:buildcache-linux-amd64")
    assert ref is not None
    with (
        RegistryClient(registry, lookup_credentials=False, deadline=1.0) as client,
        pytest.raises(RegistryError, match=r"no whole answer within 1s") as info,
    ):
        client.get_manifest(ref)
    assert info.value.hint and "too slow" in info.value.hint
    assert len(server.requests) == 1  # not retried past the deadline


def test_a_link_header_naming_the_same_page_again_ends_the_listing(
    hostile: Callable[..., Hostile],
) -> None:
    server = hostile(same_page)
    registry = f"127.0.0.1:{server.server_address[1]}"
    with (
        RegistryClient(registry, lookup_credentials=False) as client,
        pytest.raises(RegistryError, match="its Link header names a page again"),
    ):
        client.list_tags("app")
    assert server.requests == ["/v2/app/tags/list?n=1000", "/v2/app/tags/list?n=1000&last=a"]


def endless(h: BaseHTTPRequestHandler) -> None:
    body = json.dumps({"name": "app", "tags": [f"t{len(h.server.requests)}"]}).encode()  # type: ignore[attr-defined]
    h.send_response(200)
    h.send_header("Content-Length", str(len(body)))
    h.send_header("Link", f'</v2/app/tags/list?n=1&last=t{len(h.server.requests)}>; rel="next"')  # type: ignore[attr-defined]
    h.end_headers()
    h.wfile.write(body)


def test_an_endless_tag_list_ends_at_the_page_limit(hostile: Callable[..., Hostile]) -> None:
    server = hostile(endless)
    registry = f"127.0.0.1:{server.server_address[1]}"
    with (
        RegistryClient(registry, lookup_credentials=False) as client,
        pytest.raises(RegistryError, match="has over 100 pages"),
    ):
        client.list_tags("app")
    assert len(server.requests) == 100


def hostile_tags(h: BaseHTTPRequestHandler) -> None:
    if "/tags/list" in h.path:
        tags = ["buildcache-linux-amd64\x1b]52;c;eA==\x07", "buildcache-\x1b[2J\x9b2J\ud800"]
        body = json.dumps({"name": "app", "tags": tags}).encode()
        h.send_response(200)
    else:
        body = json.dumps({"errors": [{"code": "x", "message": "\x1b]0;title\x07no"}]}).encode()
        h.send_response(404)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def test_tags_from_a_registry_reach_no_terminal_with_a_control_sequence(
    hostile: Callable[..., Hostile], capsys: pytest.CaptureFixture[str]
) -> None:
    from mab.cli import main

    server = hostile(hostile_tags)
    image = f"127.0.0.1:{server.server_address[1]}/app"
    for argv in (["cache", "ls", image], ["cache", "inspect", f"{image}:buildcache-linux-amd64"]):
        with pytest.raises(SystemExit):
            main(argv)
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        for text in (out, err):
            assert not any(c in text for c in "\x1b\x07\x9b\ud800"), ascii(text)
