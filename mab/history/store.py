"""The history database: the one module that speaks SQLite (stdlib `sqlite3`).

Where: `--history PATH`, else `$MAB_HISTORY`, else `history.sqlite3` in the platformdirs state
directory (`~/.local/state/mab` on Linux). `MAB_HISTORY=off` turns recording off.
WAL journal, one `BEGIN IMMEDIATE` transaction per write (concurrent builds queue for a few
milliseconds; a writer killed mid-way leaves the last committed state), the schema version in
`PRAGMA user_version`, migrated forward on open. Records are stored as zlib-compressed compact
JSON (no logs), so a build costs a few kilobytes.

Typed query API (for `mab history`, `mab why`, the TUI and `mab metrics`):

- `HistoryStore.open(path)`; `add(record, whys) -> int` (the build id);
- `builds(image=, platform=, since=, limit=) -> list[BuildRow]` newest first, with per-platform
  `PlatformStat` (steps, cached, hit ratio, duration) and no record decoding: fast listing;
- `record(id_or_uid) -> BuildRecord`; `row(id_or_uid) -> BuildRow`;
- `previous(image, platform, target, before)`: the last comparable build before a time;
- `misses_by_cause(image=, since=) -> list[MissCount]` (platform, cause, count);
- `remove(id)`, `prune(keep)`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from mab.history.dberrors import ENV, HistoryError, db_error, guarded
from mab.history.record import BuildRecord, RecordError, compress, decompress
from mab.history.schema import MIGRATIONS, SCHEMA_VERSION
from mab.history.why import Why

OFF = "off"
FILE_NAME = "history.sqlite3"
BUSY_TIMEOUT_S = 30.0


class PlatformStat(NamedTuple):
    platform: str
    steps: int
    cached: int
    duration_s: float

    @property
    def hit_ratio(self) -> float | None:
        return self.cached / self.steps if self.steps else None


class BuildRow(NamedTuple):
    """One listed build: the columns as stored (a named tuple, so 100k rows list fast);
    `platforms` decodes the per-platform figures when asked."""

    id: int
    uid: str
    started_at: float
    duration_s: float
    outcome: str
    image: str
    target: str
    source: str
    git_commit: str
    git_branch: str
    builder: str
    stats: str

    @property
    def platforms(self) -> tuple[PlatformStat, ...]:
        return _parse_stats(self.stats)


@dataclass(frozen=True, slots=True)
class MissCount:
    platform: str
    cause: str
    count: int


def default_path(
    explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The database to use; None when recording is off (`MAB_HISTORY=off`)."""
    environ = os.environ if environ is None else environ
    chosen = explicit or environ.get(ENV)
    if chosen:
        return None if chosen == OFF else Path(chosen).expanduser()
    from platformdirs import user_state_dir

    return Path(user_state_dir("mab")) / FILE_NAME


def _stats_text(stats: tuple[PlatformStat, ...]) -> str:
    return ";".join(f"{s.platform} {s.steps} {s.cached} {s.duration_s:.3f}" for s in stats)


def _parse_stats(text: str) -> tuple[PlatformStat, ...]:
    if not text:
        return ()
    make = PlatformStat._make
    return tuple(
        make((p, int(steps), int(cached), float(took)))
        for p, steps, cached, took in (part.split(" ") for part in text.split(";"))
    )


def platform_stats(record: BuildRecord) -> tuple[PlatformStat, ...]:
    out = []
    for p in record.platforms:
        counted = record.counted(p)
        cached = sum(s.state == "cached" for s in counted)
        out.append(PlatformStat(p, len(counted), cached, record.platform_duration(p)))
    return tuple(out)


_ROW = (
    "id, uid, started_at, duration_s, outcome, image, target, source, git_commit, git_branch, "
    "builder, stats"
)


def _misplaced(path: Path) -> str | None:
    """A folder where the database file should be, or a file where one of its folders should."""
    if path.is_dir():
        return "it is a folder, not a history file"
    for folder in path.parents:
        if folder.exists():
            return None if folder.is_dir() else f"{folder} is a file, not a folder"
    return None


