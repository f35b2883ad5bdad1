"""Shared fixtures for tests outside `tests/e2e/`.

- `engine_ready`: skip (with the reason printed) unless the real engine from
  `scripts/engine-up.sh` is usable; the check itself is `tests/engine_env.py`'s, shared with e2e.
- every test records builds into its own throwaway history database (`MAB_HISTORY`).
- `run_mab`: run `mab ARGS...` in this process as the console script does (errors become
  messages on stderr); returns the exit code.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from tests import engine_env as engine_check


def _run_mab(*args: str) -> int:
    from mab.cli import main

    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def run_mab() -> Callable[..., int]:
    return _run_mab


@pytest.fixture
def engine_ready() -> None:
    ok, reason = engine_check.engine_available()
    if not ok:
        print(f"skipping: real engine not available: {reason}")
        pytest.skip(f"real engine not available: {reason}")


@pytest.fixture(autouse=True)
def _private_history(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Builds made by tests record into a throwaway history, never the user's."""
    if "MAB_HISTORY" not in os.environ:
        folder = tmp_path_factory.mktemp("history")
        monkeypatch.setenv("MAB_HISTORY", str(folder / "history.sqlite3"))
