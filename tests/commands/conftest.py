"""Fixtures of the command tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mab.cli import main

Run = tuple[int, str, str]
Mab = Callable[..., Run]


@pytest.fixture
def mab(capsys: pytest.CaptureFixture[str]) -> Mab:
    """Run the `mab` command line in-process: (exit code, stdout, stderr)."""

    def run(*argv: str) -> Run:
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        captured = capsys.readouterr()
        return int(info.value.code or 0), captured.out, captured.err

    return run
