"""Golden-file comparison for every test that checks generated text: `MAB_UPDATE_GOLDEN=1`
rewrites the files (then review the diff); otherwise a missing or different file fails."""

from __future__ import annotations

import os
from pathlib import Path


def assert_golden(golden: Path, text: str) -> None:
    if os.environ.get("MAB_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}; run with MAB_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8"), f"{golden} differs (MAB_UPDATE_GOLDEN=1)"
