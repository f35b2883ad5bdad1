"""How fast `mab history` lists a large history, against a bare SELECT of the same rows.

Writes N synthetic builds (two platforms, ten steps each, fingerprints and a miss cause, like a
real build) into a fresh database in a temporary directory, then times, best of R runs:

- baseline: `SELECT <the listed columns> FROM builds ORDER BY started_at DESC` with sqlite3,
  rows fetched as tuples and nothing else;
- mab: `HistoryStore.builds()` (typed rows with per-platform stats) for every build, and the
  same plus the text table `mab history --limit 0` prints;
- mab: the default `mab history` (the newest 20 builds) on the same database.

    python3 benchmarks/history_list.py [--builds N] [--runs R]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mab.commands.history import list_table
from mab.history.record import BuildRecord, StepInputs, StepRecord
from mab.history.store import HistoryStore
from mab.history.why import Why

PLATFORMS = ("linux/amd64", "linux/arm64")
BATCH = 5000


def synthetic(n: int) -> tuple[BuildRecord, dict[str, dict[str, Why]]]:
    steps = []
    for platform in PLATFORMS:
        for i in range(1, 11):
            inputs = StepInputs(f"{n:08x}{i:08x}", f"{i:016x}", (("V", str(n % 7)),), None, "", 0)
            state = "cached" if (i + n) % 4 else "ran"
            steps.append(
                StepRecord(platform, "app", i, 10, f"RUN step {i}", state, 0.1 * i, inputs)
            )
    record = BuildRecord(
        uid=f"{n:032x}",
        started_at=1_700_000_000.0 + n * 60,
        duration_s=12.5,
        outcome="succeeded",
        image=f"registry.example/app-{n % 5}",
        platforms=PLATFORMS,
        steps=tuple(steps),
        git_commit=f"{n:040x}",
        git_branch="main",
        builder="default",
    )
    whys = {PLATFORMS[1]: {"app#3": Why("sources_changed", "src/app.py changed")}}
    return record, whys


def fill(store: HistoryStore, builds: int) -> None:
    for start in range(0, builds, BATCH):
        store.add_many([synthetic(n) for n in range(start, min(builds, start + BATCH))])


def best(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, help="keep the database here (reused when it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "history.sqlite3"
        began = time.perf_counter()
        with HistoryStore.open(path) as store:
            if store.count() != args.builds:
                store.prune(0)
                fill(store, args.builds)
        filled = time.perf_counter() - began
        size = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob("*-wal"))
        conn = sqlite3.connect(path)
        columns = (
            "id, uid, started_at, duration_s, outcome, image, target, source, git_commit, "
            "git_branch, builder, stats"
        )
        sql = f"SELECT {columns} FROM builds ORDER BY started_at DESC, id DESC"
        base, rows = best(args.runs, lambda: conn.execute(sql).fetchall())
        with HistoryStore.open(path) as store:
            typed, listed = best(args.runs, store.builds)
            table, _ = best(args.runs, lambda: list_table(store.builds()))
            recent, _ = best(args.runs, lambda: list_table(store.builds(limit=20)))
        assert len(rows) == len(listed) == args.builds
    print(f"{args.builds} builds ready in {filled:.1f}s; database {size / 1e6:.1f} MB")
    print(f"{'what':<46} {'best of ' + str(args.runs):>10} {'vs baseline':>12}")
    for name, seconds in (
        ("baseline: bare SELECT of the same rows", base),
        ("mab: HistoryStore.builds() (typed rows)", typed),
        ("mab: `mab history --limit 0` table", table),
        ("mab: `mab history` (newest 20)", recent),
    ):
        print(f"{name:<46} {seconds:>9.3f}s {seconds / base:>11.2f}x")


if __name__ == "__main__":
    main()
