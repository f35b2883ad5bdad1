"""Golden files: the job summary's Markdown (success, cache-heavy, failure) and the GitLab
metrics report. Update them after an intended change with
`MAB_UPDATE_GOLDEN=1 pytest tests/actions/test_golden.py`, and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mab import ci
from tests.actions.cases import CASES

GOLDEN = Path(__file__).resolve().parent / "golden"
REFERENCE = "localhost:5000/app@sha256:" + "ab" * 32


def _check(name: str, text: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("MAB_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}; run with MAB_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", sorted(CASES))
def test_step_summary_markdown(case: str) -> None:
    summary = CASES[case]()
    reference = "" if case == "failure" else REFERENCE
    _check(f"{case}.md", ci.step_summary(summary, reference))


@pytest.mark.parametrize("case", ["success", "failure"])
def test_gitlab_metrics(case: str) -> None:
    _check(f"metrics-{case}.txt", ci.metrics(CASES[case]()))
