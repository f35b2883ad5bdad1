"""Golden-file comparison for the action's tests: `MAB_UPDATE_GOLDEN=1` rewrites the files."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def assert_golden(name: str, text: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("MAB_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}; run with MAB_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8")
