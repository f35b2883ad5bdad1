"""Shared helpers for the lint tests: run `mab lint` in-process, copy a fixture."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mab.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lint"
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.iterdir() if (p / "Dockerfile").is_file())
Run = tuple[int, str, str]


@pytest.fixture
def mab(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(*argv: str) -> Run:
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        captured = capsys.readouterr()
        return int(info.value.code or 0), captured.out, captured.err

    return run


def copy_fixture(name: str, into: Path) -> Path:
    target = into / name
    shutil.copytree(FIXTURES / name, target)
    return target
