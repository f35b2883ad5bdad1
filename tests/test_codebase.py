"""The codebase's own contracts: ruff, mypy --strict and the import-linter contracts.

`generators/` and `tui/` install as `mab.generators` and `mab.tui` through setuptools'
package-dir mapping, which mypy and import-linter cannot follow in a source checkout; so the
checks run over a staged copy laid out as the installed package.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    stage = tmp_path_factory.mktemp("stage")
    shutil.copytree(ROOT / "mab", stage / "mab", ignore=IGNORE)
    shutil.copytree(ROOT / "generators", stage / "mab" / "generators", ignore=IGNORE)
    shutil.copytree(ROOT / "tui", stage / "mab" / "tui", ignore=IGNORE)
    shutil.copy(ROOT / "pyproject.toml", stage / "pyproject.toml")
    return stage


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_ruff_lint_clean() -> None:
    run([sys.executable, "-m", "ruff", "check", "."], ROOT)


def test_ruff_format_clean() -> None:
    run([sys.executable, "-m", "ruff", "format", "--check", "."], ROOT)


def test_mypy_strict_clean(staged: Path) -> None:
    run([sys.executable, "-m", "mypy", "--strict", "-p", "mab"], staged)


def test_import_contracts_hold(staged: Path) -> None:
    import os

    env = {**os.environ, "PYTHONPATH": str(staged)}
    lint = [
        sys.executable,
        "-c",
        "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
    ]
    out = run([*lint, "pyproject.toml"], staged, env)
    assert "broken" not in out.lower() or "0 broken" in out.lower()


MAX_MODULE_LINES = 450


def test_no_module_over_the_size_limit() -> None:
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for top in ("mab", "generators", "tui")
        for path in (ROOT / top).rglob("*.py")
    }
    over = sorted(name for name, lines in sizes.items() if lines > MAX_MODULE_LINES)
    assert not over, f"over {MAX_MODULE_LINES} lines: {over}"


CYCLE_SCRIPT = """
import json, grimp
graph = grimp.build_graph("mab", cache_dir=None)
cycles = set()
for module in graph.modules:
    for imported in graph.find_modules_directly_imported_by(module):
        chain = graph.find_shortest_chain(importer=imported, imported=module)
        if chain:
            cycles.add(tuple(sorted({module, *chain})))
print(json.dumps(sorted(cycles)))
"""


def test_no_import_cycle(staged: Path) -> None:
    """Walk the installed layout's import graph (imports inside functions included) for cycles."""
    import json
    import os

    env = {**os.environ, "PYTHONPATH": str(staged)}
    out = run([sys.executable, "-c", CYCLE_SCRIPT], staged, env)
    cycles = json.loads(out)
    assert not cycles, f"import cycles: {cycles}"
