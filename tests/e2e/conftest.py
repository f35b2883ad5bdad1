"""Fixtures for end-to-end tests against the real engine (`scripts/engine-up.sh`).

Mark such tests `@pytest.mark.engine` and ask for the `engine` fixture: without a usable
engine the test is skipped, and the reason (what is missing) is printed and shown by `-ra`.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import engine_env as engine_check  # tests/engine_env.py (rootdir is on sys.path)


@dataclass(frozen=True)
class Engine:
    """What an engine-backed test needs to know about the running engine."""

    summary: str
    registry: str = engine_check.REGISTRY
    auth_registry: str = engine_check.AUTH_REGISTRY
    auth_user: str = engine_check.AUTH_USER
    auth_password: str = engine_check.AUTH_PASSWORD
    base_image: str = engine_check.BASE_IMAGE
    platforms: tuple[str, ...] = engine_check.PLATFORMS

    def unique_ref(self, name: str) -> str:
        """A repository in the local registry that no other test (or earlier run) used,
        e.g. for a cache ref that must start cold."""
        return f"{self.registry}/test/{name}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def engine() -> Engine:
    ok, reason = engine_check.engine_available()
    if not ok:
        print(f"skipping: real engine not available: {reason}")
        pytest.skip(f"real engine not available: {reason}")
    return Engine(summary=reason)


@pytest.fixture
def auth_registry(engine: Engine) -> str:
    """The basic-auth registry's address (user/password on `engine`); skips if it is down."""
    ok, reason = engine_check.auth_registry_available()
    if not ok:
        print(f"skipping: {reason}")
        pytest.skip(reason)
    return engine.auth_registry


@pytest.fixture
def reference_project(tmp_path: Path) -> Iterator[Path]:
    """A private copy of tests/e2e/project that a test may edit (e.g. a source-only change)."""
    dest = tmp_path / "project"
    shutil.copytree(engine_check.PROJECT_DIR, dest)
    yield dest
