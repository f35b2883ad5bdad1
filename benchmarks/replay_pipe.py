"""`mab replay - --json` as a user runs it: a whole process reading a pipe, start-up included,
against the bare `json.loads`-per-line floor reading the same pipe; and its peak memory on
ordinary, huge and hostile input, each beside the input's size.

    python benchmarks/replay_pipe.py [--mb 50] [--pairs 5] [--rss-mb 200] [--steps 1000000]
                                     [--nul-mb 1500]

- throughput: the recordings of tests/fixtures/streams compacted to one object per line (as
  newer buildx writes them), the event-heavy ones (cold and warm builds, cache export and
  import, a cross-compile, a failed and a canceled build) repeated to the size of the log-heavy
  one, all repeated to --mb. mab and the floor run in turn (A B A B ...); the figures are
  floor / mab for CPU seconds (the process's own, from wait4) and for wall seconds (median of
  the pairs; the machine is shared, so the wall figure is the noisier). Target >= 1.0.
- peak RSS (the process's ru_maxrss) following: the same mixed stream at --rss-mb (target
  <= 60 MB); a stream of --steps distinct steps, each one vertex (target <= 600 MB); --nul-mb
  of NUL bytes and no newline (target <= 100 MB). The child's address space is capped at
  3 GB so that a runaway cannot take the machine down; a run that hits it is reported so.

Figures only; nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.progress.progress_streams import compacted  # noqa: E402

MB = 1024 * 1024
STREAMS = ROOT / "tests" / "fixtures" / "streams"
FLOOR = (
    "import json, sys\n"
    "loads = json.loads\n"
    "for line in sys.stdin.buffer:\n"
    "    if line.startswith(b'{'):\n"
    "        loads(line)\n"
)
MAB = [sys.executable, "-m", "mab", "replay", "-", "--json"]
ADDRESS_CAP = 3 * 1024 * MB


def mixed_block() -> bytes:
    """One block of the mixed stream: event-heavy recordings matched in size to the log-heavy."""
    recordings = sorted(STREAMS.glob("*.rawjson"))
    events = b"".join(
        compacted(p.read_bytes()).rstrip(b"\n") + b"\n" for p in recordings if p.stem != "loglines"
    )
    logs = compacted((STREAMS / "loglines.rawjson").read_bytes())
    return events * max(1, round(len(logs) / len(events))) + logs


def write_repeated(path: Path, block: bytes, size: int) -> None:
    with path.open("wb") as f:
        for _ in range(max(1, -(-size // len(block)))):
            f.write(block)


def steps_stream(count: int) -> Iterator[bytes]:
    """`count` distinct Dockerfile steps, each a vertex that started and completed."""
    for i in range(count):
        yield (
            b'{"vertexes":[{"digest":"sha256:%064d","name":"[linux/amd64 build %d/%d] RUN'
            b' ./step.sh %d","started":"2024-01-01T00:00:00.1Z",'
            b'"completed":"2024-01-01T00:00:01.2Z"}]}\n' % (i, i + 1, count, i)
        )


def nuls(size: int) -> Iterator[bytes]:
    piece = b"\0" * MB
    for _ in range(size // MB):
        yield piece


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_CAP, ADDRESS_CAP))


def run(argv: list[str], source: Callable[[], Iterator[bytes]]) -> tuple[float, float, float, int]:
    """Run `argv` reading `source` through a pipe: (wall s, CPU s, peak RSS MB, exit code)."""
    read, write = os.pipe()
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=read,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_capped,
    )
    os.close(read)

    def feed() -> None:
        with os.fdopen(write, "wb") as pipe:
            try:
                for piece in source():
                    pipe.write(piece)
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=feed)
    writer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    writer.join()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, status


def from_file(path: Path) -> Callable[[], Iterator[bytes]]:
    def read() -> Iterator[bytes]:
        with path.open("rb") as f:
            while piece := f.read(MB):
                yield piece

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=50, help="mixed stream for throughput (MB)")
    parser.add_argument("--pairs", type=int, default=5, help="mab / floor pairs")
    parser.add_argument("--rss-mb", type=int, default=200, help="ordinary stream for RSS (MB)")
    parser.add_argument("--steps", type=int, default=1_000_000, help="distinct steps (0: skip)")
    parser.add_argument("--nul-mb", type=int, default=1500, help="NULs, no newline (MB; 0: skip)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "mixed.rawjson"
        block = mixed_block()
        write_repeated(stream, block, args.mb * MB)
        size = stream.stat().st_size
        mab, floor = [], []
        for _ in range(args.pairs):
            mab.append(run(MAB, from_file(stream)))
            floor.append(run([sys.executable, "-c", FLOOR], from_file(stream)))
        cpu_ratio = min(f[1] for f in floor) / min(m[1] for m in mab)
        wall_ratio = statistics.median(f[0] / m[0] for f, m in zip(floor, mab, strict=True))
        print(f"mixed stream through a pipe, {size / MB:.1f} MB, best of {args.pairs} pairs:")
        for name, runs in (("mab replay - --json", mab), ("floor: json.loads per line", floor)):
            wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
            print(
                f"  {name:28s} wall {wall:6.2f} s  CPU {cpu:6.2f} s  ({size / MB / cpu:.0f} MB/s)"
            )
        print(
            f"  mab / floor: {cpu_ratio:.2f}x by CPU, {wall_ratio:.2f}x by wall (median of pairs)"
            "  (target >= 1.0)"
        )
        stream.unlink()
        print("peak RSS of mab replay - --json following:")
        if args.rss_mb:
            write_repeated(stream, block, args.rss_mb * MB)
            size = stream.stat().st_size
            _, cpu, rss, _ = run(MAB, from_file(stream))
            print(f"  an ordinary stream of {size / MB:.0f} MB: {rss:.0f} MB  (target <= 60)")
            stream.unlink()
        if args.steps:
            size = sum(len(line) for line in steps_stream(args.steps))
            _, cpu, rss, status = run(MAB, lambda: steps_stream(args.steps))
            fate = "" if os.WIFEXITED(status) else " (killed: over the 3 GB cap)"
            print(
                f"  {args.steps:,} distinct steps, {size / MB:.0f} MB: {rss:.0f} MB{fate},"
                f" {cpu:.0f} s CPU  (target <= 600)"
            )
        if args.nul_mb:
            _, cpu, rss, _ = run(MAB, lambda: nuls(args.nul_mb * MB))
            print(f"  {args.nul_mb} MB of NULs, no newline: {rss:.0f} MB  (target <= 100)")
    load_after = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}")


if __name__ == "__main__":
    main()
