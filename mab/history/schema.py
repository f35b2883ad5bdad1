"""The history database's schema: one migration per version, applied in order on open
(`PRAGMA user_version` holds how many have run)."""

_SCHEMA_V1 = """
CREATE TABLE builds (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    started_at REAL NOT NULL,
    duration_s REAL NOT NULL,
    outcome TEXT NOT NULL,
    image TEXT NOT NULL,
    target TEXT NOT NULL,
    source TEXT NOT NULL,
    git_commit TEXT NOT NULL,
    git_branch TEXT NOT NULL,
    builder TEXT NOT NULL,
    stats TEXT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX builds_by_time ON builds (started_at);
CREATE INDEX builds_by_image ON builds (image, started_at);
CREATE TABLE platform_stats (
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    steps INTEGER NOT NULL,
    cached INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    PRIMARY KEY (build_id, platform)
) WITHOUT ROWID;
CREATE INDEX platform_stats_by_platform ON platform_stats (platform, build_id);
CREATE TABLE misses (
    build_id INTEGER NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    step TEXT NOT NULL,
    cause TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (build_id, platform, step)
) WITHOUT ROWID;
CREATE INDEX misses_by_cause ON misses (cause);
"""
# Which Dockerfile a build is of (`BuildRecord.dockerfile_key`): builds are compared only with
# builds of the same one. Builds stored before it have '' and are compared with none.
_V2 = """
ALTER TABLE builds ADD COLUMN dockerfile_key TEXT NOT NULL DEFAULT '';
CREATE INDEX builds_by_dockerfile ON builds (image, dockerfile_key, started_at);
"""
MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1, _V2)  # MIGRATIONS[n] takes version n to n + 1
SCHEMA_VERSION = len(MIGRATIONS)
