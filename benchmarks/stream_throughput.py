"""How fast mab follows a build's progress stream, against a floor and a named baseline.

    python benchmarks/stream_throughput.py [--mb 50] [--rss-mb 200] [--repeat 3] [--whales-mb 8]

Synthesises a realistic `--progress=rawjson` stream (two platforms, dozens of steps, layer
pulls, base64 log chunks; compact and buildx 0.13's pretty-printed form), then streams it the
way a live build is read: a child process writes it to a pipe (stderr, as buildx does) and
asyncio reads it in chunks, fed to `StreamDecoder` and `BuildModel`. Prints one table:

- mab: MB/s and events/s through decoder + model, compact and pretty;
- floor: bare `json.loads` per object on the same bytes (objects split beforehand, untimed);
- python-on-whales' `stream_stdout_and_stderr` (line streaming only, no decoding); it keeps
  all stderr in a growing `bytes`, so its run is capped and the full size extrapolated;
- linearity: time for 2x the input over time for 1x (target <= 2.2);
- peak RSS of a child process following a 200 MB stream (target < 300 MB).

Targets: >= 50 MB/s. Figures only; nothing here asserts. Each figure is the best of `--repeat`
runs; "MB/s CPU" counts this process's own CPU time, which other load on the machine disturbs
far less than the wall clock.
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
    apply = model.apply
    total = events = 0
    while chunk := await proc.stderr.read(CHUNK):
        total += len(chunk)
        for event in decoder.feed(chunk):
            apply(event)
            events += 1
    for event in decoder.close():
        apply(event)
        events += 1
    await proc.wait()
    model.finish(0)
    model.steps()
    return total, events, time.perf_counter() - start, time.process_time() - cpu


def follow(path: Path) -> tuple[int, int, float, float]:
    return asyncio.run(_follow(path))


def floor(path: Path, pretty: bool) -> tuple[int, int, float, float]:
    data = path.read_bytes()
    if pretty:
        parts = data.split(b"\n}\n")
        objects = [p + b"\n}" for p in parts if p.strip()]
    else:
        objects = [line for line in data.split(b"\n") if line]
    loads = json.loads
    start = time.perf_counter()
    cpu = time.process_time()
    for obj in objects:
        loads(obj)
    return len(data), len(objects), time.perf_counter() - start, time.process_time() - cpu


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
    parser.add_argument("--mb", type=int, default=50, help="stream size for throughput (MB)")
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
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rss_path = d / "rss.rawjson"
        synthesize(rss_path, args.rss_mb * MB, True)
        maxrss, hwm = peak_rss(rss_path)  # first: see peak_rss
        rss_path.unlink()
        files = {}
        for pretty in (False, True):
            kind = "pretty" if pretty else "compact"
            for factor in (1, 2):
                path = d / f"{kind}-{factor}x.rawjson"
                synthesize(path, args.mb * MB * factor, pretty)
                files[kind, factor] = path
        cpu_1x: dict[str, float] = {}
        for kind in ("compact", "pretty"):
            runs = [follow(files[kind, 1]) for _ in range(args.repeat)]
            size, events = runs[0][:2]
            wall, cpu = min(r[2] for r in runs), min(r[3] for r in runs)
            cpu_1x[kind] = cpu
            row(f"mab: pipe -> decoder + model ({kind})", size, events, wall, cpu, "events")
        for kind in ("compact", "pretty"):
            runs = [floor(files[kind, 1], kind == "pretty") for _ in range(args.repeat)]
            size, objects = runs[0][:2]
            wall, cpu = min(r[2] for r in runs), min(r[3] for r in runs)
            row(f"floor: json.loads per object ({kind})", size, objects, wall, cpu, "objects")
        result = whales(files["compact", 1], args.whales_mb * MB, 30.0)
        if result:
            size, lines, wall, cpu = result
            # It appends every stderr line to one bytes object: time grows with size squared.
            extrapolated = cpu * (args.mb * MB / size) ** 2
            note = f"lines; {args.mb} MB would take ~{extrapolated:,.0f}s CPU (n^2)"
            row("python-on-whales stream_stdout_and_stderr", size, lines, wall, cpu, note)
        linear = []
        for kind in ("compact", "pretty"):
            once, twice = cpu_1x[kind], float("inf")
            for _ in range(args.repeat):  # interleaved, so drifting load hits both alike
                twice = min(twice, follow(files[kind, 2])[3])
                once = min(once, follow(files[kind, 1])[3])
            linear.append(f"{kind} {twice / once:.2f}")
        for path in files.values():
            path.unlink()
    load_after = os.getloadavg()[0]

    head = ("path", "MB", "MB/s wall", "MB/s CPU", "per CPU s", "")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print(f"(best of {args.repeat} runs each)")
    print(f"linearity, CPU time(2x) / time(1x): {', '.join(linear)}  (target <= 2.2)")
    print(
        f"peak RSS following a {args.rss_mb} MB pretty stream: {maxrss:.0f} MB ru_maxrss"
        f" of the child (its VmHWM: {hwm:.0f} MB)  (target < 300)"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}"
        " (wall figures suffer under load; CPU figures are this process's own time)"
    )


if __name__ == "__main__":
    main()
