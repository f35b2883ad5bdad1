"""The HTML report of a big build: its weight, and how long Chromium takes to open it.

    python benchmarks/report_size.py [--steps 2000] [--repeat 5]

A synthetic two-platform build of `--steps` Dockerfile steps in all (half per platform: stages
of 50 chained steps, three stages running at a time, two in three steps cached) goes through
the same decoder, model, summary, timeline and page as `mab report FILE`. The page is opened in
headless Chromium (Debian's `chromium`, through its DevTools protocol) `--repeat` times, timed
from navigation to the load event; the baseline is an empty page opened the same way in the
same browser, interleaved. Targets: under 1 MB, opened in under 1 s. Figures only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mab.progress.replay import model_of_recording
from mab.progress.summary import Summary
from mab.progress.timeline import timeline_of
from mab.report.data import report_of_model
from mab.report.html import render

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.progress.progress_streams import encode, vertex
from tests.report.chromium import Page, browser, chromium_binary

PLATFORMS = ("linux/amd64", "linux/arm64")
CHAIN = 50


def synthetic(steps: int) -> bytes:
    objects: list[dict[str, Any]] = [
        {"vertexes": [vertex("sha256:def", "[internal] load build definition", (), 0.0, 0.1)]}
    ]
    per = steps // len(PLATFORMS)
    for p, platform in enumerate(PLATFORMS):
        slow = 1.0 + 2.5 * p  # the emulated platform is slower
        stages = -(-per // CHAIN)
        for s in range(stages):
            start = 0.2 + (s // 3) * CHAIN * 0.4 * slow
            parent: tuple[str, ...] = ()
            for i in range(min(CHAIN, per - s * CHAIN)):
                digest = f"sha256:{p}-{s}-{i}"
                cached = (s * CHAIN + i) % 3 != 0
                took = 0.01 if cached else 0.2 * slow * (1 + i % 4)
                name = f"[{platform} stage{s} {i + 1}/{CHAIN}] RUN ./step.sh {s} {i} --flag=value"
                v = vertex(digest, name, parent, start, start + took, cached=cached)
                objects.append({"vertexes": [v]})
                parent = (digest,)
                start += took
    return encode(objects)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if chromium_binary() is None:
        print("no chromium on PATH (apt-get install chromium); nothing measured")
        return 1
    built = time.perf_counter()
    model = model_of_recording("synthetic", synthetic(args.steps))
    summary = Summary.from_model(model)
    page = render(report_of_model("synthetic", "synthetic build", model, summary))
    built = time.perf_counter() - built
    tracks = {t.name: len(t.bars) for t in timeline_of(model, summary).tracks}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.html"
        empty = Path(tmp) / "empty.html"
        report.write_text(page)
        empty.write_text("<!doctype html><title>empty</title>\n")
        times: dict[str, list[float]] = {"report": [], "empty page": []}
        with browser() as b:
            for _ in range(args.repeat):
                for label, path in (("empty page", empty), ("report", report)):
                    tab = Page(b, 1280, 800)
                    times[label].append(tab.open(path.as_uri()))
                    tab.send("Page.close")
    size = len(page.encode())
    print(f"synthetic build: {len(summary.steps)} steps, bars per track {tracks}")
    print(f"report: {size / 1e6:.3f} MB ({size} bytes; target < 1 MB); made in {built:.2f}s")
    for label, found in times.items():
        print(
            f"open in chromium, {label:>10}: median {statistics.median(found) * 1000:7.1f} ms, "
            f"max {max(found) * 1000:7.1f} ms over {len(found)}"
        )
    ratio = statistics.median(times["report"]) / statistics.median(times["empty page"])
    print(f"report / empty page: {ratio:.1f}x; target: report < 1000 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
