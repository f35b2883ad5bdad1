"""Shared fixtures for tests outside `tests/e2e/`.

`engine_ready`: skip (with the reason printed) unless the real engine from
`scripts/engine-up.sh` is usable; the check itself is `tests/engine.py`'s, shared with e2e.
"""

from __future__ import annotations

import pytest

from tests import engine as engine_check


@pytest.fixture
def engine_ready() -> None:
    ok, reason = engine_check.engine_available()
    if not ok:
        print(f"skipping: real engine not available: {reason}")
        pytest.skip(f"real engine not available: {reason}")
