"""The history database's errors: one path from any SQLite (or file) error to a message and the
README's exit code. A read-only file, a full disk, an I/O error or a lock is the machine's
(exit 3; the file is left alone, since it is intact); a damaged file or one that is no database
is the input's (exit 2; move it away and mab starts a new one)."""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from mab.errors import EXIT_ENVIRONMENT, UserError

ENV = "MAB_HISTORY"
P = ParamSpec("P")
R = TypeVar("R")


class HistoryError(UserError):
    """The history database cannot be opened, read or written."""


class HistoryWriteError(HistoryError):
    """The history is read-only or its disk is full: the machine's to fix, not the input's."""

    exit_code = EXIT_ENVIRONMENT


_MACHINE_CODES = (
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PERM,
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
)
_DAMAGED_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def db_error(path: Path, exc: sqlite3.Error | OSError, doing: str) -> HistoryError:
    """The one way a database error reaches the user, by its SQLite code: a read-only file, a
    full disk, an I/O error or a lock is the machine's (exit 3, the file is left alone); a
    damaged file or one that is no database is the input's (exit 2, move it away); a file
    that is no database at all (`OSError`) is named as such."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # the primary code
    reason = f"{path}: cannot {doing}: {exc}"
    if code == sqlite3.SQLITE_FULL or getattr(exc, "errno", None) == errno.ENOSPC:
        return HistoryWriteError(
            reason, hint=f"free disk space (the history is intact), or point {ENV}=PATH elsewhere"
        )
    if code in _MACHINE_CODES:
        return HistoryWriteError(
            reason,
            hint=f"make it writable, free disk space or wait for the other writer (the history "
            f"is left as it is), or point {ENV}=PATH elsewhere",
        )
    if code in _DAMAGED_CODES or isinstance(exc, sqlite3.DatabaseError):
        return HistoryError(
            f"{reason} (the build history is damaged)",
            hint=f"move the file away (mab starts a new one), or point {ENV}=PATH elsewhere",
        )
    return HistoryError(reason, hint=f"point {ENV}=PATH elsewhere")


def guarded(doing: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A store method whose database errors become `db_error`s (never a traceback)."""

    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except sqlite3.Error as exc:
                path = getattr(args[0], "path", Path("history"))  # the store's own file
                raise db_error(path, exc, doing) from None

        return run

    return wrap
