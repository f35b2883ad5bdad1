"""Golden files: the job summary's Markdown (success, cache-heavy, failure) and the GitLab
metrics report. Update them after an intended change with
`MAB_UPDATE_GOLDEN=1 pytest tests/actions/test_golden.py`, and read the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mab.metrics.build import gitlab_report
from mab.progress import ci
from tests.actions.cases import CASES
from tests.golden import assert_golden

REFERENCE = "localhost:5000/app@sha256:" + "ab" * 32

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.mark.parametrize("case", sorted(CASES))
def test_step_summary_markdown(case: str) -> None:
    summary = CASES[case]()
    reference = "" if case == "failure" else REFERENCE
    assert_golden(GOLDEN / f"{case}.md", ci.step_summary(summary, reference))


@pytest.mark.parametrize("case", ["success", "failure"])
def test_gitlab_metrics(case: str) -> None:
    assert_golden(GOLDEN / f"metrics-{case}.txt", gitlab_report(CASES[case]()))
