"""The history database: round trips, queries, concurrent writers and a writer killed mid-way."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mab.history.record import BuildRecord, StepRecord
from mab.history.store import SCHEMA_VERSION, HistoryError, HistoryStore, default_path
from mab.history.why import Why

P = ("linux/amd64", "linux/arm64")


def record(
    uid: str, at: float, image: str = "app", cached: int = 1, key: str = "k1", target: str = ""
) -> BuildRecord:
    steps = tuple(
        StepRecord(p, "s", i, 3, f"RUN step {i}", "cached" if i <= cached else "ran", 0.5)
        for p in P
        for i in (1, 2, 3)
    )
    return BuildRecord(
        uid,
        at,
        2.0,
        "succeeded",
        image,
        P,
        steps,
        builder="default",
        dockerfile_key=key,
        target=target,
    )


def test_a_record_comes_back_as_it_went_in(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.db") as store:
        build_id = store.add(record("u1", 10.0))
        assert store.record(build_id) == record("u1", 10.0)
        assert store.record("u1") == store.record("last")
        row = store.row(build_id)
        assert [(s.platform, s.steps, s.cached) for s in row.platforms] == [
            ("linux/amd64", 3, 1),
            ("linux/arm64", 3, 1),
        ]


def test_queries_for_metrics(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "h.db") as store:
        store.add(record("u1", 10.0), {"linux/arm64": {"s#2": Why("sources_changed", "a")}})
        store.add(record("u2", 20.0, image="other"), {"linux/arm64": {"s#2": Why("unknown", "")}})
        store.add(record("u3", 30.0))
        assert [r.uid for r in store.builds(image="app")] == ["u3", "u1"]
        assert [r.uid for r in store.builds(since=15.0)] == ["u3", "u2"]
        assert [r.uid for r in store.builds(limit=1)] == ["u3"]
        counts = store.misses_by_cause()
        assert {(m.platform, m.cause, m.count) for m in counts} == {
            ("linux/arm64", "sources_changed", 1),
            ("linux/arm64", "unknown", 1),
        }
        found = store.previous(record("u4", 30.0), "linux/arm64")
        assert found is not None and found.uid == "u1"
        assert store.prune(1) == 2
        assert [r.uid for r in store.builds()] == ["u3"]
        assert store.misses_by_cause() == []  # removed with their builds


def test_a_build_is_compared_only_with_builds_of_its_dockerfile_and_target(
    tmp_path: Path,
) -> None:
    with HistoryStore.open(tmp_path / "h.db") as store:
        store.add(record("main-1", 10.0, key="main"))
        store.add(record("dev-1", 20.0, key="dev"))  # another Dockerfile, same image name
        store.add(record("main-t", 25.0, key="main", target="test"))
        found = store.previous(record("main-2", 30.0, key="main"), "linux/amd64")
        assert found is not None and found.uid == "main-1"
        assert store.previous(record("other", 30.0, key="other"), "linux/amd64") is None
        assert store.previous(record("old", 30.0, key=""), "linux/amd64") is None
        found = store.previous(record("t2", 30.0, key="main", target="test"), "linux/amd64")
        assert found is not None and found.uid == "main-t"


def test_unknown_ids_are_a_clear_error(tmp_path: Path) -> None:
    with (
        HistoryStore.open(tmp_path / "h.db") as store,
        pytest.raises(HistoryError, match="no build"),
    ):
        store.record("42")


def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "h.db"
    bad.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(HistoryError, match="cannot open the build history"):
        HistoryStore.open(bad)
    assert bad.read_bytes() == b"not sqlite at all" * 100  # left as it was


def test_an_old_schema_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    sqlite3.connect(path).close()  # version 0: an empty file
    with HistoryStore.open(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        store.add(record("u1", 1.0))


def test_the_path_follows_the_flag_then_the_environment() -> None:
    assert default_path("x.db", {}) == Path("x.db")
    assert default_path(None, {"MAB_HISTORY": "/tmp/y.db"}) == Path("/tmp/y.db")
    assert default_path(None, {"MAB_HISTORY": "off"}) is None
    assert str(default_path(None, {})).endswith("history.sqlite3")


WRITER = """
import sys, time
from mab.history.store import HistoryStore
from tests.history.test_store import record
store = HistoryStore.open(__import__("pathlib").Path(sys.argv[1]))
for i in range(int(sys.argv[3])):
    store.add(record(f"{sys.argv[2]}-{i}", time.time()))
    print(i, flush=True)
"""


def _writer(path: Path, name: str, count: int) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), name, str(count)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_builds_writing_at_once_both_land(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    writers = [_writer(path, name, 40) for name in ("a", "b")]
    for w in writers:
        assert w.wait(timeout=120) == 0
    with HistoryStore.open(path) as store:
        assert store.count() == 80
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


OPENER = """
import sys, time
from pathlib import Path
from mab.history.store import HistoryStore
from tests.history.test_store import record
print("ready", flush=True)
sys.stdin.readline()
with HistoryStore.open(Path(sys.argv[1])) as store:
    store.add(record(sys.argv[2], time.time()))
"""


def test_builds_making_a_new_history_at_once_all_open_it(tmp_path: Path) -> None:
    # Switching a new database to WAL fails at once with "database is locked" when another
    # process is doing the same (SQLite's busy timeout does not cover it). The race is narrow:
    # many first builds, imports done, are released together, on several new files.
    root = Path(__file__).resolve().parents[2]
    for round_ in range(10):
        path = tmp_path / f"h{round_}.db"
        argv = [sys.executable, "-c", OPENER, str(path)]
        pipe = subprocess.PIPE
        openers = [
            subprocess.Popen(
                [*argv, f"{round_}-{n}"], cwd=root, text=True, stdin=pipe, stdout=pipe, stderr=pipe
            )
            for n in range(6)
        ]
        for o in openers:
            assert o.stdout is not None and o.stdout.readline() == "ready\n"
        for o in openers:
            assert o.stdin is not None
            o.stdin.write("go\n")
            o.stdin.flush()
        for o in openers:
            _, err = o.communicate(timeout=120)
            assert o.returncode == 0, err
        with HistoryStore.open(path) as store:
            assert store.count() == 6


def test_a_killed_writer_leaves_every_committed_build(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    writer = _writer(path, "k", 100000)
    assert writer.stdout is not None
    seen = -1
    deadline = time.monotonic() + 60
    while seen < 20 and time.monotonic() < deadline:
        seen = int(writer.stdout.readline())
    os.kill(writer.pid, signal.SIGKILL)  # mid-way through some later write
    writer.wait()
    with HistoryStore.open(path) as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = store.count()
        assert count >= seen + 1  # everything it reported as written is there
        for row in store.builds():  # and every row is whole: its record decodes
            assert store.record(row.id).uid == row.uid
        store.add(record("after", time.time()))  # and the next build can write
