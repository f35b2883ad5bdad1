"""`mab metrics serve` with input it cannot use: an unreadable history or an `--addr` that is
no address is an error before serving (exit 2), never a server that answers 500 with a
traceback on every scrape."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from mab.errors import EXIT_USAGE

CORRUPT = Path(__file__).parent.parent / "fixtures" / "qa" / "history-corrupt.db"


def serve(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run it for real; a server that starts anyway is stopped by the timeout (a failure)."""
    return subprocess.run(
        [sys.executable, "-m", "mab", "metrics", "serve", "--port", "0", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def test_a_corrupt_history_is_an_error_before_serving(tmp_path: Path) -> None:
    history = tmp_path / "history.db"
    shutil.copyfile(CORRUPT, history)
    done = serve("--history", str(history))
    assert done.returncode == EXIT_USAGE
    assert f"{history}: cannot open the build history: file is not a database" in done.stderr
    assert "Traceback" not in done.stderr
    assert history.read_bytes() == CORRUPT.read_bytes()


def test_a_folder_as_history_is_named_as_such(tmp_path: Path) -> None:
    done = serve("--history", str(tmp_path))
    assert done.returncode == EXIT_USAGE
    assert f"{tmp_path}: cannot open the build history: it is a folder" in done.stderr


def test_an_addr_with_a_port_is_a_usage_error() -> None:
    done = serve("--addr", "127.0.0.1:9000")
    assert done.returncode == EXIT_USAGE
    assert "--addr 127.0.0.1:9000: not an address to listen on" in done.stderr
    assert "the port goes in --port" in done.stderr
