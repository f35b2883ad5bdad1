"""Every choice is declared once, in `mab/config/types.py`."""

from __future__ import annotations

import re
from pathlib import Path

from mab.config import types

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("mab", "generators", "tui") for p in (ROOT / d).rglob("*.py")]


def test_each_tuple_holds_its_literals_values() -> None:
    assert types.STRATEGIES == ("native", "qemu")
    assert types.CACHE_BACKENDS == ("registry", "gha", "local", "s3")
    assert types.CI_CACHES == ("registry", "gha", "none")
    assert types.GITLAB_RUNNERS == ("dind", "shell", "mab")
    assert types.PROVIDERS == ("github", "gitlab")
    assert set(types.DEFAULT_PLATFORMS) <= set(types.KNOWN_PLATFORMS)


def test_no_other_module_declares_a_choice() -> None:
    declared = re.compile(
        r"^(CACHE_BACKENDS|STRATEGIES|PROVIDERS|GITLAB_RUNNERS|KNOWN_PLATFORMS|CacheBackend|"
        r"Strategy|Provider|GitlabRunner|Platform)\b[^=\n]*=",
        re.M,
    )
    elsewhere = [
        f"{p.relative_to(ROOT)}: {m[0]}"
        for p in SOURCES
        if p.name != "types.py"
        for m in declared.finditer(p.read_text(encoding="utf-8"))
    ]
    assert not elsewhere
