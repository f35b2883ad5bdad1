"""Hand-written rawjson streams for the progress tests: small, readable, and like BuildKit's."""

from __future__ import annotations

import base64
import json
import math
import time
from datetime import UTC, datetime
from typing import Any

T0 = 1_700_000_000.0


def stamp(t: float) -> str:
    """Seconds since the epoch as BuildKit writes a time (RFC 3339, UTC, nanoseconds)."""
    whole = math.floor(t)
    nanos = round((t - whole) * 1e9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{nanos:09d}Z"


def ts(offset: float) -> str:
    """An RFC 3339 timestamp with nanoseconds, `offset` seconds after T0."""
    moment = datetime.fromtimestamp(T0 + offset, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def vertex(
    digest: str,
    name: str,
    inputs: tuple[str, ...] = (),
    started: float | None = None,
    completed: float | None = None,
    cached: bool = False,
    error: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    v: dict[str, Any] = {"digest": digest}
    if inputs:
        v["inputs"] = list(inputs)
    v["name"] = name
    if started is not None:
        v["started"] = ts(started)
    if completed is not None:
        v["completed"] = ts(completed)
    if cached:
        v["cached"] = True
    if error:
        v["error"] = error
    if group:
        v["progressGroup"] = {"id": group, "name": name, "weak": True}
    return v


def log(digest: str, text: str | bytes, stream: int = 1, at: float = 0.0) -> dict[str, Any]:
    data = text.encode() if isinstance(text, str) else text
    return {
        "vertex": digest,
        "stream": stream,
        "data": base64.b64encode(data).decode(),
        "timestamp": ts(at),
    }


def status(digest: str, ident: str, current: int, total: int, at: float = 0.0) -> dict[str, Any]:
    return {
        "id": ident,
        "vertex": digest,
        "name": ident,
        "current": current,
        "total": total,
        "timestamp": ts(at),
        "started": ts(at),
    }


def encode(objects: list[dict[str, Any]], pretty: bool = False, text: str = "") -> bytes:
    """Objects as buildx writes them (pretty = buildx 0.13), then any trailing text."""
    if pretty:
        body = "".join(json.dumps(o, indent=2) + "\n" for o in objects)
    else:
        body = "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objects)
    return (body + text).encode()


class Graph:
    """Builds a stream vertex by vertex: first the whole graph unstarted, then updates."""

    def __init__(self) -> None:
        self.vertices: dict[str, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []

    def add(self, digest: str, name: str, *inputs: str, group: str | None = None) -> str:
        self.vertices[digest] = vertex(digest, name, inputs, group=group)
        return digest

    def run(self, digest: str, start: float, end: float | None, **kw: Any) -> None:
        v = dict(self.vertices[digest])
        v["started"] = ts(start)
        self.updates.append({"vertexes": [dict(v)]})
        if end is not None or kw:
            if end is not None:
                v["completed"] = ts(end)
            if kw.get("cached"):
                v["cached"] = True
            if kw.get("error"):
                v["error"] = kw["error"]
            self.updates.append({"vertexes": [v]})

    def cached(self, digest: str, at: float) -> None:
        self.run(digest, at, at, cached=True)

    def objects(self) -> list[dict[str, Any]]:
        return [{"vertexes": list(self.vertices.values())}, *self.updates]


def multi_platform(fail: bool = False) -> tuple[Graph, str]:
    """A two-platform build: deps cached on amd64, executed on arm64; one shared tool step."""
    g = Graph()
    g.add("sha256:def", "[internal] load build definition from Dockerfile")
    g.add("sha256:ma", "[linux/amd64 internal] load metadata for localhost:5000/base/busybox:1")
    g.add("sha256:mb", "[linux/arm64 internal] load metadata for localhost:5000/base/busybox:1")
    g.add("sha256:ctx", "[internal] load build context")
    g.add("sha256:imp", "importing cache manifest from localhost:5000/cache:main")
    base = "localhost:5000/base/busybox:1@sha256:0123"
    fa = g.add("sha256:fa", f"[linux/amd64 deps 1/4] FROM {base}")
    fb = g.add("sha256:fb", f"[linux/arm64 deps 1/4] FROM {base}")
    a2 = g.add("sha256:a2", "[linux/amd64 deps 2/4] WORKDIR /src", fa)
    b2 = g.add("sha256:b2", "[linux/arm64 deps 2/4] WORKDIR /src", fb)
    a3 = g.add("sha256:a3", "[linux/amd64 deps 3/4] COPY package.json .", a2, "sha256:ctx")
    b3 = g.add("sha256:b3", "[linux/arm64 deps 3/4] COPY package.json .", b2, "sha256:ctx")
    a4 = g.add("sha256:a4", "[linux/amd64 deps 4/4] RUN ./install.sh", a3)
    b4 = g.add("sha256:b4", "[linux/arm64 deps 4/4] RUN ./install.sh", b3)
    # A build-platform tool step, identical for both targets: one digest, the amd64 name.
    tf = g.add("sha256:tf", f"[linux/amd64 tools 1/2] FROM {base}")
    t2 = g.add("sha256:t2", "[linux/amd64 tools 2/2] RUN make-tool", tf)
    aa = g.add("sha256:aa", "[linux/amd64 app 1/2] COPY --from=tools /tool /bin/", a4, t2)
    ba = g.add("sha256:ba", "[linux/arm64 app 1/2] COPY --from=tools /tool /bin/", b4, t2)
    a6 = g.add("sha256:a6", "[linux/amd64 app 2/2] RUN tool --check", aa)
    b6 = g.add("sha256:b6", "[linux/arm64 app 2/2] RUN tool --check", ba)
    g.add("sha256:exp", "exporting to image")
    g.add("sha256:cex", "exporting cache to registry")

    g.run("sha256:def", 0.0, 0.1)
    g.run("sha256:ma", 0.1, 0.3)
    g.run("sha256:mb", 0.1, 0.4)
    g.run("sha256:imp", 0.4, 0.6)
    g.run("sha256:ctx", 0.6, 0.7)
    for d in (fa, a2, a3, a4):
        g.cached(d, 0.8)
    g.run(fb, 0.8, 1.0)
    g.updates.insert(-1, {"statuses": [status(fb, "extracting sha256:0123", 5, 10, 0.9)]})
    g.run(b2, 1.0, 1.1)
    g.run(b3, 1.1, 1.2)
    g.cached(tf, 0.8)
    g.run(t2, 0.8, 2.0)
    g.run(b4, 1.2, 5.2)
    g.updates.insert(-1, {"logs": [log(b4, "installing\nstep 1\n", 1, 2.0)]})
    g.updates.insert(-1, {"logs": [log(b4, "warning: slow\n", 2, 2.1)]})
    g.run(aa, 2.0, 2.1)
    g.run(ba, 5.2, 5.3)
    g.run(a6, 2.1, 2.5)
    text = ""
    if fail:
        g.run(
            b6,
            5.3,
            6.0,
            error='process "/bin/sh -c tool --check" did not complete successfully: exit code: 1',
        )
        g.updates.insert(-1, {"logs": [log(b6, "check failed: bad arch\n", 2, 5.9)]})
        text = (
            'ERROR: failed to solve: process "/bin/sh -c tool --check" did not complete '
            "successfully: exit code: 1\n"
        )
    else:
        g.run(b6, 5.3, 6.0)
        g.run("sha256:exp", 6.0, 7.0)
        g.run("sha256:cex", 7.0, 7.5)
    return g, text


def multi_platform_stream(pretty: bool = False, fail: bool = False) -> bytes:
    g, text = multi_platform(fail)
    return encode(g.objects(), pretty, text)


def compacted(data: bytes) -> bytes:
    """The recording with each pretty-printed object on one line, text lines kept as they are."""
    text = data.decode("utf-8", "surrogateescape")
    decoder = json.JSONDecoder()
    out: list[str] = []
    pos = 0
    while pos < len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl + 1
        if text.startswith("{", pos):
            try:
                value, stop = decoder.raw_decode(text, pos)
            except ValueError:
                out.append(text[pos:end])
                pos = end
                continue
            out.append(json.dumps(value, separators=(",", ":")) + "\n")
            pos = stop + 1 if text.startswith("\n", stop) else stop
        else:
            out.append(text[pos:end])
            pos = end
    return "".join(out).encode("utf-8", "surrogateescape")
