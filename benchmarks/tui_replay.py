"""The TUI against the engine alone, on the same >= 100k-event stream replayed at speed 0.

    python benchmarks/tui_replay.py [--events 100000] [--size 160x48] [--repeat 3] [--distinct]

The stream is the synthetic two-platform build of `stream_throughput.py` (layer pulls, base64
log chunks, dozens of steps per copy), written compact. Then, on the same bytes:

- engine: `StreamDecoder` + `BuildModel` fed 64 KiB chunks in a loop, nothing drawn;
- tui: `MabApp` over a speed-0 `ReplaySource`, headless (`App.run_test`), timed from the run's
  start to its end as the app saw it, with its redraw count (the batching at work).

Each is timed `--repeat` times, interleaved (medians shown), then run once under `tracemalloc`
for peak memory. The bound on memory is
the per-step log buffers: steps x 2 streams x LOG_BYTES. Targets: tui time <= 2x engine time,
tui peak within that bound. Figures only; nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from mab.progress.decoder import StreamDecoder
from mab.progress.model import LOG_BYTES, BuildModel
from mab.tui.app import MabApp
from mab.tui.messages import RunFinished
from mab.tui.run_state import RunState
from mab.tui.source import ReplaySource

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream_throughput import one_build, synthesize

CHUNK = 64 * 1024


def make_stream(path: Path, events: int, distinct: bool) -> int:
    """Write a compact stream of at least `events` objects; returns how many.

    By default every copy of the synthetic build reuses the same digests: one build of 68
    steps whose steps run again and again with ever more log output (what a long build looks
    like). `distinct`: each copy is a new set of steps (thousands of steps: a stress case).
    """
    if distinct:
        probe = path.with_suffix(".probe")
        per_copy = synthesize(probe, 1, pretty=False)
        copy_bytes = probe.stat().st_size
        probe.unlink()
        return synthesize(path, -(-events // per_copy) * copy_bytes, pretty=False)
    objects = one_build(random.Random(7), 1_700_000_000.0)
    block = "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objects)
    copies = -(-events // len(objects))
    path.write_bytes(block.replace("@@", "0000").encode() * copies)
    return copies * len(objects)


def engine(data: bytes) -> BuildModel:
    decoder = StreamDecoder()
    model = BuildModel()
    apply = model.apply
    for start in range(0, len(data), CHUNK):
        for event in decoder.feed(data[start : start + CHUNK]):
            apply(event)
    for event in decoder.close():
        apply(event)
    return model


class TimedApp(MabApp):
    """Stamps the run's start and the moment the app has taken in its end."""

    started = 0.0
    finished = 0.0
    done: asyncio.Event | None = None

    def start_run(self, *, no_cache: bool = False) -> RunState:
        self.started = time.perf_counter()
        return super().start_run(no_cache=no_cache)

    def on_run_finished(self, message: RunFinished) -> None:
        super().on_run_finished(message)
        self.finished = time.perf_counter()
        if self.done is not None:
            self.done.set()


async def tui(data: bytes, size: tuple[int, int]) -> TimedApp:
    app = TimedApp(ReplaySource("bench.rawjson", data, 0))
    app.done = asyncio.Event()  # awaited, not polled: polling would tax the loop being timed
    async with app.run_test(size=size, headless=True):
        await app.done.wait()
    return app


def peak_of(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--size", default="160x48", help="terminal size, COLSxROWS")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians shown")
    parser.add_argument("--distinct", action="store_true", help="a new set of steps per copy")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.rawjson"
        objects = make_stream(path, args.events, args.distinct)
        data = path.read_bytes()

    engine_times, tui_times = [], []
    for _ in range(args.repeat):  # interleaved, so a busy machine slows both alike
        t = time.perf_counter()
        model = engine(data)
        engine_times.append(time.perf_counter() - t)
        app = asyncio.run(tui(data, (cols, rows)))
        tui_times.append(app.finished - app.started)
    engine_s, tui_s = statistics.median(engine_times), statistics.median(tui_times)
    engine_peak = peak_of(lambda: engine(data))
    tui_peak = peak_of(lambda: asyncio.run(tui(data, (cols, rows))))
    steps = len(model.vertices())
    bound = steps * 2 * LOG_BYTES
    mb = 1024 * 1024

    print(
        f"stream: {len(data) / mb:.1f} MB, {objects} objects, {model.events} events, {steps} steps"
    )
    print(f"{'':8} {'time':>8} {'events/s':>10} {'peak MB':>8}")
    for name, secs, peak in (("engine", engine_s, engine_peak), ("tui", tui_s, tui_peak)):
        print(f"{name:8} {secs:7.2f}s {model.events / secs:10.0f} {peak / mb:8.1f}")
    print(f"tui/engine time: {tui_s / engine_s:.2f}x (target <= 2x)")
    print(f"tui redraws (last run): {app.redraws} ({app.redraws / tui_times[-1]:.1f}/s)")
    per_step = f"{steps} steps x 2 streams x {LOG_BYTES // 1024} KiB"
    print(f"log-buffer bound: {bound / mb:.1f} MB ({per_step})")
    print("(peaks are Python allocations under tracemalloc, input bytes included)")


if __name__ == "__main__":
    main()
