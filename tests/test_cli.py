"""The CLI's one error handler: an OSError no command expected (here a full disk, the real
`/dev/full` device as stdout) is a message on stderr and exit 3, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mab.errors import EXIT_ENVIRONMENT

FIXTURE = Path(__file__).parent / "fixtures" / "qa" / "lint-two-services" / "api" / "Dockerfile"


@pytest.mark.parametrize(
    "argv", [["lint", str(FIXTURE)], ["metrics", "dashboard"], ["lint", "--json", str(FIXTURE)]]
)
def test_full_disk_on_stdout_is_an_error_not_a_traceback(argv: list[str]) -> None:
    full_device = Path("/dev/full")
    if not full_device.exists():
        pytest.skip("no /dev/full here")
    with full_device.open("w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "mab", *argv], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert done.returncode == EXIT_ENVIRONMENT
    assert "Traceback" not in done.stderr
    assert "mab: error: writing the output: No space left on device" in done.stderr
    assert "hint: free some disk space" in done.stderr
