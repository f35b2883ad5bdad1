"""How fast mab digests a build's progress stream, against the JSON decoders' floors.

    python benchmarks/stream_throughput.py [--mb 40] [--rss-mb 200] [--repeat 3] [--whales-mb 8]

Two stream shapes, both made by concatenating the real recordings in tests/fixtures/streams:
event-heavy (every recording but `loglines`: many small vertex and status objects, few logs) and
log-heavy (`loglines`: a step printing 30,000 lines). Each is streamed the way a live build is
read (a child process writes it to a pipe, asyncio reads it in 64 KiB chunks into
`StreamDecoder` and `BuildModel`). Printed side by side in one run:

- mab: MB/s of this process's CPU time through decoder + model;
- floors: bare `json.loads` per object, and `msgspec.json.decode` per object, on the same bytes
  (objects split beforehand, untimed); mab ÷ the json.loads floor is the figure (target >= 0.5);
- python-on-whales' `stream_stdout_and_stderr` on a synthetic stream (line streaming only, no
  decoding; it keeps all stderr in one growing `bytes`, so its run is capped, then extrapolated);
- linearity: CPU time for half the input over the time for all of it (target <= 0.55);
- `--json`'s per-event progress on stderr: the cost of printing it;
- peak RSS of a child process following a 200 MB event-heavy stream (target < 300 MB).

Figures only; nothing here asserts. Each figure is the best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from mab.progress.decoder import StreamDecoder
from mab.progress.model import BuildModel

MB = 1024 * 1024
CHUNK = 64 * 1024
PLATFORMS = ("linux/amd64", "linux/arm64")
WORDS = [
    "install",
    "build",
    "compile",
    "link",
    "fetch",
    "resolve",
    "package",
    "module",
    "cache",
    "layer",
    "done",
    "ok",
]


def _ts(t: float) -> str:
    whole = int(t)
    nanos = int((t - whole) * 1e9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{nanos:09d}Z"


def _vertex(digest: str, name: str, inputs: list[str], **kw: Any) -> dict[str, Any]:
    v: dict[str, Any] = {"digest": digest}
    if inputs:
        v["inputs"] = inputs
    v["name"] = name
    v.update(kw)
    return v


def one_build(rng: random.Random, t0: float) -> list[dict[str, Any]]:
    """The objects of one two-platform build, digests containing "@@" for a per-copy tag."""
    out: list[dict[str, Any]] = []
    graph: list[dict[str, Any]] = []
    steps: list[tuple[str, str, str]] = []  # digest, name, kind
    for p in PLATFORMS:
        arch = p.split("/")[1]
        prev = ""
        for stage, count in (("deps", 12), ("build", 14), ("app", 8)):
            for i in range(1, count + 1):
                digest = f"sha256:@@{arch}{stage}{i:02d}" + "0" * 40
                instr = "FROM localhost:5000/base/busybox:1" if i == 1 else "RUN ./step.sh"
                if i > 1:
                    instr = f"RUN ./{rng.choice(WORDS)}.sh --{rng.choice(WORDS)}"
                name = f"[{p} {stage} {i}/{count}] {instr}"
                graph.append(_vertex(digest, name, [prev] if prev else []))
                steps.append((digest, name, "from" if i == 1 else "run"))
                prev = digest
    out.append({"vertexes": graph})
    t = t0
    for digest, name, kind in steps:
        inputs: list[str] = []
        out.append({"vertexes": [_vertex(digest, name, inputs, started=_ts(t))]})
        if kind == "from":
            for layer in range(4):
                total = rng.randint(1, 50) * MB
                for part in range(1, 11):
                    status = {
                        "id": f"extracting sha256:{layer:064d}",
                        "vertex": digest,
                        "name": f"extracting sha256:{layer:064d}",
                        "current": total * part // 10,
                        "total": total,
                        "timestamp": _ts(t),
                        "started": _ts(t0),
                    }
                    out.append({"statuses": [status]})
                    t += 0.01
        elif rng.random() < 0.7:
            for _ in range(rng.randint(20, 120)):
                lines = [
                    " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 16)))
                    for _ in range(rng.randint(1, 30))
                ]
                data = base64.b64encode(("\n".join(lines) + "\n").encode()).decode()
                out.append(
                    {
                        "logs": [
                            {
                                "vertex": digest,
                                "stream": rng.choice((1, 1, 2)),
                                "data": data,
                                "timestamp": _ts(t),
                            }
                        ]
                    }
                )
                t += 0.005
        cached = rng.random() < 0.3
        done = _vertex(digest, name, [], started=_ts(t), completed=_ts(t + 0.5), cached=cached)
        out.append({"vertexes": [done]})
        t += 0.5
    return out


def synthesize(path: Path, size: int, pretty: bool, seed: int = 7) -> int:
    """Write at least `size` bytes of stream to `path`; returns the number of objects."""
    rng = random.Random(seed)
    objects = one_build(rng, 1_700_000_000.0)
    if pretty:
        block = "".join(json.dumps(o, indent=2) + "\n" for o in objects).encode()
    else:
        block = "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objects).encode()
    copies = max(1, -(-size // len(block)))
    with path.open("wb") as f:
        for n in range(copies):
            f.write(block.replace(b"@@", b"%04d" % n))
    return copies * len(objects)


# ---------------------------------------------------------------------------------------------


async def _follow(path: Path) -> tuple[int, int, float, float]:
    """Stream `path` through a pipe into decoder + model: bytes, events, wall and CPU seconds."""
    start = time.perf_counter()
    cpu = time.process_time()
    proc = await asyncio.create_subprocess_exec(
        "sh", "-c", 'exec cat "$0" >&2', str(path), stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    decoder = StreamDecoder()
    model = BuildModel(platforms=PLATFORMS)
    total = events = 0
    while chunk := await proc.stderr.read(CHUNK):
        total += len(chunk)
        decoded = decoder.feed(chunk)
        model.apply_all(decoded)
        events += len(decoded)
    decoded = decoder.close()
    model.apply_all(decoded)
    events += len(decoded)
    await proc.wait()
    model.finish(0)
    model.steps()
    return total, events, time.perf_counter() - start, time.process_time() - cpu


def follow(path: Path) -> tuple[int, int, float, float]:
    return asyncio.run(_follow(path))


STREAMS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "streams"
SHAPES = {
    "event-heavy": [p for p in sorted(STREAMS.glob("*.rawjson")) if p.stem != "loglines"],
    "log-heavy": [STREAMS / "loglines.rawjson"],
}


def concatenated(path: Path, shape: str, size: int) -> None:
    """At least `size` bytes of the shape's recordings, one after another, whole."""
    block = b"".join(p.read_bytes().rstrip(b"\n") + b"\n" for p in SHAPES[shape])
    with path.open("wb") as f:
        for _ in range(max(1, -(-size // len(block)))):
            f.write(block)


def _objects(data: bytes) -> list[bytes]:
    """The stream's JSON objects (buildx 0.13 pretty-prints them); text lines left out."""
    parts = (p if p.startswith(b"{") else p[p.find(b"\n{") + 1 :] for p in data.split(b"\n}\n"))
    return [p + b"\n}" for p in parts if p.startswith(b"{")]


def floor(path: Path, decoder: str) -> tuple[int, int, float, float]:
    """One decoder's bare per-object time on the stream's objects (split beforehand)."""
    data = path.read_bytes()
    objects = _objects(data)
    loads = json.loads if decoder == "json" else msgspec.json.decode
    start = time.perf_counter()
    cpu = time.process_time()
    for obj in objects:
        loads(obj)
    return len(data), len(objects), time.perf_counter() - start, time.process_time() - cpu


def json_mode_progress(path: Path, progress: bool) -> float:
    """CPU seconds of a `--json` replay, with or without per-event progress on stderr (sent to
    /dev/null here, as it would go to a log nobody reads)."""
    from mab.progress.replay import ReplayRequest, replay
    from mab.progress.session import StreamSession

    data = path.read_bytes()
    with open(os.devnull, "w") as devnull:  # noqa: PTH123
        saved, sys.stderr = sys.stderr, devnull
        try:
            session = StreamSession((), "json", progress=progress)
            cpu = time.process_time()
            replay(ReplayRequest(path.name, data, 0.0), session)
            return time.process_time() - cpu
        finally:
            sys.stderr = saved


def whales(path: Path, cap: int, seconds: float) -> tuple[int, int, float, float] | None:
    """python-on-whales' streaming of a prefix of `path`: bytes, lines, wall and CPU seconds."""
    try:
        from python_on_whales.utils import stream_stdout_and_stderr
    except ImportError:
        return None
    with tempfile.NamedTemporaryFile(suffix=".rawjson") as prefix:
        with path.open("rb") as src:
            prefix.write(src.read(cap))
        prefix.flush()
        start = time.perf_counter()
        cpu = time.process_time()
        total = lines = 0
        for _source, line in stream_stdout_and_stderr(
            ["sh", "-c", 'exec cat "$0" >&2', prefix.name]
        ):
            total += len(line)
            lines += 1
            if time.perf_counter() - start > seconds:
                break
        return total, lines, time.perf_counter() - start, time.process_time() - cpu


def _high_water_kib() -> int:
    """This process's peak RSS since its exec (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def peak_rss(path: Path) -> tuple[float, float]:
    """Peak RSS in MB of a fresh child process following `path`: (ru_maxrss, VmHWM).

    ru_maxrss comes from RUSAGE_CHILDREN. Linux carries a parent's peak RSS into a (v)forked
    child's ru_maxrss across exec, so this runs first, while this process is still small;
    the child's own VmHWM (peak since its exec) is the cross-check.
    """
    code = (
        "import sys; from pathlib import Path; "
        "sys.path.insert(0, sys.argv[1]); "
        "from stream_throughput import follow, _high_water_kib; follow(Path(sys.argv[2])); "
        "print(_high_water_kib())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return children / 1024, int(out[-1]) / 1024  # both in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=40, help="stream size for throughput (MB)")
    parser.add_argument("--rss-mb", type=int, default=200, help="stream size for peak RSS (MB)")
    parser.add_argument("--whales-mb", type=int, default=8, help="python-on-whales cap (MB)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts")
    args = parser.parse_args()

    rows: list[tuple[str, ...]] = []

    def row(name: str, size: int, count: int, wall: float, cpu: float, note: str = "") -> None:
        mb = size / MB
        rows.append(
            (name, f"{mb:.1f}", f"{mb / wall:.1f}", f"{mb / cpu:.1f}", f"{count / cpu:,.0f}", note)
        )

    load_before = os.getloadavg()[0]
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rss_path = d / "rss.rawjson"
        concatenated(rss_path, "event-heavy", args.rss_mb * MB)
        maxrss, hwm = peak_rss(rss_path)  # first: see peak_rss
        rss_path.unlink()
        for shape in SHAPES:
            full, half = d / f"{shape}.rawjson", d / f"{shape}-half.rawjson"
            concatenated(full, shape, args.mb * MB)
            half.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
            runs = [follow(full) for _ in range(args.repeat)]
            size, events = runs[0][:2]
            wall, cpu = min(r[2] for r in runs), min(r[3] for r in runs)
            row(f"mab: pipe -> decoder + model ({shape})", size, events, wall, cpu, "events")
            floors = {}
            for decoder in ("json", "msgspec"):
                fl = [floor(full, decoder) for _ in range(args.repeat)]
                fsize, objects = fl[0][:2]
                fwall, fcpu = min(r[2] for r in fl), min(r[3] for r in fl)
                floors[decoder] = fcpu
                name = "json.loads" if decoder == "json" else "msgspec.json.decode"
                row(f"floor: {name} per object ({shape})", fsize, objects, fwall, fcpu, "objects")
            halves, fulls = [], []
            for _ in range(args.repeat):  # interleaved, so drifting load hits both alike
                halves.append(follow(half)[3])
                fulls.append(follow(full)[3])
            quiet = min(json_mode_progress(full, False) for _ in range(args.repeat))
            loud = min(json_mode_progress(full, True) for _ in range(args.repeat))
            notes.append(
                f"{shape}: mab / json.loads floor = {floors['json'] / cpu:.2f} (target >= 0.5),"
                f" / msgspec floor = {floors['msgspec'] / cpu:.2f}; linearity CPU(half)/CPU(all)"
                f" = {min(halves) / min(fulls):.2f} (target <= 0.55); --json with per-event"
                f" progress on stderr costs {loud / quiet:.2f}x the replay without it"
            )
            full.unlink()
            half.unlink()
        synthetic = d / "synthetic.rawjson"
        synthesize(synthetic, args.whales_mb * MB, False)
        result = whales(synthetic, args.whales_mb * MB, 30.0)
        if result:
            size, lines, wall, cpu = result
            # It appends every stderr line to one bytes object: time grows with size squared.
            extrapolated = cpu * (args.mb * MB / size) ** 2
            note = f"lines; {args.mb} MB would take ~{extrapolated:,.0f}s CPU (n^2)"
            row("python-on-whales stream_stdout_and_stderr", size, lines, wall, cpu, note)
    load_after = os.getloadavg()[0]

    head = ("path", "MB", "MB/s wall", "MB/s CPU", "per CPU s", "")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print(f"(best of {args.repeat} runs each)")
    for note in notes:
        print(note)
    print(
        f"peak RSS following a {args.rss_mb} MB event-heavy stream: {maxrss:.0f} MB ru_maxrss"
        f" of the child (its VmHWM: {hwm:.0f} MB)  (target < 300)"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}"
        " (wall figures suffer under load; CPU figures are this process's own time)"
    )


if __name__ == "__main__":
    main()
