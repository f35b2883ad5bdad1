"""`mab replay --json`'s summary, byte for byte, on every recording: from a file, compacted to one
object per line from stdin, and all of them one after another through a real pipe. The golden
files were written by the replay before its stream reading was made incremental and faster; any
change to the document shows here (`MAB_UPDATE_GOLDEN=1` rewrites them: review the diff)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.golden import assert_golden
from tests.progress.progress_streams import compacted

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORDINGS = sorted([*FIXTURES.glob("streams/*.rawjson"), *FIXTURES.glob("qa/*.rawjson")])
GOLDEN = Path(__file__).resolve().parent / "golden" / "replay-json"


def mixed() -> bytes:
    """Every recording compacted, one after another, twice (the benchmark's stream, small)."""
    once = b"".join(compacted(p.read_bytes()).rstrip(b"\n") + b"\n" for p in RECORDINGS)
    return once * 2


def _case(name: str, code: int, out: str, err: str) -> None:
    assert_golden(GOLDEN / f"{name}.json", out)
    assert_golden(GOLDEN / f"{name}.exit", f"{code}\n{err}")


def _in_process(argv: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    from mab.cli import main

    saved = sys.stdin, sys.stdout, sys.stderr
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    sys.stdout, sys.stderr = out, err
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_json_summary_of_each_recording_is_unchanged(path: Path) -> None:
    code, out, err = _in_process(["replay", str(path), "--json"])
    _case(path.stem, code, out, err.replace(str(path), "FILE"))


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_json_summary_of_each_compacted_recording_from_stdin_is_unchanged(path: Path) -> None:
    code, out, err = _in_process(["replay", "-", "--json"], compacted(path.read_bytes()))
    _case(f"{path.stem}.compact-stdin", code, out, err)


def test_json_summary_of_all_recordings_through_a_pipe_is_unchanged(tmp_path: Path) -> None:
    stream = tmp_path / "mixed.rawjson"
    stream.write_bytes(mixed())
    with stream.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "mab", "replay", "-", "--json"],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "COLUMNS": "80"},
        )
    _case("mixed-pipe", done.returncode, done.stdout, done.stderr)