class HistoryStore:
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> HistoryStore:
        """The history at `path`; without `create`, a missing file reads as an empty history
        and nothing (no file, no folder) is made for a command that only reads."""
        misplaced = _misplaced(path)
        if misplaced:
            raise HistoryError(
                f"{path}: cannot open the build history: {misplaced}",
                hint=f"give --history (or {ENV}) a file path in a folder, or move that away",
            )
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                return cls._connect(path, create)
            except sqlite3.OperationalError as exc:
                # Two processes making a new history at once: switching it to WAL can fail
                # at once with SQLITE_BUSY (its busy timeout does not cover that); wait.
                busy = (exc.sqlite_errorcode & 0xFF) == sqlite3.SQLITE_BUSY  # primary code
                if busy and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise cls._open_error(path, exc) from None
            except (sqlite3.Error, OSError) as exc:
                raise cls._open_error(path, exc) from None

    @staticmethod
    def _open_error(path: Path, exc: sqlite3.Error | OSError) -> HistoryError:
        return db_error(path, exc, "open the build history")

    @classmethod
    def _connect(cls, path: Path, create: bool) -> HistoryStore:
        if create or path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        else:
            conn = sqlite3.connect(":memory:", isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            store = cls(conn, path)
            store._migrate()
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this mab knows ({SCHEMA_VERSION})"
            )
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process?
            for step in MIGRATIONS[version:]:
                for statement in step.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # ------------------------------------------------------------------ writing

    def add(self, record: BuildRecord, whys: Mapping[str, Mapping[str, Why]] | None = None) -> int:
        """Store a record (replacing one with the same uid); returns its build id."""
        return self.add_many([(record, whys)])[0]

    def add_many(
        self, items: Sequence[tuple[BuildRecord, Mapping[str, Mapping[str, Why]] | None]]
    ) -> list[int]:
        """Store several records in one transaction (an import); their build ids."""
        try:
            with self._write() as conn:
                return [self._insert(conn, record, whys) for record, whys in items]
        except sqlite3.Error as exc:
            raise db_error(self.path, exc, "store the build") from None

    @staticmethod
    def _insert(
        conn: sqlite3.Connection,
        record: BuildRecord,
        whys: Mapping[str, Mapping[str, Why]] | None,
    ) -> int:
        stats = platform_stats(record)
        conn.execute("DELETE FROM builds WHERE uid = ?", (record.uid,))
        cursor = conn.execute(
            "INSERT INTO builds (uid, started_at, duration_s, outcome, image, target, "
            "source, git_commit, git_branch, builder, stats, record, dockerfile_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.uid,
                record.started_at,
                record.duration_s,
                record.outcome,
                record.image,
                record.target,
                record.source,
                record.git_commit,
                record.git_branch,
                record.builder,
                _stats_text(stats),
                compress(record),
                record.dockerfile_key,
            ),
        )
        build_id = int(cursor.lastrowid or 0)
        conn.executemany(
            "INSERT INTO platform_stats VALUES (?, ?, ?, ?, ?)",
            [(build_id, s.platform, s.steps, s.cached, s.duration_s) for s in stats],
        )
        conn.executemany(
            "INSERT INTO misses VALUES (?, ?, ?, ?, ?)",
            [
                (build_id, platform, sid, w.cause, w.detail)
                for platform, steps in (whys or {}).items()
                for sid, w in steps.items()
            ],
        )
        return build_id

    @guarded("remove a build")
    def remove(self, build_id: int) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM builds WHERE id = ?", (build_id,)).rowcount > 0

    @guarded("prune the history")
    def prune(self, keep: int) -> int:
        """Keep the newest `keep` builds; returns how many were removed."""
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM builds WHERE id NOT IN "
                "(SELECT id FROM builds ORDER BY started_at DESC, id DESC LIMIT ?)",
                (max(0, keep),),
            )
            return cursor.rowcount

    # ------------------------------------------------------------------ reading

    @guarded("read the build history")
    def builds(
        self,
        *,
        image: str | None = None,
        platform: str | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[BuildRow]:
        """Builds newest first (registry copies included; `source` tells them apart)."""
        where: list[str] = []
        args: list[object] = []
        if image is not None:
            where.append("image = ?")
            args.append(image)
        if since is not None:
            where.append("started_at >= ?")
            args.append(since)
        if platform is not None:
            where.append("id IN (SELECT build_id FROM platform_stats WHERE platform = ?)")
            args.append(platform)
        sql = f"SELECT {_ROW} FROM builds"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        make = BuildRow._make
        return [make(r) for r in self.conn.execute(sql, args)]

    @guarded("read the build history")
    def row(self, key: str | int) -> BuildRow:
        return BuildRow._make(self._find(key, _ROW))

    @guarded("read the build history")
    def record(self, key: str | int) -> BuildRecord:
        found = self._find(key, "record")
        try:
            return decompress(bytes(found[0]))
        except RecordError as exc:
            raise HistoryError(f"build {key}: {exc}") from None

    @guarded("read the build history")
    def has(self, uid: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM builds WHERE uid = ?", (uid,)).fetchone() is not None
        )

    def _find(self, key: str | int, columns: str) -> Any:
        text = str(key).lstrip("#")
        if text.isdigit():
            found = self.conn.execute(f"SELECT {columns} FROM builds WHERE id = ?", (int(text),))
        elif text == "last":
            found = self.conn.execute(
                f"SELECT {columns} FROM builds WHERE source != 'registry' "
                "ORDER BY started_at DESC, id DESC LIMIT 1"
            )
        else:
            found = self.conn.execute(
                f"SELECT {columns} FROM builds WHERE uid LIKE ? ORDER BY id DESC LIMIT 2",
                (text + "%",),
            )
        rows = found.fetchall()
        if len(rows) != 1:
            what = "no build" if not rows else "more than one build"
            raise HistoryError(
                f"{what} matches {key!r} in {self.path}",
                hint="`mab history` lists the builds and their ids",
            )
        return tuple(rows[0])

    @guarded("read the build history")
    def previous(self, build: BuildRecord, platform: str) -> BuildRecord | None:
        """The build `build` is compared with on `platform`: the latest earlier build of the
        same image, Dockerfile (`dockerfile_key`), target and platform; None when there is
        none. Never another Dockerfile's build, nor one for another target."""
        if not build.dockerfile_key:
            return None
        found = self.conn.execute(
            "SELECT b.record FROM builds b JOIN platform_stats s ON s.build_id = b.id "
            "WHERE b.image = ? AND b.dockerfile_key = ? AND b.target = ? AND s.platform = ? "
            "AND b.started_at < ? AND b.uid != ? AND b.source != 'registry' "
            "ORDER BY b.started_at DESC, b.id DESC LIMIT 1",
            (
                build.image,
                build.dockerfile_key,
                build.target,
                platform,
                build.started_at,
                build.uid,
            ),
        ).fetchone()
        if found is None:
            return None
        try:
            return decompress(found[0])
        except RecordError:
            return None

    @guarded("read the build history")
    def misses_by_cause(
        self, *, image: str | None = None, since: float | None = None
    ) -> list[MissCount]:
        sql = (
            "SELECT m.platform, m.cause, COUNT(*) FROM misses m JOIN builds b ON b.id = m.build_id "
            "WHERE b.source != 'registry'"
        )
        args: list[object] = []
        if image is not None:
            sql += " AND b.image = ?"
            args.append(image)
        if since is not None:
            sql += " AND b.started_at >= ?"
            args.append(since)
        sql += " GROUP BY m.platform, m.cause ORDER BY m.platform, COUNT(*) DESC"
        return [MissCount(p, c, int(n)) for p, c, n in self.conn.execute(sql, args)]

    @guarded("read the build history")
    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM builds").fetchone()[0])
