"""The real-engine fixture of tests/e2e, and the history engine tests' project and base
image: tests/history/project salted per test, on a base image of its own, so no other build
on the shared engine shares its cache keys."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from tests import engine_env
from tests.e2e.conftest import Engine
from tests.e2e.conftest import engine as engine

PROJECT = Path(__file__).resolve().parent / "project"


def push_base(engine: Engine, ref: str, salt: str) -> None:
    # a layer of its own: a base that differs only in its config keeps the same cache keys
    engine_env.push_image(ref, f"FROM {engine.base_image}\nRUN echo {salt} > /etc/mab-test-salt\n")


@pytest.fixture
def base(engine: Engine) -> str:
    ref = engine.unique_ref("why") + "-base:1"
    push_base(engine, ref, uuid.uuid4().hex)
    return ref


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(PROJECT, dest)
    salt = uuid.uuid4().hex
    for name in ("deps.lock", "src/lib.sh"):
        path = dest / name
        path.write_text(path.read_text() + f"# {salt}\n")
    return dest
